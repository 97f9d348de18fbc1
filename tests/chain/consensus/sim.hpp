// A deterministic in-process network of consensus replicas: simulated time, an event queue,
// messages passed directly between Replicas, with controllable latency, drops, partitions,
// injected (byzantine) messages, crashes and restarts from WAL + signer state.
//
// Each node plays its own driver the way the real node does: it validates proposals with a
// validity oracle, builds its block when asked (need_block), schedules timeouts, records
// decisions in its "ledger" (which survives crashes), waits the commit timeout and starts the
// next height. Two pieces of the real network are modelled coarsely:
//   - gossip: every Options::gossip_interval_ms a node re-sends every proposal and vote it holds
//     for its current height, and the votes of the previous one (so lost messages and partitions
//     heal, and equivocations spread);
//   - block sync: a node that receives a message of a later height adopts, from any node that
//     has one, the decided block and commit of its own height (checked with verify_commit), when
//     Options::catch_up is set.
// Ties in time are broken by insertion order, so a run is a function of its inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <variant>
#include <vector>

#include "chain/consensus/replica.hpp"

namespace ig::chain::bft::sim {

using Message = std::variant<Proposal, Vote>;

// Short timeouts for tests (ms of simulated time).
TimeoutConfig fast_timeouts();

struct Options {
  std::string chain_id = "ig-sim";
  std::vector<uint64_t> powers{1, 1, 1, 1};
  TimeoutConfig timeouts = fast_timeouts();
  uint64_t latency_ms = 5;
  std::string dir;             // non-empty: each node keeps a FileSigner state and a WAL under dir/node<i>/
  bool fsync = false;          // real fsyncs in dir mode (the crash tests model power loss themselves)
  uint64_t gossip_interval_ms = 100;  // 0: no gossip, only the first broadcast
  bool catch_up = true;
  size_t max_block_bytes = kMaxBlockBytes;
  uint64_t restart_delay_ms = 20;  // after a crash injected through a hook
};

struct Violation {
  std::string what;
};

// One signature a node's signer handed out (whether or not the message then left the node).
struct SignRecord {
  uint64_t height = 0;
  uint32_t round = 0;
  SignStep step = SignStep::kNone;
  Hash sign_hash{};
  Signature signature{};
};

class Simulation {
 public:
  using Filter = std::function<bool(size_t from, size_t to, const Message& m)>;  // true: deliver
  using Latency = std::function<uint64_t(size_t from, size_t to)>;
  using Builder = std::function<Block(size_t node, uint64_t height, uint32_t round)>;
  using Validity = std::function<bool(size_t node, const Block& block)>;
  // Called after each of a node's durable writes (WAL sync, signer state); false = crash there.
  using Hook = std::function<bool(size_t node, std::string_view point)>;

  explicit Simulation(Options options);
  ~Simulation();

  size_t size() const { return nodes_.size(); }
  const std::string& chain_id() const { return options_.chain_id; }
  const std::vector<Validator>& validators() const { return validators_; }
  const SecretKey& key(size_t i) const;
  uint64_t now() const { return now_; }

  void start();  // every node starts height 1 at the current time
  // Processes events in time order until done() holds (checked after each event) or simulated
  // time passes max_time_ms; returns done().
  bool run_until(const std::function<bool()>& done, uint64_t max_time_ms);
  bool run_until_height(uint64_t height, uint64_t max_time_ms);  // every live node decided `height`
  void run_for(uint64_t ms);

  // Network.
  void partition(std::vector<std::vector<size_t>> groups);
  void heal();
  void set_filter(Filter f) { filter_ = std::move(f); }
  void set_latency(Latency f) { latency_ = std::move(f); }
  // Delivers `m` to node `to` after delay_ms, as if sent by `from` (byzantine messages).
  void inject(size_t to, const Message& m, uint64_t delay_ms = 0);

  // Application.
  void set_builder(Builder b) { builder_ = std::move(b); }
  void set_validity(Validity v) { validity_ = std::move(v); }
  Block default_block(size_t node, uint64_t height) const;

  // Node lifecycle.
  void set_hook(Hook h) { hook_ = std::move(h); }
  void crash(size_t i);
  Status restart(size_t i);
  bool alive(size_t i) const;
  std::string wal_path(size_t i) const;
  std::string signer_path(size_t i) const;

  // Observations.
  const Replica& replica(size_t i) const;
  const Tendermint& core(size_t i) const { return replica(i).core(); }
  const std::map<uint64_t, Decision>& decisions(size_t i) const;
  const std::vector<Evidence>& evidence(size_t i) const;
  const std::vector<Message>& sent(size_t i) const;  // every message node i signed and sent, all lives
  const std::vector<SignRecord>& signatures(size_t i) const;  // everything its signer signed, all lives
  size_t crashes() const { return crashes_; }
  // Agreement on every height, every commit verifies, and no node ever signed (let alone sent)
  // two different messages for one (height, round, step). Empty when all holds.
  std::vector<Violation> check_safety() const;

 private:
  struct Node;
  struct Event {
    uint64_t time = 0;
    uint64_t seq = 0;
    enum Kind { kDeliver, kTimeout, kRestart, kGossip } kind = kDeliver;
    size_t node = 0;
    uint64_t life = 0;  // the node's incarnation a timeout or gossip tick belongs to
    Message msg;
    TimeoutRequest timeout;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const { return a.time != b.time ? a.time > b.time : a.seq > b.seq; }
  };

  void push(Event e);
  void step(const Event& e);
  void handle(size_t i, Output out);
  void broadcast(size_t from, const Message& m);
  void deliver(size_t to, const Message& m);
  void catch_up(size_t i);
  void relay(size_t i);
  Status open_node(size_t i);
  bool connected(size_t a, size_t b) const;

  Options options_;
  std::vector<Validator> validators_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  uint64_t now_ = 0;
  uint64_t seq_ = 0;
  size_t crashes_ = 0;
  std::vector<int> group_;  // partition group per node; empty = fully connected
  Filter filter_;
  Latency latency_;
  Builder builder_;
  Validity validity_;
  Hook hook_;
};

}  // namespace ig::chain::bft::sim
