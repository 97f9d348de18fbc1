// The P2P network: numbered channels carrying byte messages between authenticated peers.
// It knows nothing of blocks; reactors (consensus, mempool, block sync) own channels and the
// meaning of their bytes. docs/p2p.md describes the whole design; in short:
//
//   auto key = NodeKey::load_or_create(home + "/keys/node_key.pem");
//   NetworkConfig cfg;  cfg.network = chain_id;  cfg.persistent = {...};  // ID@host:port
//   cfg.channels = default_channels();
//   auto net = Network::create(cfg, *key);                  // checks the config
//   (*net)->set_allowed(validator_node_ids);                  // who may connect, at any time
//   (*net)->on_message([](const NodeId& from, uint8_t ch, std::vector<uint8_t> bytes) { ... });
//   (*net)->on_peer([](const NodeId& id, bool up) { ... });
//   (*net)->start();
//   (*net)->broadcast(kChannelMempool, tx_bytes);
//
// Threading: callbacks run on the network's I/O threads (NetworkConfig::threads). Messages of
// one connection are delivered in order, one at a time; different peers' messages may be
// delivered concurrently. on_peer(id, true) comes before any message of that connection and
// on_peer(id, false) after its last one; on_peer calls are serialized. A callback may call any
// method but stop() and the setters of callbacks; it should return quickly, because while it
// runs that peer's connection is not read (which is how a slow reactor pushes back on a peer).
// All methods are thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "p2p/node_id.hpp"
#include "p2p/node_key.hpp"

namespace ig::p2p {

namespace detail {
class Core;
}

// The channels of the node's reactors (docs/p2p.md, "Channels"); CometBFT's numbering.
constexpr uint8_t kChannelConsensus = 0x20;
constexpr uint8_t kChannelMempool = 0x30;
constexpr uint8_t kChannelBlockSync = 0x40;

struct ChannelSpec {
  uint8_t id = 0;                        // 1..255 (0 is the control channel)
  int priority = 1;                      // 1..100; a larger share of the link when queues compete
  size_t max_message_bytes = 1u << 20;   // larger frames close the connection and score the peer down
  size_t max_queue_bytes = 8u << 20;     // per peer; overflow drops the peer (or the message, below)
  size_t max_queue_messages = 4096;      // per peer, likewise
  bool drop_message_on_overflow = false; // true: a full queue refuses the message but keeps the peer
  size_t dedup_entries = 0;              // > 0: remember this many message hashes; a message seen
                                         // before (received, sent or broadcast) is not delivered again
};

// Consensus 0x20 (priority 10), mempool 0x30 (priority 5, dedup, drop on overflow) and block sync
// 0x40 (priority 3), with caps that fit a block of `max_block_bytes` (docs/p2p.md lists them).
std::vector<ChannelSpec> default_channels(size_t max_block_bytes = 8u << 20, size_t max_tx_bytes = 256u << 10);

struct NetworkConfig {
  std::string listen = "127.0.0.1:26656";  // host:port (port 0: any free port); "" = no listener
  std::string network = "infergrid";        // both sides of a connection must name the same network
  std::vector<PeerAddress> persistent;      // dialed at start and redialed for ever, with backoff
  std::vector<ChannelSpec> channels;        // the application's channels; at least one
  unsigned threads = 2;                     // I/O threads

  size_t max_inbound = 40;                  // authenticated inbound peers
  size_t max_pending = 32;                  // connections still in the TLS handshake
  size_t max_pending_per_ip = 4;            // of those, from one address
  uint64_t recv_rate_bytes_per_s = 16u << 20;  // per peer; reading pauses above it; 0 = unlimited
  uint64_t recv_burst_bytes = 4u << 20;     // token bucket depth

  std::chrono::milliseconds dial_timeout{3000};       // name lookup and TCP connect
  std::chrono::milliseconds handshake_timeout{10000}; // TLS handshake and hello exchange
  std::chrono::milliseconds ping_interval{10000};     // a ping when this long since the last
  std::chrono::milliseconds pong_timeout{15000};      // no pong and no byte this long: close
  std::chrono::milliseconds write_timeout{20000};     // a write (at most 1 MiB + 64 KiB) pending this long: close
  std::chrono::milliseconds redial_initial{500};      // first persistent redial delay
  std::chrono::milliseconds redial_max{30000};        // backoff cap (plus up to 25% jitter)
  std::chrono::milliseconds stable_after{10000};      // a connection up this long resets the backoff

