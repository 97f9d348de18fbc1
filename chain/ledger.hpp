// The Ledger ties the store, the Application and the mempool together: it initialises the
// chain from genesis, builds proposals, validates foreign blocks, and commits finalised
// blocks. Consensus engines drive it; they decide WHEN a block is final, the Ledger decides
// whether it is VALID and makes it durable.
//
// Signature checks, encodings and hashes of a block's transactions run on a VerifyPool of
// `verify_threads` threads (0: INFERGRID_VERIFY_THREADS, else the hardware concurrency);
// execution and commit stay sequential, so every result is the same for any thread count.
#pragma once

#include <functional>
#include <mutex>
#include <span>

#include "chain/executor.hpp"
#include "chain/mempool.hpp"
#include "chain/store.hpp"

namespace ig::chain {

// The block just committed, as listeners see it: views into the committing call's data,
// valid only while the listener runs (copy what you keep). A view, because a copy of a
// 10,000-transaction block and its receipts cost the commit more than a millisecond.
struct CommittedBlock {
  const Block& block;
  Hash hash{};
  const std::vector<Receipt>& receipts;
  const std::vector<Event>& block_events;
};

struct Proposal {
  Block block;
  ExecutionResult result;
};

class Ledger {
 public:
  Ledger(Store& store, Application& app, MempoolConfig mempool_config = {}, unsigned verify_threads = 0);
  ~Ledger();

  // An empty store is initialised from genesis; a non-empty one must belong to this genesis.
  Status init(const Genesis& genesis);

  const std::string& chain_id() const { return chain_id_; }
  Head head() const;
  Store& store() { return store_; }
  const Store& store() const { return store_; }
  Mempool& mempool() { return *mempool_; }
  Expected<ChainParams> params() const;
  Expected<std::vector<Validator>> validators() const;

  // Admits a transaction to the mempool for the next block.
  Expected<Hash> submit(const Transaction& tx);
  // Admits several: signatures are checked in parallel, admission runs in the given order
  // (so one sender's consecutive nonces may arrive together). One result per transaction,
  // each exactly what submit would have returned for it at that point.
  std::vector<Expected<Hash>> submit_batch(std::span<const Transaction> txs);

  // Builds the next block from the mempool, executed on top of the head.
  Expected<Proposal> propose(uint64_t time_ms, const PublicKey& proposer);
  // Validates a block from another proposer by re-executing it; the result can be committed.
  Expected<Proposal> validate(const Block& block);
  // Makes a validated proposal durable with the commit that finalised it.
  Status commit(const Proposal& proposal, const Commit& commit);

  // Called on the committing thread after each block; keep listeners quick.
  void on_commit(std::function<void(const CommittedBlock&)> listener);
  // Called after a transaction is admitted to the mempool (by submit), on the submitting
  // thread: how the node gossips transactions to its peers. Set before the node serves.
  void on_admit(std::function<void(const Transaction&)> listener);

  // The pool block validation and batch admission use (started on first use).
  VerifyPool& verify_pool();

 private:
  Expected<BlockHeader> next_header_base(uint64_t time_ms, const PublicKey& proposer, Commit& last_commit) const;

  Store& store_;
  Application& app_;
  std::string chain_id_;
  std::unique_ptr<Mempool> mempool_;
  MempoolConfig mempool_config_;
  std::vector<std::function<void(const CommittedBlock&)>> listeners_;
  std::vector<std::function<void(const Transaction&)>> admit_listeners_;
  std::mutex commit_mu_;  // one block commits at a time
  unsigned verify_threads_;
  std::once_flag pool_once_;
  std::unique_ptr<VerifyPool> pool_;
};

}  // namespace ig::chain
