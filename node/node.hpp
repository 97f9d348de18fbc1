// A running node: store + application + ledger + consensus engine + JSON-RPC server.
#pragma once

#include <functional>
#include <memory>

#include "chain/consensus/bft_engine.hpp"
#include "common/dir_lock.hpp"
#include "contracts/app.hpp"
#include "node/config.hpp"
#include "rpc/metrics.hpp"

namespace ig::node {

struct StartOptions {
  std::string home;
  std::optional<std::string> genesis_path;  // default HOME/genesis.json
  std::optional<std::string> rpc_host;
  std::optional<uint16_t> rpc_port;
  std::optional<uint64_t> block_time_ms;
  // The validator's account key (HOME/wallet/validator.json): signs the Evidence transactions
  // for double-signs this node sees. Without it, evidence is only logged.
  std::optional<chain::SecretKey> evidence_account;
  bool test_double_sign = false;  // TEST ONLY (BftConfig::test_double_sign)
};

class Node {
 public:
  // Locks the home directory (a second node on it fails with "lock.held", naming the running
  // one), opens the store and checks it against the genesis; `consensus_key` makes this node
  // propose.
  static Expected<std::unique_ptr<Node>> open(const StartOptions& options, std::optional<chain::SecretKey> consensus_key);
  ~Node();

  Status start();
  void stop();
  uint16_t rpc_port() const;
  chain::bft::BftStatus consensus_status() const;
  // Adds to the node's GET /metrics (attached workers, the attached gateway); clear before
  // what the source reads goes away.
  void add_metrics(std::function<void(rpc::MetricsText&)> source);
  void clear_metrics();

 private:
  Node() = default;

  DirLock home_lock_;  // first member: released after everything else has shut down
  NodeConfig config_;
  chain::Genesis genesis_;
  std::unique_ptr<chain::Store> store_;
  std::unique_ptr<contracts::InfergridApp> app_;
  std::unique_ptr<chain::Ledger> ledger_;
  std::unique_ptr<class ChainMetrics> metrics_;  // GET /metrics, explorer_history (docs/metrics.md)
  std::unique_ptr<rpc::Server> rpc_;
  std::unique_ptr<class NodeNetwork> network_;
  std::unique_ptr<chain::bft::BftEngine> engine_;
  std::optional<chain::SecretKey> consensus_key_;
  StartOptions options_;
  void submit_evidence(const chain::Evidence& e);
};

}  // namespace ig::node
