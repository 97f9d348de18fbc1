// Synchronous JSON-RPC clients: a WebSocket Client (for the wallet, workers,
// tests and benchmarks) and one-shot HTTP requests.
//
//   IG_TRY_ASSIGN(client, ig::rpc::Client::connect("ws://127.0.0.1:8546", 5s));
//   IG_TRY_ASSIGN(head, client.call("chain_head", json::array()));
//   IG_TRY_ASSIGN(sub, client.subscribe("newHeads"));
//   IG_TRY_ASSIGN(note, client.next_notification(10s));  // {"subscription":..., "result":...}
//
// Error codes: "rpc.<n>" for a JSON-RPC error reply with code n (message kept,
// e.g. "rpc.-32601"), "rpc.transport" for network failures and closed
// connections, "rpc.timeout" when no reply came in time, "rpc.bad_url",
// "rpc.bad_reply" for a reply that is not JSON-RPC.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/expected.hpp"
#include "rpc/types.hpp"

namespace ig::rpc {

// Not thread-safe: use one Client per thread. Incoming messages are only read
// while a method of the client runs; notifications that arrive during call()
// are kept for next_notification().
class Client {
 public:
  // url: ws://host:port[/path]. `timeout` bounds the connect and handshake and
  // becomes the default timeout of every later call.
  static ig::Expected<Client> connect(const std::string& url, std::chrono::milliseconds timeout);

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();  // closes politely (bounded wait)

  // Calls `method` and returns its result; a JSON-RPC error reply becomes
  // ig::Error{"rpc.<code>", message}.
  ig::Expected<json> call(const std::string& method, const json& params);

  // Sends `text` verbatim and returns the next reply that is not a
  // notification, parsed, whatever it is (an error object, a batch array).
  // For testing a server with malformed input.
  ig::Expected<json> call_raw(const std::string& text);

  // Subscribes to a topic, optionally with a filter object; returns the id.
  ig::Expected<std::string> subscribe(const std::string& topic, const json& filter = nullptr);
  ig::Expected<bool> unsubscribe(const std::string& id);

  // The next notification's params: {"subscription": id, "result": ...},
  // plus "topic" taken from the notification's method name. "rpc.timeout"
  // when none arrives in time; "rpc.transport" once the connection is gone
  // and every queued notification has been returned.
  ig::Expected<json> next_notification(std::chrono::milliseconds timeout);

  void set_timeout(std::chrono::milliseconds timeout);
  bool is_open() const;
  void close();

  // Notifications discarded because more than kMaxQueuedNotifications were
  // waiting for next_notification().
  uint64_t dropped_notifications() const;
  static constexpr size_t kMaxQueuedNotifications = 100000;
  static constexpr size_t kMaxMessageBytes = 64u << 20;

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// One HTTP/1.1 request on a fresh connection. url: http://host:port[/path].
// The Content-Type header is sent when the body is not empty or the verb is POST.
ig::Expected<HttpResponse> http_request(std::string_view verb, const std::string& url,
                                        const std::string& body,
                                        std::chrono::milliseconds timeout,
                                        std::string_view content_type = "application/json");

// POSTs a JSON-RPC body (Content-Type: application/json) and returns the
// parsed reply body, whatever the HTTP status, when it is JSON (so a 413 gives
// its JSON-RPC error); null for an empty body (204, notification only);
// "rpc.http" for a non-JSON body.
ig::Expected<json> http_post(const std::string& url, const std::string& body,
                             std::chrono::milliseconds timeout);

}  // namespace ig::rpc
