// The network's shared state: configuration, TLS context, I/O threads, who may connect
// (allow-list, scores, bans), the table of connected peers, the listener and the persistent
// dialer. Connections (conn.hpp) call into it; Network (network.cpp) is its public face.
//
// Locking: `mu_` guards every table here and is never held while calling the application.
// `events_mu_` serializes peer up/down decisions with their on_peer calls, so that the
// application sees them in the order they were decided; it is taken before `mu_`.
//
// Lifetime: handlers and connections refer to the Core by plain pointer. The Core outlives them:
// its io_context is its first member, destroyed last, after stop() joined the threads; pending
// handlers (and the connections they hold) are destroyed with it, without running.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "p2p/detail/limits.hpp"
#include "p2p/detail/tls.hpp"
#include "p2p/frame.hpp"
#include "p2p/network.hpp"

namespace ig::p2p::detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

class Conn;

struct Counters {
  std::atomic<uint64_t> dials{0}, dial_failures{0}, accepted{0}, refused{0}, handshake_failures{0},
      duplicates_suppressed{0}, dropped_slow{0}, bad_frames{0}, bans{0};
};

class Core {
 public:
  Core(NetworkConfig config, NodeKey key, std::unique_ptr<ssl::context> tls);
  ~Core();

  // ---- fixed after create ----
  net::io_context& ioc() { return *ioc_; }
  ssl::context& tls() { return *tls_; }
  const NetworkConfig& config() const { return config_; }
  const NodeId& self() const { return key_.id(); }
  const ChannelLimits& limits() const { return limits_; }
  Counters& counters() { return counters_; }
  Network::MessageHandler message_handler;  // set before start()
  Network::PeerHandler peer_handler;

  // ---- lifecycle ----
  ig::Status start();
  void stop();
  bool stopping() const { return stopping_.load(); }
  uint16_t listen_port() const { return listen_port_.load(); }

  // ---- policy ----
  // Why `id` may not connect now (empty when it may). `expected` is the id a dialer dialed.
  std::string refusal(const NodeId& id, const std::optional<NodeId>& expected);
  void set_allowed(std::set<NodeId> ids);
  void penalize(const NodeId& id, int penalty, const std::string& why);
  bool banned(const NodeId& id);
  int score(const NodeId& id);

  // ---- peers ----
  // A connection finished its handshake and hello. False: refused (it is being closed).
  bool register_conn(const std::shared_ptr<Conn>& conn);
  // A connection closed (called once, from its strand).
  void conn_closed(const std::shared_ptr<Conn>& conn);
  std::shared_ptr<Conn> peer(const NodeId& id);
  std::vector<std::shared_ptr<Conn>> connected();
  // First time this payload is seen on a deduplicating channel (always true on the others).
  bool first_sight(uint8_t channel, std::span<const uint8_t> payload);
  void mark_seen(uint8_t channel, std::span<const uint8_t> payload);
  void deliver(const NodeId& from, uint8_t channel, std::vector<uint8_t>&& payload);

  // ---- persistent peers ----
  void set_persistent(std::vector<PeerAddress> peers);

  uint64_t random_u64();

 private:
  struct Persistent {
    PeerAddress address;
    enum class State { idle, scheduled, dialing } state = State::idle;
    unsigned attempts = 0;
    std::unique_ptr<net::steady_timer> timer;
    bool removed = false;
  };
  struct DialOp;

  std::string refusal_locked(const NodeId& id, const std::optional<NodeId>& expected);

  void do_accept();
  void on_accept(error_code ec, tcp::socket socket);
  void schedule_dial_locked(const std::shared_ptr<Persistent>& p, Clock::duration delay);
  void on_dial_timer(const std::shared_ptr<Persistent>& p);
  void dial(const std::shared_ptr<Persistent>& p);
  void dial_failed(const std::shared_ptr<Persistent>& p, const std::string& why);
  void start_persistent_locked(const PeerAddress& a);
  Clock::duration backoff_locked(unsigned attempts);
  bool keep_new_locked(const Conn& existing, const Conn& fresh, Clock::time_point now) const;

  // First member: destroyed last (see the lifetime note above).
  std::unique_ptr<net::io_context> ioc_;
  const NetworkConfig config_;
  const NodeKey key_;
  std::unique_ptr<ssl::context> tls_;
  ChannelLimits limits_{};
  std::array<std::unique_ptr<DedupCache>, 256> dedup_;
  Counters counters_;

  std::mutex start_mu_;
  bool started_ = false, stopped_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<uint16_t> listen_port_{0};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::unique_ptr<tcp::acceptor> acceptor_;

  std::mutex events_mu_;
  mutable std::mutex mu_;
  std::set<NodeId> allowed_;
  ScoreBook scores_;
  std::unordered_map<Conn*, std::shared_ptr<Conn>> conns_;  // every open connection
  std::unordered_map<NodeId, std::shared_ptr<Conn>> peers_; // the one registered per peer
  size_t pending_ = 0;                                      // inbound, still handshaking
  std::map<std::string, size_t> pending_by_ip_;
  std::map<NodeId, std::shared_ptr<Persistent>> persistent_;
  std::vector<PeerAddress> persistent_list_;  // before start(): what start() dials
  bool dialing_ = false;                      // start() has begun dialing persistent_list_
  std::mt19937_64 rng_;
};

}  // namespace ig::p2p::detail
