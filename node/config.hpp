// The node's home directory and its config.json.
//
//   HOME/config.json          this file (moniker, RPC, store, mempool, block time)
//   HOME/genesis.json         the chain this node runs
//   HOME/keys/consensus.json  the validator's consensus key (encrypted keystore)
//   HOME/wallet/*.json        development accounts written by `init` (encrypted keystores)
//   HOME/data/                the LMDB store
#pragma once

#include <optional>
#include <string>

#include "chain/mempool.hpp"
#include "rpc/server.hpp"

namespace ig::node {

struct NodeConfig {
  NodeConfig() {
    // A block of 10,000 transfers publishes ~20,000 events at once: a subscriber that keeps up
    // must not be dropped for that burst, only one that really falls behind.
    rpc.max_queued_notifications = 65536;
    rpc.threads = 2;
  }
  std::string moniker = "node0";
  rpc::ServerConfig rpc;
  size_t store_initial_map_mb = 256;
  chain::MempoolConfig mempool;
  std::optional<uint64_t> block_time_ms;  // overrides genesis params.block_time_ms for this node's proposals
};

struct HomePaths {
  std::string home;
  std::string config() const { return home + "/config.json"; }
  std::string genesis() const { return home + "/genesis.json"; }
  std::string consensus_key() const { return home + "/keys/consensus.json"; }
  std::string wallet_dir() const { return home + "/wallet"; }
  std::string data() const { return home + "/data"; }
};

Expected<NodeConfig> load_config(const std::string& path);
Status save_config(const std::string& path, const NodeConfig& config);

}  // namespace ig::node
