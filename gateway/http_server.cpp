#include "gateway/http_server.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace ig::gateway {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

constexpr size_t kHeaderLimit = 16 * 1024;
constexpr auto kStopWait = 1500ms;

std::string clean_header_value(std::string_view v) {
  std::string out;
  for (char c : v) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

std::string error_json(std::string_view code, std::string_view message) {
  // The OpenAI error shape, written by hand here so that the transport needs no JSON library.
  return std::string(R"({"error":{"message":")") + std::string(message) + R"(","type":"server_error","param":null,"code":")" +
         std::string(code) + R"("}})";
}

}  // namespace

std::optional<std::string_view> Request::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return std::string_view(v);
  return std::nullopt;
}

class Session;

// What the sessions share with the server; sessions hold it, so it outlives them.
struct Shared {
  HttpServerConfig config;
  RequestHandler handler;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> connections{0};
  std::atomic<uint64_t> requests{0}, rejected{0}, bad{0};
  std::mutex slots_mu;
  std::map<std::string, size_t> per_address;
  std::mutex sessions_mu;
  std::unordered_map<const void*, std::weak_ptr<Session>> sessions;

  bool trusted(const std::string& a) const {
    for (const auto& t : config.trusted_addresses)
      if (t == a) return true;
    return false;
  }
  // "" when admitted, else the refusal's status line reason.
  int admit(const std::string& address) {
    const bool t = trusted(address);
    std::lock_guard l(slots_mu);
    if (connections >= config.max_connections + (t ? config.reserved_connections : 0)) return 503;
    if (!t && per_address[address] >= config.max_connections_per_ip) return 429;
    ++per_address[address];
    ++connections;
    return 0;
  }
  void release(const std::string& address) {
    std::lock_guard l(slots_mu);
    auto it = per_address.find(address);
    if (it != per_address.end() && --it->second == 0) per_address.erase(it);
    --connections;
  }
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Shared> shared, std::string address, int reject)
      : stream_(std::move(socket)), shared_(std::move(shared)), address_(std::move(address)), reject_(reject) {}
  ~Session() {
    std::lock_guard l(shared_->sessions_mu);
    shared_->sessions.erase(this);
    if (!reject_) shared_->release(address_);
  }

  void start() {
    {
      std::lock_guard l(shared_->sessions_mu);
      shared_->sessions[this] = weak_from_this();
    }
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
  }
  void close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->shutdown_now(); });
  }

  auto executor() { return stream_.get_executor(); }
  bool active(uint64_t gen) const { return active_gen_.load() == gen && !closed_.load(); }

  // --- called on the strand through an Exchange ---------------------------------------------
  void respond(uint64_t gen, int status, const std::string& type, std::string body, const Headers& extra) {
    if (!active(gen) || streaming_) return;
    finish(gen);
    std::string head = status_line(status);
    head += "Content-Type: " + clean_header_value(type) + "\r\n";
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    head += common_headers(extra);
    enqueue(head + "\r\n" + body);
    after_drain_ = keep_alive_ ? After::read : After::close;
  }

  void open_stream(uint64_t gen, const Headers& extra) {
    if (!active(gen) || streaming_) return;
    streaming_ = true;
    chunked_ = version_ >= 11;
    if (!chunked_) keep_alive_ = false;  // HTTP/1.0: the end of the stream is the end of the connection
    std::string head = status_line(200);
    head += "Content-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n";
    if (chunked_) head += "Transfer-Encoding: chunked\r\n";
    head += common_headers(extra);
    enqueue(head + "\r\n");
  }

  void send(uint64_t gen, std::string data) {
    if (!active(gen) || !streaming_ || data.empty()) return;
    if (chunked_) {
      char size[24];
      std::snprintf(size, sizeof size, "%zx\r\n", data.size());
      data = size + data + "\r\n";
    }
    enqueue(std::move(data));
  }

  void end(uint64_t gen) {
    if (!active(gen) || !streaming_) return;
    finish(gen);
    if (chunked_) enqueue("0\r\n\r\n");
    after_drain_ = keep_alive_ ? After::read : After::close;
    if (!writing_) drained();
  }

  void after(uint64_t gen, std::chrono::milliseconds delay, std::function<void()> f) {
    if (!active(gen)) return;
    auto t = std::make_shared<net::steady_timer>(stream_.get_executor());
    t->expires_after(delay);
    timers_.push_back(t);
    t->async_wait([self = shared_from_this(), gen, f = std::move(f)](error_code ec) {
      if (!ec && self->active(gen)) self->guarded([&] { f(); });
    });
  }

  // The exchange `gen` learns if its client goes away before it is answered: `f` runs when the
  // connection closes first (the client closed or reset it, a write failed, the server stops).
  // No read is pending while a request is being answered (the next request is read after the
  // answer), so the socket is watched for readability meanwhile: an end of stream or an error
  // then is the client gone (as nginx reads a client that closes during a proxied request);
  // bytes of a pipelined request end the watch, which leaves them for the next read.
  void on_close(uint64_t gen, std::function<void()> f) {
    if (!active(gen)) return;
    on_gone_ = std::move(f);
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this(), gen](error_code ec) {
      self->guarded([&] { self->watched(gen, ec); });
    });
  }

  template <typename F>
  void guarded(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      spdlog::warn("gateway: connection {} failed: {}", address_, e.what());
      shutdown_now();
    }
  }

 private:
  enum class After { nothing, read, close };

  std::string status_line(int status) const {
    auto reason = http::obsolete_reason(static_cast<http::status>(status));
    return (version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ") + std::to_string(status) + " " + std::string(reason) + "\r\n";
  }
  std::string common_headers(const Headers& extra) const {
    std::string h = "Server: infergrid-gateway\r\nX-Content-Type-Options: nosniff\r\n";
    h += keep_alive_ ? (version_ == 10 ? "Connection: keep-alive\r\n" : "") : "Connection: close\r\n";
    for (const auto& [k, v] : extra) h += clean_header_value(k) + ": " + clean_header_value(v) + "\r\n";
    return h;
  }

  // The exchange is answered: no more calls for it, and its timers and close handler go.
  void finish(uint64_t gen) {
    if (active_gen_ == gen) active_gen_ = 0;
    for (auto& t : timers_) t->cancel();
    timers_.clear();
    on_gone_ = nullptr;
  }

  // The socket of exchange `gen` turned readable (or failed) while it was being answered.
  void watched(uint64_t gen, error_code ec) {
    if (!active(gen) || ec == net::error::operation_aborted) return;  // answered, or closed already
    if (!ec) {
      char c = 0;
      stream_.socket().non_blocking(true, ec);  // for this peek only: the async operations ignore it
      const size_t n = ec ? 0 : stream_.socket().receive(net::buffer(&c, 1), tcp::socket::message_peek, ec);
      if (!ec && n > 0) return;  // a pipelined request: read after this answer
      if (ec == net::error::would_block) return on_close(gen, std::exchange(on_gone_, nullptr));  // watch again
    }
    shutdown_now();  // end of stream or an error: the client is gone
  }

  void do_read() {
    if (shared_->stopping || closed_) return;
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(shared_->config.max_body_bytes);
    streaming_ = false;
    after_drain_ = After::nothing;
    stream_.expires_after(std::chrono::milliseconds(shared_->config.request_timeout_ms));
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](error_code ec, size_t) {
      self->guarded([&] { self->on_read(ec); });
    });
  }

  void on_read(error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset) {
      return shutdown_now();
    }
    version_ = parser_->get().version() == 10 ? 10 : 11;
    if (ec) {
      ++shared_->bad;
      keep_alive_ = false;
      active_gen_ = ++gen_;
      const bool big = ec == http::error::body_limit;
      return respond(gen_, big ? 413 : 400, "application/json",
                     error_json(big ? "body_too_large" : "bad_http",
                                big ? "the request body is larger than the limit of " +
                                          std::to_string(shared_->config.max_body_bytes) + " bytes"
                                    : "malformed HTTP request"),
                     {});
    }
    stream_.expires_never();
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive() && !shared_->stopping;
    active_gen_ = ++gen_;
    if (reject_) {
      keep_alive_ = false;
      return respond(gen_, reject_, "application/json",
                     error_json("too_many_connections", reject_ == 503 ? "the gateway has too many connections"
                                                                       : "too many connections from your address"),
                     {});
    }
    ++shared_->requests;
    Request req;
    req.method = std::string(msg.method_string());
    std::string_view target = msg.target();
    auto q = target.find('?');
    req.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
    req.body = std::move(msg.body());
    req.remote = address_;
    req.version = version_;
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    dispatch_request(std::move(req));
  }

  void dispatch_request(Request req);

  void enqueue(std::string data) {
    out_.push_back(std::make_shared<std::string>(std::move(data)));
    if (!writing_) write_next();
  }

  void write_next() {
    if (out_.empty()) {
      writing_ = false;
      return drained();
    }
    writing_ = true;
    auto piece = out_.front();
    out_.pop_front();
    stream_.expires_after(std::chrono::milliseconds(shared_->config.write_timeout_ms));
    net::async_write(stream_, net::buffer(*piece), [self = shared_from_this(), piece](error_code ec, size_t) {
      if (ec) return self->shutdown_now();
      self->stream_.expires_never();
      self->guarded([&] { self->write_next(); });
    });
  }

  // Everything queued is written: read the next request or close, as the exchange decided.
  void drained() {
    if (after_drain_ == After::read && active_gen_ == 0) {
      after_drain_ = After::nothing;
      return do_read();
    }
    if (after_drain_ == After::close) {
      after_drain_ = After::nothing;
      error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      // Linger briefly for the client to close first, then go (see rpc/http_session.cpp).
      stream_.expires_after(2s);
      stream_.async_read_some(net::buffer(scratch_), [self = shared_from_this()](error_code, size_t) { self->shutdown_now(); });
    }
  }

  void shutdown_now() {
    if (closed_) return;
    closed_ = true;
    active_gen_ = 0;
    for (auto& t : timers_) t->cancel();
    timers_.clear();
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    if (auto gone = std::exchange(on_gone_, nullptr)) gone();  // an exchange left unanswered
  }

  beast::tcp_stream stream_;
  std::shared_ptr<Shared> shared_;
  std::string address_;
  int reject_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<std::shared_ptr<std::string>> out_;
  std::vector<std::shared_ptr<net::steady_timer>> timers_;
  std::function<void()> on_gone_;  // the active exchange's close handler (on_close)
  std::array<char, 4096> scratch_{};
  uint64_t gen_ = 0;
  std::atomic<uint64_t> active_gen_{0};
  std::atomic<bool> closed_{false};
  bool writing_ = false, streaming_ = false, chunked_ = false, keep_alive_ = false;
  unsigned version_ = 11;
  After after_drain_ = After::nothing;
};

