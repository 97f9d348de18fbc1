#include "p2p/detail/conn.hpp"

#include <algorithm>
#include <cstring>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

namespace ig::p2p::detail {
namespace {

constexpr size_t kReadBufferBytes = 32 * 1024;
// Payloads below this are copied into the write batch; larger ones are written from the shared
// buffer directly. A batch stops growing at kBatchBytes so that a write completes quickly and
// the scheduler gets to choose again.
constexpr size_t kInlinePayloadBytes = 16 * 1024;
constexpr size_t kBatchBytes = 64 * 1024;
constexpr size_t kLargeSliceBytes = 1u << 20;

Clock::duration tick_period(const NetworkConfig& c) {
  auto shortest = std::min({c.handshake_timeout, c.ping_interval, c.pong_timeout, c.write_timeout});
  auto period = std::chrono::duration_cast<Clock::duration>(shortest) / 4;
  return std::clamp<Clock::duration>(period, std::chrono::milliseconds(5), std::chrono::seconds(1));
}

std::string ms(Clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

}  // namespace

Conn::Conn(Core& core, tcp::socket socket, bool inbound, std::optional<NodeId> expected, std::string address)
    : core_(core),
      stream_(std::move(socket), core.tls()),
      inbound_(inbound),
      expected_(expected),
      address_(std::move(address)),
      created_(Clock::now()),
      decoder_(core.limits()),
      tick_(stream_.get_executor()),
      throttle_(stream_.get_executor()),
      tick_period_(tick_period(core.config())),
      queues_(core.config().channels) {}

Conn::~Conn() = default;

// Every completion handler runs through here: an exception (out of memory, a throwing callback
// that escaped deliver()) closes this connection and is logged; it never reaches the I/O thread.
template <typename F>
void Conn::guarded(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    spdlog::warn("p2p: connection {} failed: {}", address_, e.what());
    try {
      do_close(std::string("internal error: ") + e.what());
    } catch (...) {
    }
  } catch (...) {
    try {
      do_close("internal error");
    } catch (...) {
    }
  }
}

void Conn::start() {
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->guarded([&] { self->do_start(); }); });
}

void Conn::do_start() {
  if (closing_) return do_close("closed before the handshake");
  error_code ignored;
  stream_.next_layer().set_option(tcp::no_delay(true), ignored);  // frames are batched by us already
  last_recv_ = created_;
  arm_tick();
  stream_.set_verify_callback([this](bool preverified, ssl::verify_context& ctx) { return verify(preverified, ctx); });
  stream_.async_handshake(inbound_ ? ssl::stream_base::server : ssl::stream_base::client,
                          [self = shared_from_this()](error_code ec) { self->guarded([&] { self->on_handshake(ec); }); });
}

// Called by OpenSSL during the handshake for each certificate of the peer's chain, with the
// chain's own verdict `preverified`. That verdict is about CAs, which we do not use (every
// certificate is self-signed, so it is always "self-signed certificate"); our rule replaces it.
bool Conn::verify(bool, ssl::verify_context& vc) {
  try {
    X509_STORE_CTX* ctx = vc.native_handle();
    if (X509_STORE_CTX_get_error_depth(ctx) != 0) {
      refusal_ = "presented a certificate chain; only a single self-signed certificate is accepted";
      return false;
    }
    auto id = node_id_of_certificate(X509_STORE_CTX_get_current_cert(ctx));
    if (!id) {
      refusal_ = id.error().message;
      return false;
    }
    peer_id_ = *id;
    refusal_ = core_.refusal(*id, expected_);
    return refusal_.empty();
  } catch (...) {
    refusal_ = "internal error checking the certificate";
    return false;
  }
}

