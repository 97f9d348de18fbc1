#include "node/node.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "contracts/bank.hpp"
#include "gateway/explorer/assets.hpp"
#include "node/chain_metrics.hpp"
#include "node/node_network.hpp"
#include "node/rpc_methods.hpp"
#include "wallet/transaction.hpp"

namespace ig::node {

Node::~Node() { stop(); }

Expected<std::unique_ptr<Node>> Node::open(const StartOptions& opt, std::optional<chain::SecretKey> consensus_key) {
  HomePaths paths{opt.home};
  std::unique_ptr<Node> n(new Node());
  // One process per home: two nodes on one home would sign with one validator key and commit
  // into one store.
  IG_TRY_ASSIGN(lock, DirLock::acquire(opt.home, "infergridd"));
  n->home_lock_ = std::move(lock);
  IG_TRY_ASSIGN(config, load_config(paths.config()));
  if (opt.rpc_host) config.rpc.host = *opt.rpc_host;
  if (opt.rpc_port) config.rpc.port = *opt.rpc_port;
  if (opt.block_time_ms) config.block_time_ms = opt.block_time_ms;
  n->config_ = config;
  IG_TRY_ASSIGN(genesis, chain::load_genesis(opt.genesis_path.value_or(paths.genesis())));
  n->genesis_ = genesis;

  chain::StoreConfig sc{paths.data(), config.store_initial_map_mb << 20, true};
  IG_TRY_ASSIGN(store, chain::Store::open(sc));
  n->store_ = std::move(store);
  n->app_ = std::make_unique<contracts::InfergridApp>();
  n->ledger_ = std::make_unique<chain::Ledger>(*n->store_, *n->app_, config.mempool);
  IG_TRY(n->ledger_->init(genesis));
  n->consensus_key_ = std::move(consensus_key);
  n->options_ = opt;
  return n;
}

Status Node::start() {
  chain::Head head = ledger_->head();
  spdlog::info("chain {} at height {} (state root {})", ledger_->chain_id(), head.height,
               chain::to_hex(head.state_root).substr(0, 16));

  rpc_ = std::make_unique<rpc::Server>(config_.rpc);
  NodeIdentity id{config_.moniker, consensus_key_ ? std::optional(consensus_key_->public_key()) : std::nullopt};
  IG_TRY(register_methods(*rpc_, *ledger_, id));
  // For people: GET /metrics (Prometheus), the explorer's pages and its history method.
  metrics_ = std::make_unique<ChainMetrics>(*ledger_);
  metrics_->backfill();
  IG_TRY(metrics_->attach(*rpc_));
  IG_TRY(rpc_->add_get("/explorer/", explorer::serve));
  ledger_->on_commit([m = metrics_.get()](const chain::CommittedBlock& cb) { m->on_block(cb); });
  rpc::Server* server = rpc_.get();
  ledger_->on_commit([server](const chain::CommittedBlock& cb) {
    spdlog::info("committed block {} ({} txs) {}", cb.block.header.height, cb.block.txs.size(),
                 chain::to_hex(cb.hash).substr(0, 16));
    // The block is already durable; a failure to tell subscribers must not stop consensus.
    try {
      publish_block(*server, cb);
    } catch (const std::exception& e) {
      spdlog::error("publishing block {} to subscribers failed: {}", cb.block.header.height, e.what());
    }
  });
  IG_TRY_ASSIGN(params, ledger_->params());
  const uint64_t block_time = config_.block_time_ms.value_or(params.block_time_ms);
  HomePaths paths{options_.home};
  IG_TRY_ASSIGN(network, NodeNetwork::create(paths, config_, genesis_, *ledger_));
  network_ = std::move(network);

  chain::bft::BftConfig bc;
  const auto& c = config_.consensus;
  bc.timeouts.propose_ms = c.timeout_propose_ms;
  bc.timeouts.propose_delta_ms = c.timeout_propose_delta_ms;
  bc.timeouts.prevote_ms = c.timeout_prevote_ms;
  bc.timeouts.prevote_delta_ms = c.timeout_prevote_delta_ms;
  bc.timeouts.precommit_ms = c.timeout_precommit_ms;
  bc.timeouts.precommit_delta_ms = c.timeout_precommit_delta_ms;
  bc.timeouts.commit_ms = block_time;  // the wait before the next height paces the blocks
  bc.wal_path = paths.wal();
  bc.signer_state_path = paths.signer_state();
  bc.test_double_sign = options_.test_double_sign;
  bc.on_evidence = [this](const chain::Evidence& e) { submit_evidence(e); };
  engine_ = std::make_unique<chain::bft::BftEngine>(*ledger_, consensus_key_, bc, *network_);
  network_->attach(engine_.get());
  metrics_->set_consensus([e = engine_.get()] { return e->status(); });
  IG_TRY(network_->start());
  IG_TRY(engine_->start());
  // The RPC server serves last: a transaction it admits reaches the ledger's listeners, and
  // NodeNetwork::create adds one (gossip) above; adding it while tx_send already ran on the RPC
  // threads was a data race on the listener list, and a transaction admitted before it was
  // never gossiped.
  IG_TRY(rpc_->start());
  spdlog::info("JSON-RPC on ws://{}:{} (HTTP POST on the same port)", config_.rpc.host, rpc_->port());
  auto set = ledger_->validators();
  const bool in_set = consensus_key_ && set &&
                      std::any_of(set->begin(), set->end(),
                                  [&](const chain::Validator& v) { return v.consensus_key == consensus_key_->public_key(); });
  if (in_set) {
    spdlog::info("validator {}: Tendermint consensus, {} ms blocks", chain::to_hex(consensus_key_->public_key()).substr(0, 16),
                 block_time);
  } else if (consensus_key_) {
    spdlog::info("follower: consensus key {} is not in the validator set (yet); following the chain by consensus messages "
                 "and block sync",
                 chain::to_hex(consensus_key_->public_key()).substr(0, 16));
  } else {
    spdlog::info("follower: no consensus key; following the chain by consensus messages and block sync");
  }
  if (options_.test_double_sign) spdlog::warn("TEST OPTION: this validator double-signs every vote");
  return {};
}

// Evidence becomes a transaction from the validator's account, like any other: included in a
// block, checked by the slashing contract (which slashes and removes the double-signer).
void Node::submit_evidence(const chain::Evidence& e) {
  if (!options_.evidence_account) {
    spdlog::warn("double-sign evidence seen but this node has no account key to submit it (HOME/wallet/validator.json)");
    return;
  }
  const chain::SecretKey& key = *options_.evidence_account;
  const chain::Address from = key.public_key();
  contracts::bank::Account account;
  const size_t pending = ledger_->mempool().pending_count(from, [&] {  // no block commits in between
    chain::State state(ledger_->store().latest());
    account = contracts::bank::get_account(state, from);
  });
  auto params = ledger_->params();
  if (!params) return;
  wallet::TxSpec spec{ledger_->chain_id(), 0, account.nonce + pending, ledger_->head().height + 100};
  chain::Payload payload = e;
  spec.fee = wallet::minimum_fee(params->fee, wallet::tx_body(spec, payload, from));
  auto tx = wallet::sign_payload(spec, payload, key);
  if (!tx) return spdlog::error("evidence: cannot sign: {}", tx.error().to_string());
  auto hash = ledger_->submit(*tx);
  if (!hash) return spdlog::warn("evidence: not admitted: {}", hash.error().to_string());
  spdlog::warn("evidence: submitted {} against validator {}", chain::to_hex(*hash).substr(0, 16),
               chain::to_hex(e.a.validator).substr(0, 16));
}

chain::bft::BftStatus Node::consensus_status() const { return engine_ ? engine_->status() : chain::bft::BftStatus{}; }

void Node::stop() {
  // Consensus first, so no block commits while the RPC server is going away; then the network
  // (its callbacks reach the engine, so it goes before the engine is destroyed). Both are
  // destroyed only once the RPC server has stopped: until then it admits transactions, and
  // the ledger hands each to the network for gossip (a stopped network has no peers to send to).
  if (metrics_) {
    metrics_->set_consensus(nullptr);  // no scrape reads the engine once it is gone
    metrics_->clear_sources();
  }
  if (engine_) engine_->stop();
  if (network_) network_->stop();
  if (rpc_) rpc_->stop();
  engine_.reset();
  network_.reset();
}

void Node::add_metrics(std::function<void(rpc::MetricsText&)> source) {
  if (metrics_) metrics_->add_source(std::move(source));
}

void Node::clear_metrics() {
  if (metrics_) metrics_->clear_sources();
}

uint16_t Node::rpc_port() const { return rpc_ ? rpc_->port() : 0; }

}  // namespace ig::node
