// What the node tells operators and the explorer beyond the JSON-RPC views (docs/metrics.md,
// docs/explorer.md): it watches every committed block (Ledger::on_commit) and keeps
//   - counters and histograms for GET /metrics: block interval, proposal-to-commit latency,
//     consensus rounds, transactions, task events, verdicts, slashes, epochs and emission;
//   - a bounded history for the explorer's charts (explorer_history): the last blocks with
//     their time and task counts, and the last Yuma epochs' incentive and dividends per
//     account. The history starts when the node starts (block times are read back from the
//     store for the last blocks; events and epochs of the past are not stored, so those
//     begin with this run).
// Thread-safety: on_block runs on the committing thread; render and history on RPC threads.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "chain/consensus/bft_engine.hpp"
#include "chain/ledger.hpp"
#include "rpc/metrics.hpp"
#include "rpc/server.hpp"

namespace ig::node {

class ChainMetrics {
 public:
  static constexpr size_t kHistoryBlocks = 720;  // ~4 minutes of 300 ms blocks, 12 of 1 s ones
  static constexpr size_t kHistoryEpochs = 64;

  explicit ChainMetrics(chain::Ledger& ledger);

  // Reads the last blocks' times from the store, so the block-interval chart is not empty after
  // a restart.
  void backfill();
  void on_block(const chain::CommittedBlock& cb);
  // Where consensus status comes from; nullptr once the engine is gone (Node::stop), which
  // waits for a render in progress.
  void set_consensus(std::function<chain::bft::BftStatus()> status);
  // More metrics in the same scrape (the attached workers'); safe after the server started.
  // clear_sources() before what they read goes away.
  void add_source(std::function<void(rpc::MetricsText&)> source);
  void clear_sources();

  // The /metrics text: chain, consensus, mempool, tasks, and the RPC server's counters.
  std::string render(const rpc::Server& rpc) const;
  // explorer_history: {"blocks": [{"height","time_ms","txs","tasks_submitted","tasks_settled",
  // "tasks_rejected","verdicts"}], "epochs": [{"epoch","height","emission","accounts":
  // [{"account","incentive","dividends","emission","validator_permit"}]}]}, oldest first.
  nlohmann::json history(size_t max_blocks) const;

  // Adds GET /metrics and the explorer_history method to `server` (before it starts).
  Status attach(rpc::Server& server);

 private:
  struct BlockPoint {
    uint64_t height = 0, time_ms = 0;
    uint32_t txs = 0, submitted = 0, settled = 0, rejected = 0, verdicts = 0;
  };
  void count_event(const chain::Event& e, BlockPoint& p);
  void record_epoch(uint64_t height);

  chain::Ledger& ledger_;
  mutable std::mutex mu_;
  std::deque<BlockPoint> blocks_;
  std::deque<nlohmann::json> epochs_;
  uint64_t last_time_ms_ = 0;
  uint64_t committed_ = 0, txs_ = 0, failed_txs_ = 0;
  std::map<std::string, uint64_t> event_counts_;       // by event type
  std::map<std::string, uint64_t> verdicts_;           // "true" / "false"
  std::map<std::string, uint64_t> slashes_, slashed_;  // by role: count, amount
  uint64_t epochs_total_ = 0, emission_total_ = 0;
  rpc::Histogram interval_, latency_, rounds_, block_txs_;

  mutable std::mutex consensus_mu_;  // guards consensus_ and sources_, held while they run
  std::function<chain::bft::BftStatus()> consensus_;
  std::vector<std::function<void(rpc::MetricsText&)>> sources_;
};

}  // namespace ig::node
