// Server: configuration checks, the listening socket, the I/O threads and
// orderly shutdown. Sessions live in http_session.cpp and ws_session.cpp.
#include "rpc/server.hpp"

#include <cctype>
#include <thread>

#include <spdlog/spdlog.h>

#include "rpc/detail/sessions.hpp"

namespace ig::rpc {
namespace {

using namespace detail;
using namespace std::chrono_literals;

constexpr auto kStopWait = 1500ms;  // sessions get this long to close before threads stop
constexpr unsigned kMaxThreads = 256;

bool is_topic_name(const std::string& t) {
  if (t.empty() || t.size() > 64) return false;
  for (char c : t)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

ig::Status check_config(const ServerConfig& c) {
  auto bad = [](std::string msg) { return ig::fail("rpc.config", std::move(msg)); };
  if (c.max_message_bytes == 0) return bad("max_message_bytes must be positive");
  if (c.max_batch == 0) return bad("max_batch must be positive");
  if (c.max_connections == 0) return bad("max_connections must be positive");
  if (c.max_queued_notifications == 0) return bad("max_queued_notifications must be positive");
  if (c.max_queued_bytes < c.max_message_bytes) return bad("max_queued_bytes must be at least max_message_bytes");
  if (c.max_connections_per_ip == 0) return bad("max_connections_per_ip must be positive");
  if (c.max_filter_keys == 0 || c.max_filter_value_bytes == 0) return bad("filter limits must be positive");
  if (c.idle_timeout_ms < 100 || c.request_timeout_ms < 100) return bad("timeouts must be at least 100 ms");
  for (const auto& a : c.trusted_addresses) {
    error_code ec;
    net::ip::make_address(a, ec);
    if (ec) return bad("trusted address '" + a + "' is not an IP address");
  }
  if (c.threads == 0 || c.threads > kMaxThreads) return bad("threads must be in 1..256");
  for (size_t i = 0; i < c.topics.size(); ++i) {
    if (!is_topic_name(c.topics[i])) return bad("topic '" + c.topics[i] + "' must be letters, digits or '_'");
    for (size_t j = 0; j < i; ++j)
      if (c.topics[i] == c.topics[j]) return bad("topic '" + c.topics[i] + "' listed twice");
  }
  return {};
}

// Accepts connections and hands each to a session (or to the 503 path).
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, std::shared_ptr<ServerState> state)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)), state_(std::move(state)) {}

  ig::Status listen(const tcp::endpoint& endpoint) {
    error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return ig::fail("rpc.bind", "cannot listen on " + endpoint.address().to_string() + ":" +
                                      std::to_string(endpoint.port()) + ": " + ec.message());
    }
    return {};
  }

  uint16_t port() const {
    error_code ec;
    auto ep = acceptor_.local_endpoint(ec);
    return ec ? 0 : ep.port();
  }

  void run() { do_accept(); }

  void close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [self = shared_from_this()](error_code ec, tcp::socket s) {
      self->on_accept(ec, std::move(s));
    });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      spdlog::warn("rpc: accept failed: {}", ec.message());
    } else if (state_->stopping) {
      error_code ignored;
      socket.close(ignored);
    } else {
      admit(std::move(socket));
    }
    do_accept();
  }

  void admit(tcp::socket socket) {
    std::string address = remote_address(socket);
    switch (state_->admit(address)) {
      case ServerState::Admission::admitted: {
        // Replies are written as soon as they are ready; Nagle plus delayed ACK
        // would hold back every reply written in more than one piece by ~40 ms.
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        run_http_session(std::move(socket), state_, ConnectionSlot(state_, std::move(address)));
        return;
      }
      case ServerState::Admission::server_full:
        state_->rejected.fetch_add(1);
        spdlog::info("rpc: connection from {} refused: {} connections open", address,
                     state_->connections.load());
        run_reject_session(std::move(socket), state_, RejectReason::server_full);
        return;
      case ServerState::Admission::address_full:
        state_->rejected.fetch_add(1);
        spdlog::info("rpc: connection from {} refused: {} connections from that address", address,
                     state_->config.max_connections_per_ip);
        run_reject_session(std::move(socket), state_, RejectReason::address_full);
        return;
    }
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<ServerState> state_;
};

// Runs an I/O thread. Sessions catch what they can; anything that still escapes a handler
// is logged and the thread goes on serving, rather than terminating the process.
void run_io_thread(net::io_context& ioc) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("rpc: an I/O handler failed: {}", e.what());
    } catch (...) {
      spdlog::error("rpc: an I/O handler failed with an unknown exception");
    }
  }
}

ig::Expected<tcp::endpoint> endpoint_for(const std::string& host, uint16_t port) {
  error_code ec;
  auto address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return ig::fail("rpc.bind", "host must be an IP address, got '" + host + "'");
  return tcp::endpoint(address, port);
}

}  // namespace

struct Server::Impl {
  ServerConfig config;
  std::map<std::string, Handler> methods;
  Routes routes;
  std::mutex mu;  // start/stop
  mutable std::mutex state_mu;  // only guards reading `state`, so publish() never waits on stop()
  bool started = false;
  bool stopped = false;
  std::shared_ptr<ServerState> state;
  std::unique_ptr<net::io_context> ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
  uint16_t port = 0;
};

Server::Server(ServerConfig config) : impl_(std::make_shared<Impl>()) {
  impl_->config = std::move(config);
}

Server::~Server() { stop(); }