void Conn::on_handshake(error_code ec) {
  if (closed_) return;
  if (ec) {
    core_.counters().handshake_failures++;
    if (!refusal_.empty()) {
      // We refused the peer's certificate: worth an operator's attention (a missing allow-list
      // entry, a wrong id in a peer address), unlike a scanner that fails the handshake.
      spdlog::info("p2p: refused connection {} {}: {}", inbound_ ? "from" : "to", address_, refusal_);
      return do_close("refused: " + refusal_);
    }
    return do_close("TLS handshake failed: " + ec.message());
  }
  // The verify callback has admitted the peer; check again on the finished session, so that the
  // identity we use is the one TLS authenticated, whatever path the handshake took.
  SSL* ssl = stream_.native_handle();
  if (SSL_version(ssl) != TLS1_3_VERSION) {
    core_.counters().handshake_failures++;
    return do_close("negotiated a TLS version other than 1.3");
  }
  X509* cert = SSL_get1_peer_certificate(ssl);
  auto id = node_id_of_certificate(cert);
  X509_free(cert);
  std::string why = id ? core_.refusal(*id, expected_) : id.error().message;
  if (!why.empty()) {
    core_.counters().handshake_failures++;
    return do_close("refused after the handshake: " + why);
  }
  peer_id_ = *id;
  handshake_done_ = true;
  if (core_.config().recv_rate_bytes_per_s > 0)
    bucket_.emplace(core_.config().recv_rate_bytes_per_s, core_.config().recv_burst_bytes, Clock::now());
  rbuf_.resize(kReadBufferBytes);
  push_control(encode_control(Hello{kProtocolVersion, core_.config().network}));
  do_read();
}

void Conn::do_read() {
  if (closed_ || closing_ || reading_) return;
  if (bucket_) {
    auto wait = bucket_->wait_time(Clock::now());
    if (wait > Clock::duration::zero()) {
      // Over the rate: stop reading for a while. TCP flow control then slows the sender, whose
      // own send queue fills if it keeps pushing (and drops us, if it must).
      throttle_.expires_after(wait);
      throttle_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->guarded([&] { self->do_read(); });
      });
      return;
    }
  }
  reading_ = true;
  stream_.async_read_some(net::buffer(rbuf_), [self = shared_from_this()](error_code ec, size_t n) {
    self->guarded([&] { self->on_read(ec, n); });
  });
}

void Conn::on_read(error_code ec, size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    if (ec == net::error::eof || ec == ssl::error::stream_truncated) return do_close("closed by the peer");
    return do_close("read failed: " + ec.message());
  }
  auto now = Clock::now();
  last_recv_ = now;
  bytes_in_ += n;
  if (bucket_) bucket_->consume(n, now);
  frames_.clear();
  DecodeError err = decoder_.feed(std::span<const uint8_t>(rbuf_.data(), n), frames_);
  for (auto& f : frames_) {
    if (closing_ || closed_) break;
    on_frame(f);
  }
  frames_.clear();
  if (err != DecodeError::none && !closing_ && !closed_) {
    return violation(decoder_.error_text(), core_.config().penalty_bad_frame);
  }
  do_read();
}

void Conn::on_frame(Frame& f) {
  if (f.channel == kControlChannel) return on_control(f.payload);
  if (!up_) return violation("application data before the hello", core_.config().penalty_protocol);
  messages_in_++;
  if (!core_.first_sight(f.channel, f.payload)) {
    core_.counters().duplicates_suppressed++;
    return;
  }
  core_.deliver(peer_id_, f.channel, std::move(f.payload));
}

void Conn::on_control(std::vector<uint8_t>& payload) {
  auto m = decode_control(payload);
  if (!m) return violation(m.error().message, core_.config().penalty_protocol);
  if (auto* hello = std::get_if<Hello>(&*m)) {
    if (hello_received_) return violation("a second hello", core_.config().penalty_protocol);
    hello_received_ = true;
    // A peer of another version or network is misconfigured, not hostile: no penalty.
    if (hello->version != kProtocolVersion)
      return do_close("peer speaks protocol version " + std::to_string(hello->version) + ", we speak " +
                      std::to_string(kProtocolVersion));
    if (hello->network != core_.config().network)
      return do_close("peer is on network '" + hello->network + "', we are on '" + core_.config().network + "'");
    if (!core_.register_conn(shared_from_this())) return;  // refused; the Core closes it
    up_ = true;
    ping_sent_ = Clock::now();
    since_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(ping_sent_.time_since_epoch()).count();
    schedule_pump();  // messages queued by on_peer(up) handlers
    return;
  }
  if (!hello_received_) return violation("control message before the hello", core_.config().penalty_protocol);
  if (auto* ping = std::get_if<Ping>(&*m)) {
    push_control(encode_control(Pong{ping->nonce}));
  } else if (auto* pong = std::get_if<Pong>(&*m)) {
    if (awaiting_pong_ && pong->nonce == ping_nonce_) awaiting_pong_ = false;
  }
}

