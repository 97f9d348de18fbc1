// The gateway's HTTP/1.1 server on Boost.Beast, in the style of rpc/ (docs/rpc.md's limits,
// guarded handlers, nothing escapes an I/O thread), but for answers that come later: a request
// becomes an Exchange the handler may answer at once or keep until the chain has answered, and
// a response may be a stream of server-sent events.
//
//   HttpServer server(config, [](std::shared_ptr<Exchange> ex) {
//     if (ex->request().path == "/health") return ex->respond(200, "application/json", "{}");
//     ex->open_stream();  ex->send("data: ...\n\n");  ex->end();   // now or from any thread later
//   });
//
// No Boost in this header (the transport is behind pimpl, as in rpc/).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/expected.hpp"

namespace ig::gateway {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;                  // 0 = any free port (read it back with port())
  unsigned threads = 2;
  size_t max_body_bytes = 1u << 20;      // a request body; larger gets 413
  size_t max_connections = 256;          // open connections; more get 503
  size_t max_connections_per_ip = 64;    // from one untrusted address; more get 429
  size_t reserved_connections = 16;      // extra slots for trusted addresses
  std::vector<std::string> trusted_addresses = {"127.0.0.1", "::1"};
  uint32_t request_timeout_ms = 10'000;  // reading one request (and the keep-alive wait)
  uint32_t write_timeout_ms = 30'000;    // each write of a response or stream piece
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // target before '?'
  std::string query;
  std::string body;
  std::string remote;  // the client's address
  unsigned version = 11;
  Headers headers;     // names lower-cased
  std::optional<std::string_view> header(std::string_view lower_name) const;
};

// One request being answered. Every method is safe from any thread (it runs on the
// connection's strand); calls after the exchange has finished are ignored.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const Request& request() const = 0;
  // A whole response; ends the exchange.
  virtual void respond(int status, std::string content_type, std::string body, Headers headers = {}) = 0;
  // 200 with Content-Type text/event-stream, sent in chunks: send() pieces, then end().
  virtual void open_stream(Headers headers = {}) = 0;
  virtual void send(std::string data) = 0;
  virtual void end() = 0;
  // Answered (or ended), or the connection is gone.
  virtual bool finished() const = 0;
  // Runs `f` on the connection's strand, now or after `delay`; timers die with the exchange.
  virtual void post(std::function<void()> f) = 0;
  virtual void after(std::chrono::milliseconds delay, std::function<void()> f) = 0;
  // Runs `f` on the strand if the connection closes before this exchange is finished: the
  // client closed or reset it (watched while the answer is pending), a write failed, or the
  // server stops. One handler per exchange; a later call replaces it.
  virtual void on_close(std::function<void()> f) = 0;
};

using RequestHandler = std::function<void(std::shared_ptr<Exchange>)>;

struct HttpServerStats {
  size_t connections = 0;
  uint64_t requests = 0;
  uint64_t rejected_connections = 0;  // over max_connections or the per-address cap
  uint64_t bad_requests = 0;          // malformed HTTP, oversized bodies
};

class HttpServer {
 public:
  HttpServer(HttpServerConfig config, RequestHandler handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the I/O threads. "gateway.bind" when the address is bad or taken,
  // "gateway.config" for a nonsensical config.
  Status start();
  void stop();  // idempotent; never from a handler
  uint16_t port() const;
  HttpServerStats stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ig::gateway
