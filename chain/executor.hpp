// Block execution: (committed state, block) -> (receipts, events, write set, state root).
// A pure function of its inputs; the same block on any node gives the same result.
#pragma once

#include "chain/application.hpp"

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

Expected<ExecutionResult> execute_block(Application& app, const StateReader& committed, const Hash& prev_state_root,
                                        const BlockInfo& info, std::vector<Transaction> txs, ExecMode mode,
                                        bool check_signatures = true);

}  // namespace ig::chain
