// A worker's connection to a node: JSON-RPC calls and subscriptions over one WebSocket that
// survive the node going away. When the connection drops, the link reconnects with backoff
// (up to a limit), re-subscribes, and tells its owner with a Reconnected event so that the
// owner can catch up on what it missed while it was away (workers never rely on having seen
// every notification).
//
//   NodeLink link("ws://127.0.0.1:8546");
//   IG_TRY(link.subscribe("events", {{"type", "task_assigned"}, {"miner", "ig1…"}}));
//   for (;;) {
//     Incoming in = link.next(1s);
//     if (in.kind == Incoming::Reconnected) catch_up();
//     if (in.kind == Incoming::Notification) handle(in.result);
//   }
//
// Not thread-safe: one NodeLink per thread. Errors: "link.down" when the node cannot be reached
// within the reconnect budget, plus the rpc client's codes ("rpc.<n>" for JSON-RPC errors).
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "rpc/client.hpp"

namespace ig::workers {

using json = rpc::json;

struct Incoming {
  enum Kind { Timeout, Notification, Reconnected } kind = Timeout;
  std::string topic;  // for notifications
  json result;        // the notification's result
};

class NodeLink {
 public:
  // `stop`, when given, makes waits and reconnect backoff return early once it is set.
  explicit NodeLink(std::string url, const std::atomic<bool>* stop = nullptr,
                    std::chrono::milliseconds call_timeout = std::chrono::seconds(30));

  const std::string& url() const { return url_; }

  // Calls a method, reconnecting first if needed. A call that fails because the connection
  // dropped is retried once on a new connection (the node's methods the workers call are
  // queries, or tx_send, whose duplicate is refused harmlessly as mempool.duplicate).
  Expected<json> call(const std::string& method, const json& params);

  // Subscribes now and after every reconnect.
  Status subscribe(const std::string& topic, const json& filter = nullptr);

  // The next notification, a Reconnected marker (after a reconnect, once), or Timeout.
  // "link.down" when the node stayed unreachable for the whole reconnect budget.
  Expected<Incoming> next(std::chrono::milliseconds timeout);

  // Gives up connecting after this long without success (default 10 minutes).
  void set_reconnect_budget(std::chrono::milliseconds budget) { budget_ = budget; }

 private:
  Status ensure_connected();
  Status connect_once();

  std::string url_;
  const std::atomic<bool>* stop_;
  std::chrono::milliseconds call_timeout_;
  std::chrono::milliseconds budget_{std::chrono::minutes(10)};
  std::optional<rpc::Client> client_;
  std::vector<std::pair<std::string, json>> subscriptions_;
  bool announce_reconnect_ = false;
  bool ever_connected_ = false;
};

}  // namespace ig::workers