void Conn::violation(const std::string& why, int penalty) {
  core_.counters().bad_frames++;
  // The score first, so that whoever sees the connection gone also sees its cause counted.
  if (handshake_done_) core_.penalize(peer_id_, penalty, why);
  do_close("protocol violation: " + why);
}

bool Conn::push_control(const std::vector<uint8_t>& payload) {
  SendQueues::Push r;
  {
    std::lock_guard lock(mu_);
    r = queues_.push(kControlChannel, std::make_shared<const std::vector<uint8_t>>(payload));
  }
  if (r != SendQueues::Push::queued) {
    core_.counters().dropped_slow++;
    close("control queue full: the peer does not read");
    return false;
  }
  schedule_pump();
  return true;
}

Conn::SendResult Conn::send(uint8_t channel, Payload payload) {
  if (closing_) return SendResult::closed;
  SendQueues::Push r;
  bool drop_message = false;
  size_t bytes = 0, messages = 0;
  {
    std::lock_guard lock(mu_);
    r = queues_.push(channel, std::move(payload));
    if (r == SendQueues::Push::full) {
      drop_message = queues_.drop_on_overflow(channel);
      bytes = queues_.bytes();
      messages = queues_.messages();
    }
  }
  switch (r) {
    case SendQueues::Push::queued:
      messages_out_++;
      schedule_pump();
      return SendResult::queued;
    case SendQueues::Push::unknown_channel:
      return SendResult::unknown_channel;
    case SendQueues::Push::too_large:
      return SendResult::too_large;
    case SendQueues::Push::full:
      break;
  }
  if (drop_message) return SendResult::dropped_message;
  core_.counters().dropped_slow++;
  close("send queue of channel " + std::to_string(channel) + " full (" + std::to_string(bytes) + " bytes, " +
        std::to_string(messages) + " messages queued): the peer reads too slowly");
  return SendResult::dropped_peer;
}

void Conn::schedule_pump() {
  if (pump_scheduled_.exchange(true)) return;
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->pump_scheduled_ = false;
    self->guarded([&] { self->pump(); });
  });
}

void Conn::pump() {
  if (closed_ || writing_ || !handshake_done_) return;
  if (big_ && big_offset_ < big_->size()) return start_write(false);  // the rest of a large payload
  big_.reset();
  big_offset_ = 0;
  staging_.clear();
  auto now = Clock::now();
  {
    std::lock_guard lock(mu_);
    uint8_t channel = 0;
    Payload p;
    while (staging_.size() < kBatchBytes && queues_.pop(channel, p, now)) {
      auto header = encode_frame_header(channel, static_cast<uint32_t>(p->size()));
      size_t old = staging_.size();
      bool inline_payload = p->size() < kInlinePayloadBytes;
      staging_.resize(old + header.size() + (inline_payload ? p->size() : 0));
      std::memcpy(staging_.data() + old, header.data(), header.size());
      if (!inline_payload) {
        big_ = std::move(p);
        break;
      }
      if (!p->empty()) std::memcpy(staging_.data() + old + header.size(), p->data(), p->size());
    }
  }
  if (staging_.empty()) return;
  start_write(true);
}

