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
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "rpc/types.hpp"

namespace ig::rpc {
namespace detail {
struct ServerState;
}

// Every limit bounds what one client can make the server hold; docs/rpc.md ("Limits") lists
// them with the memory each bounds.
struct ServerConfig {
  std::string host = "127.0.0.1";  // address to bind; "0.0.0.0" to expose (logs a warning)
  uint16_t port = 8546;            // 0 = pick a free port; read it back with Server::port()
  size_t max_message_bytes = 4u << 20;      // one WS message or one HTTP body
  size_t max_batch = 100;                   // requests in one batch array
  size_t max_subscriptions_per_conn = 32;
  size_t max_filter_keys = 8;               // keys of one subscription filter
  size_t max_filter_value_bytes = 256;      // length of one string value in a filter
  size_t max_queued_notifications = 1024;   // per connection; beyond it the subscriber is dropped
  size_t max_queued_bytes = 32u << 20;      // per connection, notifications and replies together
  unsigned threads = 1;                     // I/O threads running sessions and handlers
  std::vector<std::string> topics = {"newHeads", "events"};

  // Connection slots. Connections from `trusted_addresses` (the operator's own machine) are
  // not held to the per-address cap and may use `reserved_connections` slots beyond
  // `max_connections`, so the wallet still gets in while others hold every ordinary slot.
  size_t max_connections = 256;             // open TCP connections (HTTP + WS); more get 503
  size_t max_connections_per_ip = 32;       // from one untrusted address; more get 429
  size_t reserved_connections = 16;         // extra slots for trusted addresses only
  std::vector<std::string> trusted_addresses = {"127.0.0.1", "::1"};
  uint32_t idle_timeout_ms = 60'000;        // a WebSocket with no subscription that sends nothing this long is closed
  uint32_t request_timeout_ms = 10'000;     // an HTTP request (or keep-alive wait) longer than this is cut

  // Browser defences. A request that carries an Origin header (every browser sends one on a
  // WebSocket upgrade and on a cross-site POST) is refused with 403 unless the origin is the
  // server's own address or is listed here ("*" allows any: think twice). The Host header
  // must be an IP address, "localhost", or listed in `allowed_hosts` ("*" allows any): a
  // page on a DNS name that rebinds to 127.0.0.1 gets 403 (as geth's --http.vhosts).
  std::vector<std::string> allowed_origins;
  std::vector<std::string> allowed_hosts;
};

// Extra GET routes served on the same port beside JSON-RPC (the node's /metrics and its
// /explorer pages). Plain data, no Boost: handlers build the whole reply at once.
struct HttpGet {
  std::string path;   // the request target before '?', e.g. "/explorer/app.js"
  std::string query;  // after '?', undecoded; empty when absent
};
struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Cache-Control, CSP, ...)
};
// Called on an I/O thread, like a method handler: thread-safe and quick. An exception becomes
// a 500 (logged, never sent).
using GetHandler = std::function<HttpReply(const HttpGet&)>;

struct ServerStats {
  size_t connections = 0;            // open connections now
  size_t subscriptions = 0;          // live subscriptions now
  uint64_t requests = 0;             // JSON-RPC requests handled (batch elements count one each)
  uint64_t dropped_subscribers = 0;  // connections closed for falling behind on notifications
  uint64_t rejected_connections = 0; // refused: max_connections or max_connections_per_ip reached
  uint64_t refused_requests = 0;     // refused for a foreign Origin or Host (403)
  uint64_t idle_closed = 0;          // WebSocket connections closed by the idle timeout
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

  // Adds a GET route. `path` is exact ("/metrics"), or, ending in '/', a prefix that also
  // matches itself without the slash ("/explorer/" serves "/explorer", "/explorer/",
  // "/explorer/app.js"). The browser rules of docs/rpc.md (Origin, Host) apply to routes too.
  // Fails ("rpc.bad_route") for "/", "/health", a path not starting with '/', a duplicate, and
  // ("rpc.started") after start().
  ig::Status add_get(std::string path, GetHandler handler);

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
  // One entry per registered method, the built-ins (rpc_methods, subscribe, unsubscribe) and
  // "other"; empty before start().
  std::vector<MethodStats> method_stats() const;

 private:
  struct Impl;
  std::shared_ptr<detail::ServerState> state() const;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ig::rpc