namespace {

class ExchangeImpl final : public Exchange {
 public:
  ExchangeImpl(std::shared_ptr<Session> s, uint64_t gen, Request req) : s_(std::move(s)), gen_(gen), req_(std::move(req)) {}
  const Request& request() const override { return req_; }
  void respond(int status, std::string type, std::string body, Headers headers) override {
    run([status, type = std::move(type), headers = std::move(headers), s = s_, g = gen_, body = std::move(body)]() mutable {
      s->respond(g, status, type, std::move(body), headers);
    });
  }
  void open_stream(Headers headers) override {
    run([s = s_, g = gen_, headers = std::move(headers)] { s->open_stream(g, headers); });
  }
  void send(std::string data) override {
    run([s = s_, g = gen_, data = std::move(data)]() mutable { s->send(g, std::move(data)); });
  }
  void end() override {
    run([s = s_, g = gen_] { s->end(g); });
  }
  bool finished() const override { return !s_->active(gen_); }
  void post(std::function<void()> f) override {
    net::post(s_->executor(), [s = s_, f = std::move(f)] { s->guarded([&] { f(); }); });
  }
  void after(std::chrono::milliseconds delay, std::function<void()> f) override {
    run([s = s_, g = gen_, delay, f = std::move(f)]() mutable { s->after(g, delay, std::move(f)); });
  }
  void on_close(std::function<void()> f) override {
    run([s = s_, g = gen_, f = std::move(f)]() mutable { s->on_close(g, std::move(f)); });
  }