// One write: the staged frames (when `staged`) and the next slice of the large payload, if any.
// Slicing makes write_timeout a bound on progress (one slice) rather than on a whole 32 MiB
// block, which a peer reading at its rate limit may take much longer than that to accept.
void Conn::start_write(bool staged) {
  size_t slice = big_ ? std::min(kLargeSliceBytes, big_->size() - big_offset_) : 0;
  std::array<net::const_buffer, 2> buffers{
      staged ? net::buffer(staging_) : net::const_buffer(),
      slice ? net::buffer(big_->data() + big_offset_, slice) : net::const_buffer()};
  big_offset_ += slice;
  writing_ = true;
  write_started_ = Clock::now();
  net::async_write(stream_, buffers, [self = shared_from_this()](error_code ec, size_t n) {
    self->guarded([&] { self->on_write(ec, n); });
  });
}

void Conn::on_write(error_code ec, size_t n) {
  writing_ = false;
  if (closed_) return;
  if (ec) return do_close("write failed: " + ec.message());
  bytes_out_ += n;
  if (big_ && big_offset_ >= big_->size()) big_.reset();
  if (staging_.capacity() > 4 * kBatchBytes) staging_ = {};
  pump();
}

void Conn::arm_tick() {
  tick_.expires_after(tick_period_);
  tick_.async_wait([self = shared_from_this()](error_code ec) {
    if (!ec) self->guarded([&] { self->on_tick(); });
  });
}

void Conn::on_tick() {
  if (closed_) return;
  const auto& c = core_.config();
  auto now = Clock::now();
  if (!up_ && now - created_ >= c.handshake_timeout) {
    core_.counters().handshake_failures++;
    return do_close("handshake not finished within " + ms(c.handshake_timeout));
  }
  if (writing_ && now - write_started_ >= c.write_timeout) {
    core_.counters().dropped_slow++;
    return do_close("a write has been pending for " + ms(c.write_timeout) + ": the peer does not read");
  }
  if (up_) {
    if (awaiting_pong_) {
      // Any byte counts as a sign of life: a pong may be queued behind a large message.
      if (now - std::max(ping_sent_, last_recv_) >= c.pong_timeout)
        return do_close("nothing received for " + ms(c.pong_timeout) + " after a ping");
    } else if (now - ping_sent_ >= c.ping_interval) {
      ping_nonce_ = core_.random_u64();
      awaiting_pong_ = true;
      ping_sent_ = now;
      push_control(encode_control(Ping{ping_nonce_}));
    }
  }
  arm_tick();
}

void Conn::close(std::string why) {
  if (closing_.exchange(true)) return;
  net::post(stream_.get_executor(), [self = shared_from_this(), why = std::move(why)] {
    self->guarded([&] { self->do_close(why); });
  });
}

// The socket is closed without a TLS close_notify: the peers that we drop are often the ones
// that do not read, and waiting for them to take our alert would hold the connection open.
void Conn::do_close(const std::string& why) {
  if (closed_) return;
  closed_ = true;
  closing_ = true;
  error_code ignored;
  tick_.cancel();
  throttle_.cancel();
  stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
  {
    std::lock_guard lock(mu_);
    queues_ = SendQueues(core_.config().channels);  // free the queued messages now
  }
  if (up_) {
    spdlog::info("p2p: peer {} ({} {}) disconnected: {}", peer_id_.short_string(), inbound_ ? "from" : "to",
                 address_, why);
  } else {
    spdlog::debug("p2p: connection {} {} closed: {}", inbound_ ? "from" : "to", address_, why);
  }
  up_ = false;
  core_.conn_closed(shared_from_this());
}

PeerInfo Conn::info(int score) const {
  PeerInfo p;
  p.id = peer_id_;
  p.address = address_;
  p.inbound = inbound_;
  p.bytes_in = bytes_in_;
  p.bytes_out = bytes_out_;
  p.messages_in = messages_in_;
  p.messages_out = messages_out_;
  {
    std::lock_guard lock(mu_);
    p.queued_bytes = queues_.bytes();
  }
  p.score = score;
  p.since = Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(since_ns_.load())));
  return p;
}

}  // namespace ig::p2p::detail
