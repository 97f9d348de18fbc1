// A JSON-RPC 2.0 server over WebSocket and HTTP POST on one port, with topic
// subscriptions. It knows nothing of the chain: the node registers methods
// with add_method() and publishes notifications with publish().
//
//   ig::rpc::Server server({.port = 8546});
//   server.add_method("chain_head", [&](const json&) -> MethodResult { ... });
//   if (auto st = server.start(); !st) { ... st.error() ... }
//   server.publish("newHeads", header_json);   // from any thread, never blocks on I/O
//   server.stop();                             // or let the destructor do it
//
// Framing, error codes and limits are described in docs/rpc.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "rpc/types.hpp"

namespace ig::rpc {
namespace detail {
struct ServerState;
}

struct ServerConfig {
  std::string host = "127.0.0.1";  // address to bind; "0.0.0.0" to expose (think twice)
  uint16_t port = 8546;            // 0 = pick a free port; read it back with Server::port()
  size_t max_message_bytes = 4u << 20;      // one WS message or one HTTP body
  size_t max_batch = 100;                   // requests in one batch array
  size_t max_subscriptions_per_conn = 32;
  size_t max_connections = 256;             // open TCP connections (HTTP + WS); more get 503
  size_t max_queued_notifications = 1024;   // per connection; beyond it the subscriber is dropped
  unsigned threads = 1;                     // I/O threads running sessions and handlers
  std::vector<std::string> topics = {"newHeads", "events"};
};

struct ServerStats {
  size_t connections = 0;            // open connections now
  size_t subscriptions = 0;          // live subscriptions now
  uint64_t requests = 0;             // JSON-RPC requests handled (batch elements count one each)
  uint64_t dropped_subscribers = 0;  // connections closed for falling behind on notifications
  uint64_t rejected_connections = 0; // refused because max_connections was reached
};

class Server {
 public:
  explicit Server(ServerConfig config);
  ~Server();  // calls stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers a method. Fails ("rpc.bad_method") for an empty or reserved name
  // (rpc_methods, subscribe, unsubscribe, "rpc." prefix) or a duplicate, and
  // ("rpc.started") once start() has been called: the table is frozen so that
  // lookups need no lock.
  ig::Status add_method(std::string name, Handler handler);

  // Binds and starts the I/O threads. "rpc.bind" when the address is bad or
  // the port is in use; "rpc.config" for a nonsensical config.
  ig::Status start();

  // The bound port (useful with port 0); 0 before start().
  uint16_t port() const;

  // Closes the listener, closes every session (WebSocket close 1001 "server
  // stopping", bounded by a short grace period) and joins the threads.
  // Idempotent. Never call it from a method handler (it joins that thread).
  void stop();

  // Sends `result` to every subscription of `topic` whose filter matches.
  // Safe from any thread; only appends to per-connection queues and never
  // waits on the network. A connection whose queue would exceed
  // max_queued_notifications loses its subscriptions and is closed
  // (WebSocket close 1008 with a reason). Returns the number of subscriptions
  // the notification was queued for.
  size_t publish(const std::string& topic, const json& result);

  // Whether any connection subscribes to `topic`: lets a publisher skip
  // building notifications nobody will receive. Cheap; a hint only.
  bool has_subscribers(const std::string& topic) const;

  size_t connection_count() const;
  ServerStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<detail::ServerState> state() const;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ig::rpc