ig::Status Server::add_method(std::string name, Handler handler) {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) return ig::fail("rpc.started", "add_method after start(): '" + name + "'");
  if (name.empty() || is_reserved_method(name)) {
    return ig::fail("rpc.bad_method", "method name '" + name + "' is empty or reserved");
  }
  if (!handler) return ig::fail("rpc.bad_method", "method '" + name + "' has no handler");
  if (!impl_->methods.emplace(name, std::move(handler)).second) {
    return ig::fail("rpc.bad_method", "method '" + name + "' registered twice");
  }
  return {};
}

ig::Status Server::add_get(std::string path, GetHandler handler) {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) return ig::fail("rpc.started", "add_get after start(): '" + path + "'");
  auto bad = [&](const char* why) { return ig::fail("rpc.bad_route", "route '" + path + "': " + why); };
  if (path.empty() || path.front() != '/' || path.size() > 256) return bad("must start with '/' (at most 256 bytes)");
  for (char c : path)
    if (c <= ' ' || c > '~' || c == '?' || c == '#') return bad("printable ASCII without '?', '#' or spaces");
  if (path == "/" || path == "/health") return bad("reserved for the health answer");
  if (!handler) return bad("no handler");
  const bool is_prefix = path.size() > 1 && path.back() == '/';
  if (is_prefix) path.pop_back();
  auto& table = is_prefix ? impl_->routes.prefix : impl_->routes.exact;
  if (!table.emplace(path, std::move(handler)).second) return bad("registered twice");
  return {};
}

ig::Status Server::start() {
  std::lock_guard lock(impl_->mu);
  Impl& d = *impl_;
  if (d.started) return ig::fail("rpc.started", "server already started");
  IG_TRY(check_config(d.config));
  IG_TRY_ASSIGN(endpoint, endpoint_for(d.config.host, d.config.port));

  auto state = std::make_shared<ServerState>(d.config, d.methods, d.routes);
  auto ioc = std::make_unique<net::io_context>(static_cast<int>(d.config.threads));
  auto listener = std::make_shared<Listener>(*ioc, state);
  IG_TRY(listener->listen(endpoint));

  d.started = true;
  {
    std::lock_guard state_lock(d.state_mu);
    d.state = std::move(state);
  }
  d.ioc = std::move(ioc);
  d.listener = std::move(listener);
  {
    std::lock_guard state_lock(d.state_mu);
    d.port = d.listener->port();
  }
  d.work.emplace(net::make_work_guard(*d.ioc));
  d.listener->run();
  for (unsigned i = 0; i < d.config.threads; ++i) {
    d.threads.emplace_back([ioc = d.ioc.get()] { run_io_thread(*ioc); });
  }
  spdlog::info("rpc: listening on {}:{} (WebSocket and HTTP)", endpoint.address().to_string(), d.port);
  if (!endpoint.address().is_loopback()) {
    spdlog::warn("rpc: listening on {}, which is not a loopback address: the JSON-RPC interface has no "
                 "authentication, so anyone who can reach this port can use it (see docs/rpc.md)",
                 endpoint.address().to_string());
  }
  return {};
}

uint16_t Server::port() const {
  std::lock_guard lock(impl_->state_mu);
  return impl_->port;
}

void Server::stop() {
  std::lock_guard lock(impl_->mu);
  Impl& d = *impl_;
  if (!d.started || d.stopped) return;
  d.stopped = true;
  d.state->stopping = true;
  d.listener->close();
  d.state->shutdown_all();
  auto deadline = std::chrono::steady_clock::now() + kStopWait;
  while ((d.state->connections > 0 || d.state->rejecting > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  while (d.state->publishing > 0) std::this_thread::sleep_for(1ms);
  d.work.reset();
  d.ioc->stop();
  for (auto& t : d.threads) t.join();
  d.threads.clear();
  d.listener.reset();
  d.ioc.reset();  // destroys pending handlers, and with them any remaining sessions
  spdlog::info("rpc: stopped");
}

std::shared_ptr<ServerState> Server::state() const {
  std::lock_guard lock(impl_->state_mu);
  return impl_->state;
}

size_t Server::publish(const std::string& topic, const json& result) {
  auto st = state();
  if (!st) return 0;
  // Announce ourselves before checking `stopping`: stop() sets `stopping`
  // before waiting for `publishing` to drain, so either we see the flag or
  // stop() sees us, and the I/O context outlives every post we make.
  st->publishing.fetch_add(1);
  size_t queued = st->stopping ? 0 : st->registry.publish(topic, result);
  st->publishing.fetch_sub(1);
  return queued;
}

bool Server::has_subscribers(const std::string& topic) const {
  auto st = state();
  return st && st->registry.has_subscribers(topic);
}

size_t Server::connection_count() const {
  auto st = state();
  return st ? st->connections.load() : 0;
}

std::vector<MethodStats> Server::method_stats() const {
  auto st = state();
  return st ? st->dispatcher.method_stats() : std::vector<MethodStats>{};
}

ServerStats Server::stats() const {
  ServerStats s;
  auto state_ptr = state();
  if (!state_ptr) return s;
  const ServerState& st = *state_ptr;
  s.connections = st.connections.load();
  s.subscriptions = st.registry.size();
  s.requests = st.dispatcher.requests_handled();
  s.dropped_subscribers = st.registry.dropped();
  s.rejected_connections = st.rejected.load();
  s.refused_requests = st.refused_requests.load();
  s.idle_closed = st.idle_closed.load();
  return s;
}

}  // namespace ig::rpc
