// The Tendermint engine as the node runs it: the pure core (Replica = state machine + WAL +
// signer) driven by one thread that owns timers, talks to peers through a BftNetwork, validates
// and commits blocks through the Ledger, and catches up by block sync when peers are ahead.
// A single validator is the same engine with one voter. docs/consensus.md §5-6.
//
//   BftEngine engine(ledger, consensus_key, config, network);
//   network.on_message(... engine.on_message(peer, channel, bytes) ...);
//   IG_TRY(engine.start());
//
// The engine knows nothing of sockets: the node implements BftNetwork over p2p/ and feeds
// received bytes to on_message() (from any thread; they are queued to the engine thread).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <variant>

#include "chain/consensus/engine.hpp"
#include "chain/consensus/replica.hpp"
#include "chain/consensus/signer.hpp"
#include "chain/consensus/wal.hpp"

namespace ig::chain::bft {

// The p2p channel ids the engine uses (p2p/network.hpp: kChannelConsensus, kChannelBlockSync).
inline constexpr uint8_t kConsensusChannel = 0x20;
inline constexpr uint8_t kBlockSyncChannel = 0x40;

// What the engine needs from the network. Peers are opaque strings (node ids).
class BftNetwork {
 public:
  virtual ~BftNetwork() = default;
  virtual void broadcast(uint8_t channel, Bytes message) = 0;
  virtual void send(const std::string& peer, uint8_t channel, Bytes message) = 0;
  // A peer sent something invalid: the network lowers its score (and may ban it).
  virtual void report(const std::string& peer, int penalty, const std::string& why) = 0;
};

struct BftConfig {
  TimeoutConfig timeouts;                   // commit_ms also paces blocks (the block time)
  std::string wal_path;                     // validators only
  std::string signer_state_path;            // validators only
  std::chrono::milliseconds gossip_interval{1000};  // re-send own messages and status this often
  size_t sync_window = 32;                  // blocks requested ahead while syncing
  std::chrono::milliseconds sync_retry{3000};  // a block requested this long ago is asked again
  // Peers' messages waiting for the engine thread, at most: beyond either bound (the engine is
  // far behind) a message is dropped, and gossip and block sync send it again. The bytes bound
  // keeps a stalled engine's queue from holding up to 100,000 synced blocks of kMaxBlockBytes.
  size_t max_inbox_messages = 100'000;
  size_t max_inbox_bytes = size_t(256) << 20;
  // Double-sign evidence seen: the node turns it into an Evidence transaction.
  std::function<void(const Evidence&)> on_evidence;
  // TEST ONLY: also sign a conflicting vote for every vote (with the raw key, past the signer's
  // protection), so that tests can show double-signing caught and slashed.
  bool test_double_sign = false;
};

struct BftStatus {
  uint64_t height = 0;  // the height being decided
  uint32_t round = 0;
  std::string step;
  uint64_t head = 0;               // last committed height
  uint64_t best_peer_height = 0;   // highest head a peer announced
  bool syncing = false;
  uint64_t synced_blocks = 0;      // committed by block sync
  uint64_t decided_blocks = 0;     // committed by consensus
  uint64_t dropped_messages = 0;   // peers' messages dropped because the engine's inbox was full
};

class BftEngine final : public ConsensusEngine {
 public:
  BftEngine(Ledger& ledger, std::optional<SecretKey> consensus_key, BftConfig config, BftNetwork& network);
  ~BftEngine() override;

  // Opens the signer state and the WAL (validators), starts the height after the head and the
  // engine thread. Errors from the signer state or the WAL ("bft.*", "wal.*", "signer.*").
  Status start() override;
  void stop() override;

  // Bytes from a peer on one of the engine's channels; any thread.
  void on_message(const std::string& peer, uint8_t channel, ByteView bytes);
  void on_peer(const std::string& peer, bool up);

  BftStatus status() const;

 private:
  struct PeerProposal { std::string peer; Proposal proposal; };
  struct PeerVote { std::string peer; Vote vote; };
  struct SyncBlock { std::string peer; Block block; Commit commit; };
  struct PeerHeight { std::string peer; uint64_t height; };
  struct BlockWanted { std::string peer; uint64_t height; };
  struct PeerGone { std::string peer; };
  using Input = std::variant<PeerProposal, PeerVote, SyncBlock, PeerHeight, BlockWanted, PeerGone>;

  void run();
  void handle(Input& in);
  void hold_for_next_height(Input&& in, const PublicKey& signer, uint32_t round, uint8_t kind);
  void dispatch(Output&& out, const std::string& from = "");
  void enter_height();
  void commit_decision(const Decision& d);
  void apply_synced();
  void request_blocks();
  void gossip();
  void send_vote(const Vote& v);
  Status validate_and_cache(const Block& block);

  Ledger& ledger_;
  std::optional<SecretKey> key_;
  BftConfig config_;
  BftNetwork& network_;
  std::unique_ptr<FileSigner> signer_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<Replica> replica_;

  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Input> inbox_;
  size_t inbox_bytes_ = 0;                // the wire size of the peers' messages in inbox_
  std::atomic<uint64_t> dropped_{0};      // messages refused by a full inbox
  bool stopping_ = false;

  // engine thread only
  std::multimap<std::chrono::steady_clock::time_point, TimeoutRequest> timers_;
  std::map<Hash, chain::Proposal> validated_;  // this height's validated blocks, by hash
  std::vector<Bytes> own_messages_;            // this height's signed messages, re-sent by gossip
  std::map<std::string, uint64_t> peer_heights_;
  std::map<uint64_t, SyncBlock> sync_buffer_;  // blocks fetched ahead, by height
  struct Asked { std::chrono::steady_clock::time_point at; std::string peer; };
  std::map<uint64_t, Asked> requested_;        // blocks asked for: when, and of whom
  // Proposals and votes of the height after the core's, which arrive while this node is still
  // finishing its height (its commit wait, or a decision it reaches a little after its peers);
  // handled when it enters that height instead of waiting for the peers' re-gossip. At most
  // two per (signer, round, kind) of the current set, rounds within the core's window.
  std::vector<Input> next_height_;
  std::map<std::tuple<PublicKey, uint32_t, uint8_t>, int> next_height_count_;
  std::chrono::steady_clock::time_point next_gossip_{};
  uint64_t sync_log_from_ = 0;                          // first height synced since the last log line
  std::chrono::steady_clock::time_point sync_logged_{};

  mutable std::mutex status_mu_;
  BftStatus status_;
};

}  // namespace ig::chain::bft
