// One TLS connection to a peer: handshake and identity check, the hello exchange, the read loop
// (frame decoding, rate limit, delivery), the send queues and their writer, keep-alive and
// timeouts. All socket work runs on the connection's strand; send() and close() may be called
// from any thread.
//
// Life of a connection: TLS handshake (the verify callback admits or refuses the peer's
// certificate) -> both sides send a hello (protocol version, network name) -> on the peer's hello
// the Core registers the connection (or refuses it as a duplicate) -> application frames flow ->
// close, for any reason, exactly once, reported to the Core.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>

#include "p2p/detail/core.hpp"

namespace ig::p2p::detail {

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  enum class SendResult { queued, closed, unknown_channel, too_large, dropped_message, dropped_peer };

  // `socket`'s executor must be a strand of the Core's io_context.
  Conn(Core& core, tcp::socket socket, bool inbound, std::optional<NodeId> expected, std::string address);
  ~Conn();

  void start();
  SendResult send(uint8_t channel, Payload payload);
  void close(std::string why);

  bool inbound() const { return inbound_; }
  const std::optional<NodeId>& expected() const { return expected_; }
  const std::string& address() const { return address_; }
  // Valid once the TLS handshake has identified the peer (always so by register_conn()).
  const NodeId& peer_id() const { return peer_id_; }
  PeerInfo info(int score) const;

  // Kept by the Core under its mutex.
  bool registered = false;
  bool pending = false;  // counted among the Core's handshaking inbound connections
  Clock::time_point registered_at{};

 private:
  template <typename F>
  void guarded(F&& f);
  void do_start();
  bool verify(bool preverified, ssl::verify_context& ctx);
  void on_handshake(error_code ec);
  void do_read();
  void on_read(error_code ec, size_t n);
  void on_frame(Frame& frame);
  void on_control(std::vector<uint8_t>& payload);
  void violation(const std::string& why, int penalty);
  bool push_control(const std::vector<uint8_t>& payload);
  void schedule_pump();
  void pump();
  void start_write(bool staged);
  void on_write(error_code ec, size_t n);
  void arm_tick();
  void on_tick();
  void do_close(const std::string& why);

  Core& core_;
  ssl::stream<tcp::socket> stream_;
  const bool inbound_;
  const std::optional<NodeId> expected_;
  const std::string address_;
  const Clock::time_point created_;
  NodeId peer_id_{};
  std::string refusal_;  // why the verify callback refused the peer, for the log

  // Strand-only state.
  bool handshake_done_ = false, hello_received_ = false, up_ = false, closed_ = false;
  bool reading_ = false, writing_ = false;
  FrameDecoder decoder_;
  std::vector<uint8_t> rbuf_;
  std::vector<Frame> frames_;
  std::optional<TokenBucket> bucket_;
  net::steady_timer tick_, throttle_;
  Clock::duration tick_period_;
  Clock::time_point last_recv_, write_started_, ping_sent_;
  bool awaiting_pong_ = false;
  uint64_t ping_nonce_ = 0;
  std::vector<uint8_t> staging_;  // frames of one write, copied together (one TLS record each 16 KiB)
  Payload big_;                   // a large payload written after the staged bytes, not copied
  size_t big_offset_ = 0;         // how much of big_ has been handed to writes

  // Shared with send() callers.
  mutable std::mutex mu_;
  SendQueues queues_;
  std::atomic<bool> closing_{false}, pump_scheduled_{false};
  std::atomic<uint64_t> bytes_in_{0}, bytes_out_{0}, messages_in_{0}, messages_out_{0};
  std::atomic<int64_t> since_ns_{0};
};

}  // namespace ig::p2p::detail
