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

#include "chain/application.hpp"

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
  // Highest-fee sender heads first, each sender's transactions in nonce order.
  std::vector<Transaction> reap(size_t max_txs, size_t max_bytes) const;
  // Runs `persist` (the block's LMDB commit) with admissions paused, so no transaction is
  // checked against a half-updated view; then drops what the block included and re-checks
  // the rest against the new state. Returns persist's status.
  Status commit_block(const std::function<Status()>& persist, uint64_t height, const std::vector<Transaction>& included);

  size_t size() const;
  size_t pending_count(const Address& sender) const;  // for a wallet's next nonce
  size_t bytes() const;
  bool contains(const Hash& tx_hash) const;

 private:
  struct Entry {
    Transaction tx;
    Hash hash{};
    size_t size = 0;
    uint64_t seq = 0;  // arrival order, breaks fee ties
  };

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
