#include "chain/executor.hpp"

#include "chain/hash.hpp"
#include "chain/merkle.hpp"

namespace ig::chain {

namespace {
// The outcome of one transaction's stateless checks, filled in by whichever thread ran them.
struct Stateless {
  TxDigest digest;
  Status ok;
};

void check_stateless(const Transaction& tx, const TxDigest* known, const BlockInfo& info, bool check_signatures,
                     Stateless& out) {
  if (known) {
    out.digest = *known;
  } else {
    const Bytes encoded = encode_tx(tx);
    out.digest = TxDigest{sha256(encoded), encoded.size()};
  }
  if (check_signatures) out.ok = check_tx_stateless(tx, out.digest.size, info.chain_id, info.height);
  else if (tx.body.chain_id != info.chain_id || (tx.body.expiry_height && tx.body.expiry_height < info.height))
    out.ok = fail("tx.invalid", "wrong chain id or expired");
}
}  // namespace

std::vector<TxDigest> tx_digests(VerifyPool& pool, const std::vector<Transaction>& txs,
                                 std::vector<Hash>* merkle_leaves) {
  std::vector<TxDigest> out(txs.size());
  if (merkle_leaves) merkle_leaves->assign(txs.size(), Hash{});
  pool.parallel_for(
      txs.size(),
      [&](size_t i) {
        const Bytes encoded = encode_tx(txs[i]);
        out[i] = TxDigest{sha256(encoded), encoded.size()};
        if (merkle_leaves) (*merkle_leaves)[i] = merkle_leaf(encoded);
      },
      VerifyPool::kCheapItemGrain);
  return out;
}

Expected<ExecutionResult> execute_block(Application& app, const StateReader& committed, const Hash& prev_state_root,
                                        const BlockInfo& info, std::vector<Transaction> txs, ExecMode mode,
                                        const ExecOptions& options) {
  if (options.digests && options.digests->size() != txs.size())
    return fail("block.internal", "digests do not match the transactions");
  State state(committed);
  ExecutionResult out;
  // Record which set signs this block (only when it changed, to keep write sets small).
  auto signing = read_validator_set(state);
  if (!signing) return fail(signing.error());
  auto recorded = read_signing_set(state);
  if (!recorded || *recorded != *signing) write_signing_set(state, *signing);

  // The stateless checks start now, on the pool, and run ahead of execution below. Each
  // writes only its own slot and reads only its own transaction, which execution leaves
  // alone until that slot is done (it moves txs[i] out only after wait(i)).
  std::vector<Stateless> checks(txs.size());
  VerifyPool inline_pool(1);
  VerifyPool& pool = options.pool ? *options.pool : inline_pool;
  VerifyPool::Batch batch(pool, txs.size(), [&](size_t i) {
    check_stateless(txs[i], options.digests ? &(*options.digests)[i] : nullptr, info, options.check_signatures,
                    checks[i]);
  });

  app.begin_block(state, info, out.block_events);
  out.txs.reserve(txs.size());
  out.receipts.reserve(txs.size());
  for (size_t i = 0; i < txs.size(); ++i) {
    batch.wait(i);
    Transaction& tx = txs[i];
    const Stateless& c = checks[i];
    TxEnvelope env{tx, c.digest.hash, c.digest.size};
    Expected<Receipt> receipt = c.ok ? app.deliver_tx(state, info, env) : Expected<Receipt>(fail(c.ok.error()));
    if (!receipt) {
      if (mode == ExecMode::kPropose) continue;
      // The first failing transaction in block order decides the error, as it always did:
      // later checks may have finished already, but nothing reads them.
      return fail("block.invalid_tx", "transaction " + std::to_string(out.txs.size()) + " (" + to_hex(env.hash) +
                                          ") cannot be included: " + receipt.error().to_string());
    }
    receipt->tx_hash = env.hash;
    receipt->height = info.height;
    receipt->index = static_cast<uint32_t>(out.txs.size());
    out.receipts.push_back(std::move(*receipt));
    out.txs.push_back(std::move(tx));
  }
  app.end_block(state, info, out.block_events);
  out.writes = state.writes();
  out.state_root = next_state_root(prev_state_root, out.writes);
  return out;
}

}  // namespace ig::chain