  // Scores start at 0 and recover toward it; at or below -ban_threshold the peer is banned.
  int ban_threshold = 100;
  int penalty_bad_frame = 40;               // oversized frame, unknown channel
  int penalty_protocol = 40;                // bad control message, data before hello, ...
  double score_recovery_per_minute = 10;
  std::chrono::milliseconds ban_duration{10 * 60 * 1000};
};

struct PeerInfo {
  NodeId id;
  std::string address;   // remote ip:port of the connection
  bool inbound = false;
  uint64_t bytes_in = 0;   // payload and framing bytes above TLS
  uint64_t bytes_out = 0;
  uint64_t messages_in = 0;
  uint64_t messages_out = 0;
  size_t queued_bytes = 0;  // waiting in this peer's send queues now
  int score = 0;
  std::chrono::steady_clock::time_point since;
};

struct NetworkStats {
  uint64_t dials = 0;                 // outbound connection attempts
  uint64_t dial_failures = 0;         // attempts that never brought the peer up
  uint64_t accepted = 0;              // inbound TCP connections taken for a handshake
  uint64_t refused = 0;               // inbound connections closed at once (limits, stopping)
  uint64_t handshake_failures = 0;    // TLS or hello failures, both directions
  uint64_t duplicates_suppressed = 0; // received messages not delivered because seen before
  uint64_t dropped_slow = 0;          // peers dropped for a full send queue or a stuck write
  uint64_t bad_frames = 0;            // oversized, unknown-channel or bad control frames
  uint64_t bans = 0;
};

class Network {
 public:
  using MessageHandler = std::function<void(const NodeId& from, uint8_t channel, std::vector<uint8_t> payload)>;
  using PeerHandler = std::function<void(const NodeId& id, bool up)>;

  // "p2p.config" when the configuration is inconsistent; "p2p.tls" when TLS cannot be set up.
  static ig::Expected<std::unique_ptr<Network>> create(NetworkConfig config, NodeKey key);
  ~Network();  // stop()
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  const NodeId& id() const;

  // Who may connect (both directions): a peer whose node id is not here is refused during the TLS
  // handshake. Replacing the set disconnects connected peers that are no longer in it.
  void set_allowed(std::set<NodeId> ids);
  // Replaces the persistent peers: new ones are dialed, removed ones no longer redialed.
  void set_persistent(std::vector<PeerAddress> peers);

  // Set before start().
  void on_message(MessageHandler handler);
  void on_peer(PeerHandler handler);

  // Listens and dials. "p2p.bind" when the listen address cannot be bound.
  ig::Status start();
  // Closes every connection and stops the threads; no callback runs after it returns.
  void stop();

  // Queues a message to one peer. False if the peer is not connected, the channel unknown, the
  // message larger than the channel's cap, or the peer's queue full (which drops the peer unless
  // the channel drops messages instead).
  bool send(const NodeId& peer, uint8_t channel, std::vector<uint8_t> payload);
  // Queues a message to every connected peer but `except` (the peer it came from); returns how
  // many took it. The payload is shared, not copied per peer.
  size_t broadcast(uint8_t channel, std::vector<uint8_t> payload, std::optional<NodeId> except = {});

  // Lowers a peer's score by `penalty` (the application found its message invalid); at or below
  // -ban_threshold the peer is disconnected and banned for ban_duration.
  void report(const NodeId& peer, int penalty, std::string why);
  bool banned(const NodeId& peer) const;
  int score(const NodeId& peer) const;

  std::vector<PeerInfo> peers() const;
  NetworkStats stats() const;
  uint16_t listen_port() const;  // after start(); 0 without a listener

 private:
  explicit Network(std::unique_ptr<detail::Core> core);
  std::unique_ptr<detail::Core> core_;
};

}  // namespace ig::p2p
