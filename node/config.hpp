// The node's home directory and its config.json.
//
//   HOME/config.json          this file (moniker, RPC, store, mempool, block time)
//   HOME/genesis.json         the chain this node runs
//   HOME/keys/consensus.json  the validator's consensus key (encrypted keystore)
//   HOME/keys/node_key.pem    the P2P node key (Ed25519, 0600); its public key is the node id
//   HOME/wallet/*.json        development accounts written by `init` (encrypted keystores)
//   HOME/data/                the LMDB store, the consensus WAL and the signer state
#pragma once

#include <optional>
#include <string>

#include "chain/mempool.hpp"
#include "rpc/server.hpp"

namespace ig::node {

// The P2P side (docs/p2p.md): where to listen, whom to keep dialing, whom else to admit. The
// allow-list is the genesis validators' node ids, the persistent peers' and allowed_peers.
struct P2pSettings {
  std::string listen = "127.0.0.1:26656";    // host:port; "" = no listener (dial out only)
  std::vector<std::string> persistent_peers;  // ID@host:port, redialed with backoff
  std::vector<std::string> allowed_peers;     // further node ids admitted (e.g. followers)
  uint32_t max_inbound = 40;
};

// Consensus timeouts (docs/consensus.md): init + round × delta, in milliseconds.
struct ConsensusSettings {
  uint64_t timeout_propose_ms = 3000, timeout_propose_delta_ms = 500;
  uint64_t timeout_prevote_ms = 1000, timeout_prevote_delta_ms = 500;
  uint64_t timeout_precommit_ms = 1000, timeout_precommit_delta_ms = 500;
  // The commit wait (straggler precommits) is the block time: genesis params.block_time_ms, or
  // this node's block_time_ms.
};

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
  P2pSettings p2p;
  ConsensusSettings consensus;
};

struct HomePaths {
  std::string home;
  std::string config() const { return home + "/config.json"; }
  std::string genesis() const { return home + "/genesis.json"; }
  std::string consensus_key() const { return home + "/keys/consensus.json"; }
  std::string node_key() const { return home + "/keys/node_key.pem"; }
  std::string wal() const { return home + "/data/consensus.wal"; }
  std::string signer_state() const { return home + "/data/signer_state.json"; }
  std::string wallet_dir() const { return home + "/wallet"; }
  std::string data() const { return home + "/data"; }
};

Expected<NodeConfig> load_config(const std::string& path);
Status save_config(const std::string& path, const NodeConfig& config);

}  // namespace ig::node
