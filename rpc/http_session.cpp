// An HTTP connection: JSON-RPC over POST, a health answer on GET, and the
// hand-off of WebSocket upgrade requests. Also answers connections over the
// limit with 503.
#include <cctype>

#include <spdlog/spdlog.h>

#include "rpc/detail/http_policy.hpp"
#include "rpc/detail/sessions.hpp"

namespace ig::rpc::detail {
namespace {

using namespace std::chrono_literals;

constexpr auto kDrainTimeout = 2s;    // lingering read after refusing a request
constexpr size_t kHeaderLimit = 16 * 1024;
constexpr size_t kMaxRejecting = 64;  // 503 answers in flight; beyond, just close

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

Response json_response(const Request& req, http::status status, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::server, "infergrid-rpc");
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string error_body(const std::string& message) { return to_text(json{{"error", message}}); }

bool is_json_content(const Request& req) {
  auto it = req.find(http::field::content_type);
  return it != req.end() && is_json_media_type(it->value());
}

std::optional<std::string_view> header(const Request& req, http::field field) {
  auto it = req.find(field);
  if (it == req.end()) return std::nullopt;
  return it->value();
}

// Serves one connection: a keep-alive loop of request -> response.
// `reject` answers the first request with 503/429 and closes (over the connection limits).
class HttpSession : public std::enable_shared_from_this<HttpSession>, public Session {
 public:
  HttpSession(tcp::socket socket, std::shared_ptr<ServerState> state, ConnectionSlot slot,
              std::optional<RejectReason> reject)
      : stream_(std::move(socket)),
        state_(std::move(state)),
        slot_(std::move(slot)),
        reject_(reject),
        remote_(remote_name(stream_.socket())),
        policy_{state_->config.allowed_hosts, state_->config.allowed_origins} {}

  ~HttpSession() override {
    state_->untrack(this);
    if (reject_) state_->rejecting.fetch_sub(1);
  }

  void start() {
    state_->track(this, weak_from_this());
    spdlog::debug("rpc: connection from {}{}", remote_, reject_ ? " (over the limit)" : "");
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
  }