 private:
  template <typename F>
  void run(F&& f) {
    net::dispatch(s_->executor(), [s = s_, f = std::forward<F>(f)]() mutable { s->guarded([&] { f(); }); });
  }
  std::shared_ptr<Session> s_;
  uint64_t gen_;
  Request req_;
};

}  // namespace

void Session::dispatch_request(Request req) {
  auto ex = std::make_shared<ExchangeImpl>(shared_from_this(), gen_, std::move(req));
  try {
    shared_->handler(ex);
  } catch (const std::exception& e) {
    spdlog::error("gateway: handler failed: {}", e.what());
    respond(gen_, 500, "application/json", error_json("internal_error", "internal error"), {});
  }
}

struct HttpServer::Impl {
  std::shared_ptr<Shared> shared;
  std::unique_ptr<net::io_context> ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::mutex mu;
  bool started = false, stopped = false;
  std::atomic<uint16_t> port{0};

  void accept() {
    acceptor->async_accept(net::make_strand(*ioc), [this](error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
      if (!ec && !shared->stopping) admit(std::move(socket));
      accept();
    });
  }

  void admit(tcp::socket socket) {
    error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (ec) return;
    auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
    std::string address = a.to_string();
    int reject = shared->admit(address);
    if (reject) ++shared->rejected;
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<Session>(std::move(socket), shared, std::move(address), reject)->start();
  }
};

