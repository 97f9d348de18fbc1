#include "node/node_network.hpp"

#include <spdlog/spdlog.h>

#include "chain/tx.hpp"

namespace ig::node {

Expected<std::unique_ptr<NodeNetwork>> NodeNetwork::create(const HomePaths& paths, const NodeConfig& config,
                                                           const chain::Genesis& genesis, chain::Ledger& ledger) {
  IG_TRY_ASSIGN(key, p2p::NodeKey::load_or_create(paths.node_key()));
  const std::string self = key.id().to_string();
  p2p::NetworkConfig cfg;
  cfg.listen = config.p2p.listen;
  cfg.network = genesis.chain_id;
  cfg.max_inbound = config.p2p.max_inbound;
  cfg.channels = p2p::default_channels(genesis.params.max_block_bytes, genesis.params.max_tx_bytes);
  std::set<p2p::NodeId> allowed;
  for (const auto& text : config.p2p.persistent_peers) {
    IG_TRY_ASSIGN(peer, p2p::parse_peer_address(text));
    allowed.insert(peer.id);
    cfg.persistent.push_back(peer);
  }
  for (const auto& text : config.p2p.allowed_peers) {
    IG_TRY_ASSIGN(id, p2p::node_id_from_string(text));
    allowed.insert(id);
  }
  for (const auto& n : genesis.nodes) {
    IG_TRY_ASSIGN(id, p2p::node_id_from_string(n.node_id));
    allowed.insert(id);
    if (n.node_id == self) continue;
    IG_TRY_ASSIGN(peer, p2p::parse_peer_address(n.node_id + "@" + n.p2p_address));
    const bool listed = std::any_of(cfg.persistent.begin(), cfg.persistent.end(), [&](const auto& p) { return p.id == peer.id; });
    if (!listed) cfg.persistent.push_back(peer);
  }
  std::unique_ptr<NodeNetwork> nn(new NodeNetwork(ledger));
  IG_TRY_ASSIGN(net, p2p::Network::create(cfg, std::move(key)));
  nn->net_ = std::move(net);
  nn->net_->set_allowed(allowed);
  NodeNetwork* raw = nn.get();
  nn->net_->on_message([raw](const p2p::NodeId& from, uint8_t channel, std::vector<uint8_t> bytes) {
    raw->on_message(from, channel, std::move(bytes));
  });
  nn->net_->on_peer([raw](const p2p::NodeId& id, bool up) {
    spdlog::info("p2p: peer {} {}", id.short_string(), up ? "connected" : "gone");
    if (auto* e = raw->engine_.load()) e->on_peer(id.to_string(), up);
  });
  // Transactions admitted here (from RPC or from a peer) go to the peers; the mempool
  // channel's duplicate suppression stops them from echoing back and forth.
  ledger.on_admit([raw](const chain::Transaction& tx) { raw->broadcast(p2p::kChannelMempool, chain::encode_tx(tx)); });
  return nn;
}

NodeNetwork::~NodeNetwork() { stop(); }

Status NodeNetwork::start() {
  IG_TRY(net_->start());
  spdlog::info("p2p: node id {} listening on port {}", net_->id().to_string(), net_->listen_port());
  return {};
}

void NodeNetwork::stop() {
  if (net_) net_->stop();
}

void NodeNetwork::on_message(const p2p::NodeId& from, uint8_t channel, std::vector<uint8_t> bytes) {
  if (channel == p2p::kChannelMempool) {
    auto tx = chain::decode_tx(bytes);
    if (!tx) return net_->report(from, 10, "undecodable transaction");
    auto admitted = ledger_.submit(*tx);
    // A transaction this node already has, or one that became stale, is normal gossip; only
    // what can never be valid counts against the peer.
    if (!admitted && (admitted.error().code == "tx.bad_signature" || admitted.error().code == "tx.wrong_chain"))
      net_->report(from, 10, "invalid transaction: " + admitted.error().message);
    return;
  }
  if (auto* e = engine_.load()) e->on_message(from.to_string(), channel, bytes);
}

void NodeNetwork::broadcast(uint8_t channel, chain::Bytes message) { net_->broadcast(channel, std::move(message)); }

void NodeNetwork::send(const std::string& peer, uint8_t channel, chain::Bytes message) {
  auto id = p2p::node_id_from_string(peer);
  if (id) net_->send(*id, channel, std::move(message));
}

void NodeNetwork::report(const std::string& peer, int penalty, const std::string& why) {
  auto id = p2p::node_id_from_string(peer);
  if (id) net_->report(*id, penalty, why);
}

std::string NodeNetwork::node_id() const { return net_->id().to_string(); }
uint16_t NodeNetwork::listen_port() const { return net_->listen_port(); }
std::vector<p2p::PeerInfo> NodeNetwork::peers() const { return net_->peers(); }

}  // namespace ig::node