  void shutdown() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      self->stream_.close();
    });
  }

 private:
  void do_read() {
    if (state_->stopping) return;
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(state_->config.max_message_bytes);
    // One deadline for the wait and the whole request: a client that sends a byte now and
    // then holds a slot no longer than this.
    stream_.expires_after(std::chrono::milliseconds(state_->config.request_timeout_ms));
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](error_code ec, size_t) {
      self->guarded([&] { self->on_read(ec); });
    });
  }

  // Every completion handler runs through here: an exception (out of memory while building
  // a reply, say) closes this connection and is logged; it never reaches the I/O thread.
  template <typename F>
  void guarded(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      spdlog::warn("rpc: connection {} failed: {}", remote_, e.what());
      error_code ignored;
      stream_.socket().close(ignored);
    }
  }

  void on_read(error_code ec) {
    if (ec == http::error::end_of_stream) return close_gracefully();
    if (ec == http::error::body_limit) return refuse_too_large();
    if (ec) {
      if (ec != beast::error::timeout && ec != net::error::operation_aborted &&
          ec != net::error::connection_reset) {
        spdlog::debug("rpc: bad HTTP request from {}: {}", remote_, ec.message());
        return refuse(http::status::bad_request, error_body("bad HTTP request: " + ec.message()));
      }
      return;
    }
    if (reject_ == RejectReason::server_full) {
      const auto limit = std::to_string(state_->config.max_connections);
      return refuse(http::status::service_unavailable,
                    error_reply_text({kLimitExceeded, "too many connections (limit " + limit + ")"}));
    }
    if (reject_ == RejectReason::address_full) {
      const auto limit = std::to_string(state_->config.max_connections_per_ip);
      return refuse(http::status::too_many_requests,
                    error_reply_text({kLimitExceeded, "too many connections from your address (limit " + limit + ")"}));
    }
    const Request& req = parser_->get();
    if (auto why = browser_refusal(header(req, http::field::host), header(req, http::field::origin), policy_)) {
      state_->refused_requests.fetch_add(1);
      spdlog::info("rpc: request from {} refused: {}", remote_, *why);
      return refuse(http::status::forbidden, error_body(*why));
    }
    if (websocket::is_upgrade(req)) {
      stream_.expires_never();
      run_ws_session(std::move(stream_), parser_->release(), state_, std::move(slot_));
      return;
    }
    write(handle(parser_->get()));
  }

  Response handle(const Request& req) {
    if (req.method() == http::verb::post) {
      if (!is_json_content(req)) {
        return json_response(req, http::status::unsupported_media_type,
                             error_body("Content-Type must be application/json"));
      }
      auto reply = state_->dispatcher.handle(req.body(), nullptr);
      if (!reply) return json_response(req, http::status::no_content, "");
      return json_response(req, http::status::ok, std::move(*reply));
    }
    if (req.method() == http::verb::get) {
      if (req.target() != "/" && req.target() != "/health") return handle_route(req);
      json health = {{"status", "ok"}, {"service", "infergrid-rpc"},
                     {"connections", state_->connections.load()}};
      return json_response(req, http::status::ok, to_text(health));
    }
    Response res = json_response(req, http::status::method_not_allowed,
                                 error_body("use POST for JSON-RPC or GET for health"));
    res.set(http::field::allow, "GET, POST");
    return res;
  }

  // A GET route of Server::add_get, or 404. The handler's exception is this request's 500;
  // the connection and the server go on.
  Response handle_route(const Request& req) {
    std::string_view target = req.target();
    HttpGet get;
    auto q = target.find('?');
    get.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) get.query = std::string(target.substr(q + 1));
    const GetHandler* handler = state_->routes.find(get.path);
    if (!handler) return json_response(req, http::status::not_found, error_body("not found"));
    HttpReply reply;
    try {
      reply = (*handler)(get);
    } catch (const std::exception& e) {
      spdlog::warn("rpc: GET {} failed: {}", get.path.substr(0, 64), e.what());
      return json_response(req, http::status::internal_server_error, error_body("internal error"));
    }
    Response res{static_cast<http::status>(reply.status), req.version()};
    res.set(http::field::server, "infergrid-rpc");
    res.set(http::field::content_type, reply.content_type);
    // Pages served here must not be framed or sniffed into another type by a browser.
    res.set("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : reply.headers) res.set(name, value);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(reply.body);
    res.prepare_payload();
    return res;
  }

  void write(Response res) {
    bool keep_alive = res.keep_alive() && !state_->stopping;
    res.keep_alive(keep_alive);
    auto shared = std::make_shared<Response>(std::move(res));
    stream_.expires_after(std::chrono::milliseconds(state_->config.request_timeout_ms));
    http::async_write(stream_, *shared,
                      [self = shared_from_this(), shared, keep_alive](error_code ec, size_t) {
                        if (ec) return;
                        self->guarded([&] {
                          if (keep_alive) return self->do_read();
                          self->close_gracefully();
                        });
                      });
  }

  void refuse_too_large() {
    const auto limit = std::to_string(state_->config.max_message_bytes);
    spdlog::info("rpc: HTTP request from {} over {} bytes refused", remote_, limit);
    refuse(http::status::payload_too_large,
           error_reply_text({kLimitExceeded, "message too large (limit " + limit + " bytes)"}));
  }

  // Answers and closes. The client may still be sending its body, so the
  // answer is followed by a lingering read: closing with unread input would
  // reset the connection and could destroy the answer before it is read.
  void refuse(http::status status, std::string body) {
    auto res = std::make_shared<Response>(status, 11);
    res->set(http::field::server, "infergrid-rpc");
    res->set(http::field::content_type, "application/json");
    res->keep_alive(false);
    res->body() = std::move(body);
    res->prepare_payload();
    stream_.expires_after(kDrainTimeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res](error_code ec, size_t) {
      if (ec) return;
      error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      self->drain();
    });
  }

  void drain() {
    stream_.async_read_some(net::buffer(scratch_), [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return self->stream_.close();
      self->drain();
    });
  }

  void close_gracefully() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  std::shared_ptr<ServerState> state_;
  ConnectionSlot slot_;
  std::optional<RejectReason> reject_;
  std::string remote_;
  BrowserPolicy policy_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::array<char, 16 * 1024> scratch_;
};

}  // namespace

std::string remote_name(const tcp::socket& socket) {
  error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "?";
  return remote_address(socket) + ":" + std::to_string(ep.port());
}

std::string remote_address(const tcp::socket& socket) {
  error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "?";
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

void run_http_session(tcp::socket socket, std::shared_ptr<ServerState> state, ConnectionSlot slot) {
  std::make_shared<HttpSession>(std::move(socket), std::move(state), std::move(slot), std::nullopt)->start();
}

void run_reject_session(tcp::socket socket, std::shared_ptr<ServerState> state, RejectReason reason) {
  if (state->rejecting.fetch_add(1) >= kMaxRejecting) {
    state->rejecting.fetch_sub(1);
    error_code ignored;
    socket.close(ignored);
    return;
  }
  std::make_shared<HttpSession>(std::move(socket), std::move(state), ConnectionSlot{}, reason)->start();
}

}  // namespace ig::rpc::detail
