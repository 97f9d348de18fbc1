#include "chain/executor.hpp"

#include "chain/hash.hpp"

namespace ig::chain {

Expected<ExecutionResult> execute_block(Application& app, const StateReader& committed, const Hash& prev_state_root,
                                        const BlockInfo& info, std::vector<Transaction> txs, ExecMode mode,
                                        bool check_signatures) {
  State state(committed);
  ExecutionResult out;
  // Record which set signs this block (only when it changed, to keep write sets small).
  auto signing = read_validator_set(state);
  if (!signing) return fail(signing.error());
  auto recorded = read_signing_set(state);
  if (!recorded || *recorded != *signing) write_signing_set(state, *signing);
  app.begin_block(state, info, out.block_events);
  out.txs.reserve(txs.size());
  out.receipts.reserve(txs.size());
  for (auto& tx : txs) {
    Bytes encoded = encode_tx(tx);
    TxEnvelope env{tx, sha256(encoded), encoded.size()};
    Status ok;
    if (check_signatures) ok = check_tx_stateless(tx, encoded.size(), info.chain_id, info.height);
    else if (tx.body.chain_id != info.chain_id || (tx.body.expiry_height && tx.body.expiry_height < info.height))
      ok = fail("tx.invalid", "wrong chain id or expired");
    Expected<Receipt> receipt = ok ? app.deliver_tx(state, info, env) : Expected<Receipt>(fail(ok.error()));
    if (!receipt) {
      if (mode == ExecMode::kPropose) continue;
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
