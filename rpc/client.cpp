// The synchronous WebSocket client. It keeps one read outstanding on a
// private io_context and runs that context only inside its own methods, so
// every incoming message (reply or notification) is sorted as it arrives.
#include "rpc/client.hpp"

#include <deque>

#include "rpc/detail/dial.hpp"
#include "rpc/detail/dispatch.hpp"

namespace ig::rpc {
namespace {

using namespace detail;
using namespace std::chrono_literals;

constexpr auto kCloseWait = 500ms;

bool is_notification(const json& m) {
  return m.is_object() && m.contains("method") && !m.contains("id");
}

std::string reply_error_message(const json& err) {
  auto m = err.find("message");
  std::string message = m != err.end() && m->is_string() ? m->get<std::string>() : "(no message)";
  if (err.contains("data") && !err["data"].is_null()) message += " (data: " + to_text(err["data"]) + ")";
  return message;
}

}  // namespace

struct Client::Impl {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer rbuf;
  std::chrono::milliseconds timeout{5000};
  bool open = false;
  bool reading = false;
  std::string gone = "not connected";
  std::deque<json> replies;  // non-notification messages, in arrival order
  std::deque<json> notifications;
  uint64_t dropped = 0;
  int64_t next_id = 1;
  std::string out;
  bool write_done = true;
  error_code write_ec;

  Clock::time_point deadline(std::chrono::milliseconds t) const { return Clock::now() + t; }

  template <typename Done>
  ig::Status wait(Done&& done, Clock::time_point until) {
    start_read();
    return pump(ioc, std::forward<Done>(done), until, gone);
  }

  void start_read() {
    if (reading || !open) return;
    reading = true;
    ws.async_read(rbuf, [this](error_code ec, size_t) { on_read(ec); });
  }

  void on_read(error_code ec) {
    reading = false;
    if (ec) {
      open = false;
      gone = close_reason_or("connection lost: " + ec.message());
      return;
    }
    auto data = rbuf.data();
    std::string_view text(static_cast<const char*>(data.data()), data.size());
    json message = json::parse(text, nullptr, /*allow_exceptions=*/false);
    rbuf.consume(rbuf.size());
    if (is_notification(message)) {
      if (notifications.size() >= kMaxQueuedNotifications) {
        notifications.pop_front();
        ++dropped;
      }
      notifications.push_back(std::move(message));
    } else {
      replies.push_back(std::move(message));
    }
    start_read();
  }

  ig::Status send(std::string text) {
    if (!open) return ig::fail("rpc.transport", gone);
    out = std::move(text);
    write_done = false;
    ws.text(true);
    ws.async_write(net::buffer(out), [this](error_code ec, size_t) {
      write_done = true;
      write_ec = ec;
    });
    auto st = wait([this] { return write_done; }, deadline(timeout));
    if (!st) {
      abandon("write timed out");
      return st;
    }
    if (write_ec) {
      // Let the read side take in a close frame that may already be here.
      (void)pump(ioc, [this] { return !reading; }, deadline(kCloseWait), gone);
      abandon(write_ec == net::error::operation_aborted ? "connection closed" : "write failed: " + write_ec.message());
      return ig::fail("rpc.transport", gone);
    }
    return {};
  }

  // A close frame may arrive just before the transport fails (or cancels our
  // write); its code is the real news.
  std::string close_reason_or(std::string otherwise) {
    auto r = ws.reason();
    if (r.code == websocket::close_code::none) return otherwise;
    return "connection closed by the server (" + std::to_string(r.code) +
           (r.reason.empty() ? std::string() : " " + std::string(r.reason.c_str())) + ")";
  }

  // A failed or stuck write leaves the stream in an unknown state: give it up.
  void abandon(std::string why) {
    if (open) gone = close_reason_or(std::move(why));
    open = false;
    error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
  }

  ig::Expected<json> await_reply(int64_t id) {
    json found;
    bool have = false;
    auto done = [&] {
      while (!have && !replies.empty()) {
        json r = std::move(replies.front());
        replies.pop_front();
        if (r.is_object() && r.contains("id") && r["id"] == id) {
          found = std::move(r);
          have = true;
        }  // anything else answers an earlier call that timed out
      }
      return have;
    };
    IG_TRY(wait(done, deadline(timeout)));
    return found;
  }

