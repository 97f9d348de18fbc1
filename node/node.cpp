#include "node/node.hpp"

#include <spdlog/spdlog.h>

#include "node/rpc_methods.hpp"

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
  return n;
}

Status Node::start() {
  chain::Head head = ledger_->head();
  spdlog::info("chain {} at height {} (state root {})", ledger_->chain_id(), head.height,
               chain::to_hex(head.state_root).substr(0, 16));

  rpc_ = std::make_unique<rpc::Server>(config_.rpc);
  NodeIdentity id{config_.moniker, consensus_key_ ? std::optional(consensus_key_->public_key()) : std::nullopt};
  IG_TRY(register_methods(*rpc_, *ledger_, id));
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
  IG_TRY(rpc_->start());
  spdlog::info("JSON-RPC on ws://{}:{} (HTTP POST on the same port)", config_.rpc.host, rpc_->port());

  if (!consensus_key_)
    return fail("node.no_engine", "this node has no consensus key; follower nodes need P2P block sync, which is not built yet");
  IG_TRY_ASSIGN(params, ledger_->params());
  auto block_time = std::chrono::milliseconds(config_.block_time_ms.value_or(params.block_time_ms));
  engine_ = std::make_unique<chain::SingleValidatorEngine>(*ledger_, *consensus_key_, block_time);
  IG_TRY(engine_->start());
  spdlog::info("validator {} producing a block every {} ms", chain::to_hex(consensus_key_->public_key()).substr(0, 16),
               block_time.count());
  return {};
}

void Node::stop() {
  // Consensus first, so no block commits while the RPC server is going away.
  if (engine_) engine_->stop();
  engine_.reset();
  if (rpc_) rpc_->stop();
}

uint16_t Node::rpc_port() const { return rpc_ ? rpc_->port() : 0; }

}  // namespace ig::node
