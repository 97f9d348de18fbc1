#include <spdlog/spdlog.h>

#include "chain/consensus/engine.hpp"

namespace ig::chain {

SingleValidatorEngine::SingleValidatorEngine(Ledger& ledger, SecretKey consensus_key, std::chrono::milliseconds block_time)
    : ledger_(ledger), key_(std::move(consensus_key)), block_time_(block_time) {}

SingleValidatorEngine::~SingleValidatorEngine() { stop(); }

Status SingleValidatorEngine::start() {
  IG_TRY_ASSIGN(vs, ledger_.validators());
  unsigned __int128 total = 0, mine = 0;
  for (const auto& v : vs) {
    total += v.power;
    if (v.consensus_key == key_.public_key()) mine += v.power;
  }
  if (mine == 0) return fail("engine.not_validator", "this node's consensus key is not in the validator set");
  if (mine * 3 <= total * 2)
    return fail("engine.needs_bft", "this validator holds no more than 2/3 of the power; the chain needs the BFT engine");
  thread_ = std::thread([this] { run(); });
  return {};
}

void SingleValidatorEngine::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

static uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

Expected<Hash> SingleValidatorEngine::produce_block() {
  IG_TRY_ASSIGN(prop, ledger_.propose(now_ms(), key_.public_key()));
  const Hash hash = block_hash(prop.block.header);
  Commit commit{prop.block.header.height, 0, hash, {sign_precommit(key_, ledger_.chain_id(), prop.block.header.height, 0, hash)}};
  IG_TRY(ledger_.commit(prop, commit));
  return hash;
}

void SingleValidatorEngine::run() {
  auto next = std::chrono::steady_clock::now() + block_time_;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (cv_.wait_until(lock, next, [this] { return stopping_; })) break;
    lock.unlock();
    auto started = std::chrono::steady_clock::now();
    auto result = produce_block();
    if (!result) spdlog::error("block production failed: {}", result.error().to_string());
    // Keep a steady cadence; if a block took longer than block_time, start the next one at once.
    next = std::max(next + block_time_, started);
    lock.lock();
  }
}

}  // namespace ig::chain
