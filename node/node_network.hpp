// The node's side of p2p/: the network its consensus engine and mempool speak over.
//
//   - who may connect: the genesis validators' node ids, the configured persistent peers and
//     allowed_peers (docs/p2p.md);
//   - whom it dials: the configured persistent peers and every other genesis validator whose
//     node address genesis lists;
//   - channels: consensus and block sync go to the BFT engine; the mempool channel carries
//     transactions, each admitted to the local mempool and (through Ledger::on_admit) passed on.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "chain/consensus/bft_engine.hpp"
#include "chain/genesis.hpp"
#include "chain/ledger.hpp"
#include "node/config.hpp"
#include "p2p/network.hpp"

namespace ig::node {

class NodeNetwork final : public chain::bft::BftNetwork {
 public:
  // Loads (or creates) HOME/keys/node_key.pem and checks the p2p settings ("p2p.*", "config.field").
  static Expected<std::unique_ptr<NodeNetwork>> create(const HomePaths& paths, const NodeConfig& config,
                                                       const chain::Genesis& genesis, chain::Ledger& ledger);
  ~NodeNetwork() override;

  // Routes the engine's channels to it; call before start().
  void attach(chain::bft::BftEngine* engine) { engine_ = engine; }
  Status start();
  void stop();

  void broadcast(uint8_t channel, chain::Bytes message) override;
  void send(const std::string& peer, uint8_t channel, chain::Bytes message) override;
  void report(const std::string& peer, int penalty, const std::string& why) override;

  std::string node_id() const;
  uint16_t listen_port() const;
  std::vector<p2p::PeerInfo> peers() const;

 private:
  NodeNetwork(chain::Ledger& ledger) : ledger_(ledger) {}
  void on_message(const p2p::NodeId& from, uint8_t channel, std::vector<uint8_t> bytes);

  chain::Ledger& ledger_;
  std::unique_ptr<p2p::Network> net_;
  std::atomic<chain::bft::BftEngine*> engine_{nullptr};
};

}  // namespace ig::node