HttpServer::HttpServer(HttpServerConfig config, RequestHandler handler) : impl_(std::make_shared<Impl>()) {
  impl_->shared = std::make_shared<Shared>();
  impl_->shared->config = std::move(config);
  impl_->shared->handler = std::move(handler);
}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  std::lock_guard l(impl_->mu);
  Impl& d = *impl_;
  const auto& c = d.shared->config;
  if (d.started) return fail("gateway.config", "server already started");
  if (c.threads == 0 || c.threads > 64 || c.max_connections == 0 || c.max_connections_per_ip == 0 || c.max_body_bytes == 0 ||
      c.request_timeout_ms < 100 || c.write_timeout_ms < 100 || !d.shared->handler)
    return fail("gateway.config", "nonsensical HTTP server limits");
  error_code ec;
  auto address = net::ip::make_address(c.host == "localhost" ? "127.0.0.1" : c.host, ec);
  if (ec) return fail("gateway.bind", "listen host must be an IP address, got '" + c.host + "'");
  d.ioc = std::make_unique<net::io_context>(static_cast<int>(c.threads));
  d.acceptor = std::make_unique<tcp::acceptor>(net::make_strand(*d.ioc));
  tcp::endpoint ep(address, c.port);
  d.acceptor->open(ep.protocol(), ec);
  if (!ec) d.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) d.acceptor->bind(ep, ec);
  if (!ec) d.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("gateway.bind", "cannot listen on " + c.host + ":" + std::to_string(c.port) + ": " + ec.message());
  d.port = d.acceptor->local_endpoint(ec).port();
  d.started = true;
  d.work.emplace(net::make_work_guard(*d.ioc));
  d.accept();
  for (unsigned i = 0; i < c.threads; ++i) {
    d.threads.emplace_back([ioc = d.ioc.get()] {
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("gateway: an I/O handler failed: {}", e.what());
        }
      }
    });
  }
  return {};
}

void HttpServer::stop() {
  std::lock_guard l(impl_->mu);
  Impl& d = *impl_;
  if (!d.started || d.stopped) return;
  d.stopped = true;
  d.shared->stopping = true;
  net::post(d.acceptor->get_executor(), [&d] {
    error_code ignored;
    d.acceptor->close(ignored);
  });
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard sl(d.shared->sessions_mu);
    for (auto& [k, w] : d.shared->sessions)
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->close();
  live.clear();
  const auto deadline = std::chrono::steady_clock::now() + kStopWait;
  while (d.shared->connections > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  d.work.reset();
  d.ioc->stop();
  for (auto& t : d.threads) t.join();
  d.threads.clear();
  d.acceptor.reset();
  d.ioc.reset();
}

uint16_t HttpServer::port() const { return impl_->port; }

HttpServerStats HttpServer::stats() const {
  const Shared& s = *impl_->shared;
  return {s.connections.load(), s.requests.load(), s.rejected.load(), s.bad.load()};
}

}  // namespace ig::gateway