  void close() {
    if (!open) return;
    open = false;
    gone = "closed by the client";
    auto closed = std::make_shared<bool>(false);  // the handler may outlive this frame
    ws.async_close(websocket::close_code::normal, [closed](error_code) { *closed = true; });
    (void)pump(ioc, [&] { return *closed && !reading; }, deadline(kCloseWait), gone);
    error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    if (impl_) impl_->close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
Client::~Client() {
  if (impl_) impl_->close();
}

ig::Expected<Client> Client::connect(const std::string& url_text, std::chrono::milliseconds timeout) {
  IG_TRY_ASSIGN(url, parse_url(url_text, "ws"));
  auto impl = std::make_unique<Impl>();
  impl->timeout = timeout;
  auto until = impl->deadline(timeout);
  IG_TRY(dial(impl->ioc, beast::get_lowest_layer(impl->ws), url, until));

  impl->ws.read_message_max(kMaxMessageBytes);
  impl->ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
    req.set(http::field::user_agent, "infergrid-rpc-client");
  }));
  struct Handshake {
    bool done = false;
    error_code ec;
  };
  auto hs = std::make_shared<Handshake>();  // the handler may outlive this frame
  std::string host = url.host + ":" + std::to_string(url.port);
  impl->ws.async_handshake(host, url.target, [hs](error_code e) {
    hs->ec = e;
    hs->done = true;
  });
  auto st = pump(impl->ioc, [&] { return hs->done; }, until, "handshake stopped");
  if (!st) {
    return ig::fail(st.error().code, "WebSocket handshake with " + url_text + ": " + st.error().message);
  }
  if (hs->ec) {
    return ig::fail("rpc.transport", "WebSocket handshake with " + url_text + " failed: " + hs->ec.message());
  }
  beast::get_lowest_layer(impl->ws).expires_never();
  impl->open = true;
  impl->gone = "connection closed";
  return Client(std::move(impl));
}

ig::Expected<json> Client::call(const std::string& method, const json& params) {
  const int64_t id = impl_->next_id++;
  json request = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method},
                  {"params", params.is_null() ? json::array() : params}};
  IG_TRY(impl_->send(to_text(request)));
  IG_TRY_ASSIGN(reply, impl_->await_reply(id));
  if (auto err = reply.find("error"); err != reply.end() && err->is_object()) {
    auto c = err->find("code");
    int64_t code = c != err->end() && c->is_number_integer() ? c->get<int64_t>() : 0;
    return ig::fail("rpc." + std::to_string(code), reply_error_message(*err));
  }
  auto result = reply.find("result");
  if (result == reply.end()) return ig::fail("rpc.bad_reply", "reply has neither result nor error");
  return std::move(*result);
}

ig::Expected<json> Client::call_raw(const std::string& text) {
  impl_->replies.clear();  // only what answers `text` counts
  IG_TRY(impl_->send(text));
  IG_TRY(impl_->wait([this] { return !impl_->replies.empty(); }, impl_->deadline(impl_->timeout)));
  json reply = std::move(impl_->replies.front());
  impl_->replies.pop_front();
  if (reply.is_discarded()) return ig::fail("rpc.bad_reply", "server sent invalid JSON");
  return reply;
}

ig::Expected<std::string> Client::subscribe(const std::string& topic, const json& filter) {
  json params = json::array({topic});
  if (!filter.is_null()) params.push_back(filter);
  IG_TRY_ASSIGN(result, call("subscribe", params));
  if (!result.is_string()) return ig::fail("rpc.bad_reply", "subscribe did not return an id");
  return result.get<std::string>();
}

ig::Expected<bool> Client::unsubscribe(const std::string& id) {
  IG_TRY_ASSIGN(result, call("unsubscribe", json::array({id})));
  if (!result.is_boolean()) return ig::fail("rpc.bad_reply", "unsubscribe did not return a boolean");
  return result.get<bool>();
}

ig::Expected<json> Client::next_notification(std::chrono::milliseconds timeout) {
  auto& q = impl_->notifications;
  if (q.empty()) {
    IG_TRY(impl_->wait([&] { return !q.empty(); }, impl_->deadline(timeout)));
  }
  json message = std::move(q.front());
  q.pop_front();
  json params = message.contains("params") ? message["params"] : json::object();
  if (!params.is_object()) return ig::fail("rpc.bad_reply", "notification params are not an object");
  std::string method = message["method"].is_string() ? message["method"].get<std::string>() : "";
  const std::string suffix = "_subscription";
  if (method.size() > suffix.size() && method.ends_with(suffix)) {
    params["topic"] = method.substr(0, method.size() - suffix.size());
  }
  return params;
}

void Client::set_timeout(std::chrono::milliseconds timeout) { impl_->timeout = timeout; }
bool Client::is_open() const { return impl_ && impl_->open; }
void Client::close() {
  if (impl_) impl_->close();
}
uint64_t Client::dropped_notifications() const { return impl_ ? impl_->dropped : 0; }

}  // namespace ig::rpc
