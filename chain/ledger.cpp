#include "chain/ledger.hpp"

#include <algorithm>
#include <cstdint>

#include "chain/merkle.hpp"

namespace ig::chain {

namespace {
// receipts_root, with the receipts encoded and hashed on the pool.
Hash parallel_receipts_root(VerifyPool& pool, const std::vector<Receipt>& receipts) {
  std::vector<Hash> leaves(receipts.size());
  pool.parallel_for(
      receipts.size(), [&](size_t i) { leaves[i] = merkle_leaf(encode_receipt(receipts[i])); },
      VerifyPool::kCheapItemGrain);
  return merkle_root(leaves);
}
}  // namespace

Ledger::Ledger(Store& store, Application& app, MempoolConfig mempool_config, unsigned verify_threads)
    : store_(store), app_(app), mempool_config_(mempool_config), verify_threads_(verify_threads) {}

Ledger::~Ledger() = default;

VerifyPool& Ledger::verify_pool() {
  // Started on first use: a ledger that never validates or batch-admits starts no threads.
  std::call_once(pool_once_, [this] { pool_ = std::make_unique<VerifyPool>(verify_threads_); });
  return *pool_;
}

Status Ledger::init(const Genesis& genesis) {
  const Hash ghash = genesis_hash(genesis);
  if (auto existing = store_.genesis_hash()) {
    if (*existing != ghash)
      return fail("ledger.genesis_mismatch", "the store in this home belongs to a different genesis (chain \"" +
                                                 store_.chain_id().value_or("?") + "\")");
  } else {
    MapStateReader empty;
    State state(empty);
    write_params(state, genesis.params);
    write_validator_set(state, genesis.validators);
    write_signing_set(state, genesis.validators);
    IG_TRY(app_.init_chain(genesis, state));
    Hash root = next_state_root(Hash{}, state.writes());
    IG_TRY(store_.write_genesis(genesis.chain_id, ghash, state.writes(), root));
  }
  chain_id_ = genesis.chain_id;
  mempool_ = std::make_unique<Mempool>(app_, store_.latest(), chain_id_, mempool_config_);
  return {};
}

Head Ledger::head() const { return store_.head().value_or(Head{}); }

Expected<ChainParams> Ledger::params() const {
  State s(store_.latest());
  return read_params(s);
}

Expected<std::vector<Validator>> Ledger::validators() const {
  State s(store_.latest());
  return read_validator_set(s);
}

Expected<Hash> Ledger::submit(const Transaction& tx) {
  IG_TRY_ASSIGN(p, params());
  Bytes encoded = encode_tx(tx);
  if (encoded.size() > p.max_tx_bytes)
    return fail("tx.oversized", "transaction of " + std::to_string(encoded.size()) + " bytes exceeds max_tx_bytes " +
                                    std::to_string(p.max_tx_bytes));
  IG_TRY_ASSIGN(hash, mempool_->add(tx, head().height + 1));
  for (const auto& listener : admit_listeners_) listener(tx);
  return hash;
}

std::vector<Expected<Hash>> Ledger::submit_batch(std::span<const Transaction> txs) {
  auto p = params();
  if (!p) return std::vector<Expected<Hash>>(txs.size(), Expected<Hash>(fail(p.error())));
  // Oversized transactions are refused here, as submit does, and never reach the mempool.
  std::vector<size_t> sizes(txs.size());
  verify_pool().parallel_for(
      txs.size(), [&](size_t i) { sizes[i] = encode_tx(txs[i]).size(); }, VerifyPool::kCheapItemGrain);
  std::vector<Transaction> fitting;
  for (size_t i = 0; i < txs.size(); ++i)
    if (sizes[i] <= p->max_tx_bytes) fitting.push_back(txs[i]);
  auto admitted = mempool_->add_batch(fitting, head().height + 1, verify_pool());
  std::vector<Expected<Hash>> out;
  out.reserve(txs.size());
  for (size_t i = 0, k = 0; i < txs.size(); ++i) {
    if (sizes[i] > p->max_tx_bytes) {
      out.emplace_back(fail("tx.oversized", "transaction of " + std::to_string(sizes[i]) +
                                                " bytes exceeds max_tx_bytes " + std::to_string(p->max_tx_bytes)));
      continue;
    }
    out.push_back(std::move(admitted[k++]));
    if (out.back())
      for (const auto& listener : admit_listeners_) listener(txs[i]);
  }
  return out;
}

void Ledger::on_admit(std::function<void(const Transaction&)> listener) { admit_listeners_.push_back(std::move(listener)); }

Expected<BlockHeader> Ledger::next_header_base(uint64_t time_ms, const PublicKey& proposer, Commit& last_commit) const {
  Head h = head();
  BlockHeader hdr;
  hdr.chain_id = chain_id_;
  hdr.height = h.height + 1;
  hdr.time_ms = time_ms;
  hdr.prev_hash = h.hash;
  hdr.proposer = proposer;
  if (h.height > 0) {
    IG_TRY_ASSIGN(c, store_.commit_at(h.height));
    if (!c) return fail("ledger.missing_commit", "no commit stored for the head block");
    last_commit = *c;
  }
  hdr.last_commit_hash = commit_hash(last_commit);
  return hdr;
}

Expected<Proposal> Ledger::propose(uint64_t time_ms, const PublicKey& proposer) {
  IG_TRY_ASSIGN(p, params());
  IG_TRY_ASSIGN(vs, validators());
  Proposal prop;
  IG_TRY_ASSIGN(hdr, next_header_base(time_ms, proposer, prop.block.last_commit));
  // Time is monotonic: a proposer clock behind the parent's is moved forward.
  if (hdr.height > 1) {
    IG_TRY_ASSIGN(parent, store_.block_at(hdr.height - 1));
    if (parent) hdr.time_ms = std::max(hdr.time_ms, parent->header.time_ms + 1);
  }
  hdr.validators_hash = validators_hash(vs);
  std::vector<Transaction> txs = mempool_->reap(p.max_block_txs, p.max_block_bytes);
  BlockInfo info{chain_id_, hdr.height, hdr.time_ms, hdr.prev_hash, proposer};
  auto snapshot = store_.snapshot();
  // Mempool admission verified these signatures already; a proposal need not pay for it twice.
  IG_TRY_ASSIGN(result, execute_block(app_, *snapshot, head().state_root, info, std::move(txs), ExecMode::kPropose,
                                      ExecOptions{/*check_signatures=*/false, &verify_pool(), nullptr}));
  std::vector<Hash> leaves;
  tx_digests(verify_pool(), result.txs, &leaves);
  hdr.tx_root = merkle_root(leaves);
  hdr.receipts_root = parallel_receipts_root(verify_pool(), result.receipts);
  hdr.state_root = result.state_root;
  prop.block.header = hdr;
  prop.block.txs = result.txs;
  prop.result = std::move(result);
  return prop;
}

// The size limits of the chain parameters are rules of validity, not only the proposer's
// reaping policy: a block from another proposer must respect them as well.
static Status check_block_limits(const Block& block, const std::vector<TxDigest>& digests, const ChainParams& p) {
  if (block.txs.size() > p.max_block_txs)
    return fail("block.too_many_txs", "block has " + std::to_string(block.txs.size()) + " transactions, max_block_txs is " +
                                          std::to_string(p.max_block_txs));
  uint64_t total = 0;
  for (size_t i = 0; i < block.txs.size(); ++i) {
    const size_t n = digests[i].size;
    if (n > p.max_tx_bytes)
      return fail("block.oversized_tx", "transaction " + std::to_string(i) + " is " + std::to_string(n) +
                                            " bytes, max_tx_bytes is " + std::to_string(p.max_tx_bytes));
    total += n;
  }
  if (total > p.max_block_bytes)
    return fail("block.oversized", "transactions take " + std::to_string(total) + " bytes, max_block_bytes is " +
                                       std::to_string(p.max_block_bytes));
  return {};
}

Expected<Proposal> Ledger::validate(const Block& block) {
  const BlockHeader& b = block.header;
  Head h = head();
  if (b.chain_id != chain_id_) return fail("block.chain_id", "block is for another chain");
  if (b.height != h.height + 1) return fail("block.height", "block does not extend the head");
  if (b.prev_hash != h.hash) return fail("block.prev_hash", "block's parent is not the head");
  IG_TRY_ASSIGN(vs, validators());
  if (b.validators_hash != validators_hash(vs)) return fail("block.validators", "validator set hash mismatch");
  if (std::none_of(vs.begin(), vs.end(), [&](const Validator& v) { return v.consensus_key == b.proposer; }))
    return fail("block.proposer", "proposer is not a validator");
  if (b.last_commit_hash != commit_hash(block.last_commit)) return fail("block.last_commit", "last commit hash mismatch");
  if (h.height > 0) {
    IG_TRY_ASSIGN(parent, store_.block_at(h.height));
    if (!parent || b.time_ms <= parent->header.time_ms) return fail("block.time", "block time does not advance");
    if (block.last_commit.height != h.height || block.last_commit.block_hash != h.hash)
      return fail("block.last_commit", "last commit is not for the parent block");
    // The parent was signed by the set active at its start, which its own end_block may have changed.
    State committed(store_.latest());
    IG_TRY_ASSIGN(parent_signers, read_signing_set(committed));
    IG_TRY(verify_commit(block.last_commit, chain_id_, parent_signers));
  } else if (!(block.last_commit == Commit{})) {
    return fail("block.last_commit", "the first block has no parent, so its last commit must be empty");
  }
  // Each transaction is encoded and hashed once, on the pool: the roots, the size limits and
  // execution all use these digests.
  std::vector<Hash> leaves;
  const std::vector<TxDigest> digests = tx_digests(verify_pool(), block.txs, &leaves);
  if (b.tx_root != merkle_root(leaves)) return fail("block.tx_root", "transaction root mismatch");
  IG_TRY_ASSIGN(p, params());
  IG_TRY(check_block_limits(block, digests, p));
  BlockInfo info{chain_id_, b.height, b.time_ms, b.prev_hash, b.proposer};
  auto snapshot = store_.snapshot();
  // Signatures are checked on the pool ahead of (and while) execution applies the block in order.
  IG_TRY_ASSIGN(result, execute_block(app_, *snapshot, h.state_root, info, block.txs, ExecMode::kValidate,
                                      ExecOptions{/*check_signatures=*/true, &verify_pool(), &digests}));
  if (b.receipts_root != parallel_receipts_root(verify_pool(), result.receipts))
    return fail("block.receipts_root", "receipts root mismatch");
  if (b.state_root != result.state_root) return fail("block.state_root", "state root mismatch");
  return Proposal{block, std::move(result)};
}

Status Ledger::commit(const Proposal& prop, const Commit& commit) {
  std::lock_guard lock(commit_mu_);
  const Hash hash = block_hash(prop.block.header);
  if (commit.block_hash != hash || commit.height != prop.block.header.height)
    return fail("ledger.commit_mismatch", "commit is not for this block");
  IG_TRY_ASSIGN(vs, validators());
  IG_TRY(verify_commit(commit, chain_id_, vs));
  BlockCommit bc{&prop.block, &commit, &prop.result.receipts, &prop.result.writes};
  // The receipts carry the hashes of the block's transactions, in block order.
  std::vector<Hash> hashes;
  if (prop.result.receipts.size() == prop.block.txs.size()) {
    hashes.reserve(prop.result.receipts.size());
    for (const auto& r : prop.result.receipts) hashes.push_back(r.tx_hash);
  }
  IG_TRY(mempool_->commit_block([&] { return store_.commit_block(bc); }, prop.block.header.height, prop.block.txs,
                                hashes.size() == prop.block.txs.size() ? &hashes : nullptr));
  CommittedBlock done{prop.block, hash, prop.result.receipts, prop.result.block_events};
  for (const auto& l : listeners_) l(done);
  return {};
}

void Ledger::on_commit(std::function<void(const CommittedBlock&)> listener) { listeners_.push_back(std::move(listener)); }

}  // namespace ig::chain
