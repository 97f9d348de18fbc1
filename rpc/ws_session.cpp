// A WebSocket connection: reads requests one message at a time, answers them
// through the dispatcher, and writes replies and notifications from one
// bounded outbound queue. All socket work runs on the session's strand;
// push_notification() may be called from any thread.
#include <array>
#include <deque>
#include <optional>

#include <spdlog/spdlog.h>

#include "rpc/detail/sessions.hpp"

namespace ig::rpc::detail {
namespace {

using namespace std::chrono_literals;

// Replies waiting to be written before we stop reading further requests:
// a client that pipelines requests but never reads cannot grow our memory
// (the byte side of this bound is ServerConfig::max_queued_bytes).
constexpr size_t kMaxPendingReplies = 16;
constexpr auto kStopGrace = 1s;      // close handshake time on server stop
constexpr auto kDropGrace = 2s;      // a slow subscriber's socket is likely full
constexpr auto kOversizeGrace = 5s;  // the close handshake reads the rest of the big message

struct CloseRequest {
  websocket::close_code code;
  std::string reason;
};

class WsSession : public std::enable_shared_from_this<WsSession>,
                  public Subscriber,
                  public SubscriptionHost,
                  public Session {
 public:
  WsSession(beast::tcp_stream stream, std::shared_ptr<ServerState> state, ConnectionSlot slot)
      : ws_(std::move(stream)),
        state_(std::move(state)),
        slot_(std::move(slot)),
        close_timer_(ws_.get_executor()),
        idle_timer_(ws_.get_executor()),
        remote_(remote_name(beast::get_lowest_layer(ws_).socket())) {}

  ~WsSession() override {
    state_->registry.remove_all(this);
    state_->untrack(this);
    spdlog::debug("rpc: websocket {} closed", remote_);
  }

  void start(http::request<http::string_body> upgrade) {
    state_->track(this, weak_from_this());
    beast::get_lowest_layer(ws_).expires_never();  // the websocket timeouts take over
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "infergrid-rpc");
    }));
    // Size is enforced by do_read() so that an oversized message gets a
    // JSON-RPC error and a close reason instead of a bare 1009.
    ws_.read_message_max(0);
    ws_.auto_fragment(false);  // one frame per message: fewer writes for large replies
    ws_.async_accept(upgrade, [self = shared_from_this()](error_code ec) {
      self->guarded([&] { self->on_accept(ec); });
    });
  }

  Push push_notification(Outbound message) override {
    std::lock_guard lock(mu_);
    if (closing_) return Push::closed;
    if (queued_notifications_ >= state_->config.max_queued_notifications ||
        queued_bytes_ + message.size() > state_->config.max_queued_bytes) {
      closing_ = true;
      return Push::overflow;
    }
    enqueue_locked(std::move(message));
    return Push::queued;
  }

  void on_dropped() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] { self->guarded([&] { self->drop_slow(); }); });
  }

  MethodResult subscribe(const std::string& topic, const json& filter) override {
    return state_->registry.add(shared_from_this(), topic, filter);
  }
  bool unsubscribe(const std::string& id) override { return state_->registry.remove(this, id); }

  void shutdown() override {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      self->guarded([&] { self->request_close({websocket::close_code::going_away, "server stopping"}, kStopGrace); });
    });
  }

 private:
  // Every completion handler runs through here: an exception (out of memory while building
  // a reply, say) closes this connection and is logged; it never reaches the I/O thread.
  template <typename F>
  void guarded(F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      spdlog::warn("rpc: websocket {} failed: {}", remote_, e.what());
      try {
        state_->registry.remove_all(this);
      } catch (...) {
      }
      {
        std::lock_guard lock(mu_);
        closing_ = true;
        close_requested_ = true;
      }
      stop_reading_ = true;
      error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
    }
  }

  void on_accept(error_code ec) {
    if (ec) {
      spdlog::debug("rpc: websocket handshake from {} failed: {}", remote_, ec.message());
      return;
    }
    spdlog::debug("rpc: websocket {} open", remote_);
    accepted_ = true;
    if (close_requested_now()) return start_close_if_idle();
    arm_idle_timer();
    do_read();
  }

  // A connection that holds no subscription and sends nothing for idle_timeout_ms is closed:
  // otherwise clients that merely answer pings could hold every connection slot for ever.
  void arm_idle_timer() {
    idle_timer_.expires_after(std::chrono::milliseconds(state_->config.idle_timeout_ms));
    idle_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec) return;  // re-armed or cancelled
      self->guarded([&] { self->on_idle(); });
    });
  }

  void on_idle() {
    if (stop_reading_) return;
    if (state_->registry.count_of(this) > 0 || pending_replies() > 0) return arm_idle_timer();
    state_->idle_closed.fetch_add(1);
    spdlog::debug("rpc: websocket {} idle for {} ms; closing", remote_, state_->config.idle_timeout_ms);
    request_close({websocket::close_code::going_away, "idle timeout"}, kStopGrace);
  }

  void do_read() {
    if (reading_ || stop_reading_) return;
    size_t limit = state_->config.max_message_bytes + 1 - rbuf_.size();
    reading_ = true;
    ws_.async_read_some(rbuf_, limit, [self = shared_from_this()](error_code ec, size_t) {
      self->guarded([&] { self->on_read(ec); });
    });
  }

  void on_read(error_code ec) {
    reading_ = false;
    if (ec) return on_read_error(ec);
    if (stop_reading_) return;  // closing: whatever arrived now goes unanswered
    if (rbuf_.size() > state_->config.max_message_bytes) return reject_oversize();
    if (!ws_.is_message_done()) return do_read();

    auto data = rbuf_.data();
    std::string_view text(static_cast<const char*>(data.data()), data.size());
    std::optional<std::string> reply = state_->dispatcher.handle(text, this);
    rbuf_.consume(rbuf_.size());
    rbuf_.shrink_to_fit();  // a 4 MiB message must not pin 4 MiB for the connection's life
    arm_idle_timer();
    if (reply) enqueue_reply(std::move(*reply));
    if (!may_read()) return;  // on_write() resumes reading
    do_read();
  }

  void on_read_error(error_code ec) {
    stop_reading_ = true;
    idle_timer_.cancel();
    state_->registry.remove_all(this);
    if (ec == websocket::error::closed) {
      spdlog::debug("rpc: websocket {} closed by peer", remote_);
    } else if (ec != net::error::operation_aborted) {
      spdlog::debug("rpc: websocket {} read failed: {}", remote_, ec.message());
    }
    std::lock_guard lock(mu_);
    closing_ = true;
  }

  void reject_oversize() {
    const auto limit = std::to_string(state_->config.max_message_bytes);
    spdlog::info("rpc: websocket {} sent a message over {} bytes; closing", remote_, limit);
    enqueue_reply(error_reply_text({kLimitExceeded, "message too large (limit " + limit + " bytes)"}));
    request_close({websocket::close_code::too_big, "message too big (limit " + limit + " bytes)"},
                  kOversizeGrace);
  }

  void drop_slow() {
    const auto limit = std::to_string(state_->config.max_queued_notifications);
    spdlog::info("rpc: dropping slow subscriber {}: more than {} notifications queued", remote_,
                 limit);
    {
      std::lock_guard lock(mu_);
      // Keep only the message being written (its buffers are in use).
      while (queue_.size() > (writing_ ? 1u : 0u)) queue_.pop_back();
      recount_locked();
    }
    request_close({websocket::close_code::policy_error,
                   "slow subscriber: more than " + limit + " notifications queued"},
                  kDropGrace);
  }

  // Stops reading, lets queued messages go out, then sends the close frame.
  // The socket is closed outright if all that takes longer than `grace`.
  void request_close(CloseRequest request, std::chrono::steady_clock::duration grace) {
    stop_reading_ = true;
    bool close_now = false;
    {
      std::lock_guard lock(mu_);
      if (close_requested_) return;
      close_requested_ = true;
      closing_ = true;
      pending_close_ = std::move(request);
      close_now = !writing_;
    }
    idle_timer_.cancel();
    close_timer_.expires_after(grace);
    close_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->force_close();
    });
    if (close_now) start_close();
  }

  bool close_requested_now() {
    std::lock_guard lock(mu_);
    return close_requested_;
  }
  void start_close_if_idle() {
    std::lock_guard lock(mu_);
    if (!writing_) start_close();
  }

  // Caller holds mu_ or is the only one touching the queue.
  void start_close() {
    if (!pending_close_) return;
    if (!accepted_) return;  // on_accept() closes once the handshake is done
    websocket::close_reason reason(pending_close_->code, pending_close_->reason);
    pending_close_.reset();
    ws_.async_close(reason, [self = shared_from_this()](error_code ec) {
      self->close_timer_.cancel();
      self->idle_timer_.cancel();
      if (ec && ec != net::error::operation_aborted) {
        spdlog::debug("rpc: websocket {} close: {}", self->remote_, ec.message());
      }
      error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
    });
  }

  void force_close() {
    spdlog::debug("rpc: websocket {} did not close in time; closing the socket", remote_);
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  void enqueue_reply(std::string text) {
    std::lock_guard lock(mu_);
    if (close_requested_) return;
    Outbound out;
    out.head = std::move(text);
    enqueue_locked(std::move(out));
  }

  void enqueue_locked(Outbound message) {
    (message.notification ? queued_notifications_ : queued_replies_)++;
    queued_bytes_ += message.size();
    queue_.push_back(std::move(message));
    if (!writing_) {
      writing_ = true;
      net::post(ws_.get_executor(), [self = shared_from_this()] { self->guarded([&] { self->do_write(); }); });
    }
  }

  void do_write() {
    std::array<net::const_buffer, 3> buffers;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) {
        writing_ = false;
        if (close_requested_) start_close();
        return;
      }
      const Outbound& front = queue_.front();  // deque keeps it in place while we push behind it
      buffers = {net::buffer(front.head),
                 front.body ? net::buffer(*front.body) : net::const_buffer(),
                 net::buffer(front.tail)};
    }
    ws_.text(true);
    ws_.async_write(buffers, [self = shared_from_this()](error_code ec, size_t) {
      self->guarded([&] { self->on_write(ec); });
    });
  }

  void on_write(error_code ec) {
    {
      std::lock_guard lock(mu_);
      if (!queue_.empty()) {
        (queue_.front().notification ? queued_notifications_ : queued_replies_)--;
        queued_bytes_ -= queue_.front().size();
        queue_.pop_front();
      }
      if (ec) {
        closing_ = true;
        close_requested_ = true;
        queue_.clear();
        recount_locked();
        writing_ = false;
      }
    }
    if (ec) {
      if (ec != net::error::operation_aborted) {
        spdlog::debug("rpc: websocket {} write failed: {}", remote_, ec.message());
      }
      state_->registry.remove_all(this);
      close_timer_.cancel();
      idle_timer_.cancel();
      error_code ignored;
      beast::get_lowest_layer(ws_).socket().close(ignored);
      return;
    }
    if (!reading_ && !stop_reading_ && may_read()) do_read();
    do_write();
  }

  size_t pending_replies() {
    std::lock_guard lock(mu_);
    return queued_replies_;
  }

  // Whether another request may be read: not while too many replies, or too many bytes,
  // wait to be written to a client that does not read them.
  bool may_read() {
    std::lock_guard lock(mu_);
    return queued_replies_ <= kMaxPendingReplies && queued_bytes_ < state_->config.max_queued_bytes;
  }

  void recount_locked() {
    queued_notifications_ = queued_replies_ = 0;
    queued_bytes_ = 0;
    for (const auto& m : queue_) {
      (m.notification ? queued_notifications_ : queued_replies_)++;
      queued_bytes_ += m.size();
    }
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<ServerState> state_;
  ConnectionSlot slot_;
  net::steady_timer close_timer_;
  net::steady_timer idle_timer_;
  std::string remote_;
  beast::flat_buffer rbuf_;
  bool reading_ = false;       // strand only
  bool stop_reading_ = false;  // strand only
  bool accepted_ = false;      // strand only: the WebSocket handshake completed
  std::optional<CloseRequest> pending_close_;

  std::mutex mu_;  // guards everything below
  std::deque<Outbound> queue_;
  size_t queued_notifications_ = 0;
  size_t queued_replies_ = 0;
  size_t queued_bytes_ = 0;        // of everything in queue_
  bool writing_ = false;           // a write is in flight or scheduled
  bool closing_ = false;           // no more notifications accepted
  bool close_requested_ = false;   // close frame goes out once the queue drains
};

}  // namespace

void run_ws_session(beast::tcp_stream stream, http::request<http::string_body> upgrade,
                    std::shared_ptr<ServerState> state, ConnectionSlot slot) {
  auto session = std::make_shared<WsSession>(std::move(stream), std::move(state), std::move(slot));
  session->start(std::move(upgrade));
}

}  // namespace ig::rpc::detail
