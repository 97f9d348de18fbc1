// Block execution: (committed state, block) -> (receipts, events, write set, state root).
// A pure function of its inputs; the same block on any node gives the same result.
//
// The stateless part of each transaction (its encoding, hash and signature check) depends on
// nothing but the transaction, so it runs on a VerifyPool ahead of execution; execution itself
// stays sequential in block order and consumes those results in order. The result, errors
// included, is the same for any thread count.
#pragma once

#include "chain/application.hpp"
#include "chain/verify_pool.hpp"

namespace ig::chain {

struct ExecutionResult {
  std::vector<Transaction> txs;       // the transactions executed (a proposal drops unincludable ones)
  std::vector<Receipt> receipts;      // one per transaction, in block order
  std::vector<Event> block_events;    // from begin_block and end_block
  WriteSet writes;
  Hash state_root{};
};

enum class ExecMode {
  kValidate,  // every transaction must be includable, or the block is invalid
  kPropose,   // unincludable transactions are dropped (they go back to the mempool's judgement)
};

// What a transaction's canonical encoding gives: its hash and its length in bytes.
struct TxDigest {
  Hash hash{};
  size_t size = 0;
};

struct ExecOptions {
  // Size, chain id, expiry and signature of every transaction (check_tx_stateless). A proposer
  // skips the signatures, which its mempool verified on admission.
  bool check_signatures = true;
  // Where the stateless checks run; null runs them on the calling thread.
  VerifyPool* pool = nullptr;
  // Digests the caller computed already (one per transaction, in order), or null.
  const std::vector<TxDigest>* digests = nullptr;
};

Expected<ExecutionResult> execute_block(Application& app, const StateReader& committed, const Hash& prev_state_root,
                                        const BlockInfo& info, std::vector<Transaction> txs, ExecMode mode,
                                        const ExecOptions& options);

inline Expected<ExecutionResult> execute_block(Application& app, const StateReader& committed,
                                               const Hash& prev_state_root, const BlockInfo& info,
                                               std::vector<Transaction> txs, ExecMode mode,
                                               bool check_signatures = true) {
  return execute_block(app, committed, prev_state_root, info, std::move(txs), mode,
                       ExecOptions{check_signatures, nullptr, nullptr});
}

// The digests of `txs` (encoding each once), computed on `pool`.
std::vector<TxDigest> tx_digests(VerifyPool& pool, const std::vector<Transaction>& txs,
                                 std::vector<Hash>* merkle_leaves = nullptr);

}  // namespace ig::chain
