// The mempool (DESIGN §3): signature and nonce checked on admission, per-sender nonce order,
// fee priority across senders, size caps per sender and overall, re-checked after each block.
//
// Admission runs the Application's check_tx against a running "check state" (committed state
// plus the effects of everything already admitted), so a sender's transactions must arrive
// with consecutive nonces. After each block the check state is rebuilt from the new committed
// state and every remaining transaction is checked again; those that no longer pass are dropped.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <span>

#include "chain/application.hpp"
#include "chain/verify_pool.hpp"

namespace ig::chain {

struct MempoolConfig {
  size_t max_txs = 100000;
  size_t max_bytes = 128u << 20;
  size_t max_per_sender = 10000;
};

class Mempool {
 public:
  Mempool(Application& app, const StateReader& committed, std::string chain_id, MempoolConfig config = {});

  // Validates and admits a transaction for inclusion at `next_height` or later; returns its hash.
  Expected<Hash> add(const Transaction& tx, uint64_t next_height);
  // add() for each transaction in order, with the stateless checks (signatures) of all of
  // them run on `pool` first. Results are the same as add() one by one, whatever the pool.
  std::vector<Expected<Hash>> add_batch(std::span<const Transaction> txs, uint64_t next_height, VerifyPool& pool);
  // Highest-fee sender heads first, each sender's transactions in nonce order.
  std::vector<Transaction> reap(size_t max_txs, size_t max_bytes) const;
  // Runs `persist` (the block's LMDB commit) with admissions paused, so no transaction is
  // checked against a half-updated view; then drops what the block included and re-checks
  // the rest against the new state. Returns persist's status.
  // `included_hashes`, when given, are the included transactions' hashes in the same order
  // (the block's receipts carry them), which spares hashing them again.
  Status commit_block(const std::function<Status()>& persist, uint64_t height, const std::vector<Transaction>& included,
                      const std::vector<Hash>* included_hashes = nullptr);

  size_t size() const;
  size_t pending_count(const Address& sender) const;
  // The sender's pending transactions, counted while `read_committed` reads the committed
  // state, both under the lock commit_block holds while it persists a block and drops the
  // block's transactions: a sender's next nonce is its committed nonce plus this count, and
  // the two read apart can straddle a block (the old nonce with the block's transactions
  // already gone from here: a nonce too low). read_committed must not call into the mempool.
  size_t pending_count(const Address& sender, const std::function<void()>& read_committed) const;
  size_t bytes() const;
  bool contains(const Hash& tx_hash) const;

 private:
  struct Entry {
    Transaction tx;
    Hash hash{};
    size_t size = 0;
    uint64_t seq = 0;  // arrival order, breaks fee ties
  };

  Expected<Hash> admit_locked(const Transaction& tx, const Hash& hash, size_t size, uint64_t next_height);
  void recheck_locked(uint64_t next_height);
  void remove_locked(std::map<Address, std::deque<Entry>>::iterator it, size_t index);

  Application& app_;
  std::string chain_id_;
  MempoolConfig config_;
  mutable std::mutex mu_;
  State check_state_;
  std::map<Address, std::deque<Entry>> by_sender_;
  std::set<Hash> hashes_;
  size_t bytes_ = 0;
  uint64_t next_seq_ = 0;
};

}  // namespace ig::chain
