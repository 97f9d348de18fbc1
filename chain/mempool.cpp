#include "chain/mempool.hpp"

#include <queue>

#include "chain/hash.hpp"

namespace ig::chain {

Mempool::Mempool(Application& app, const StateReader& committed, std::string chain_id, MempoolConfig config)
    : app_(app), chain_id_(std::move(chain_id)), config_(config), check_state_(committed) {}

Expected<Hash> Mempool::add(const Transaction& tx, uint64_t next_height) {
  Bytes encoded = encode_tx(tx);
  // The signature check is the expensive part: do it before taking the lock.
  IG_TRY(check_tx_stateless(tx, encoded.size(), chain_id_, next_height));
  const Hash hash = sha256(encoded);
  std::lock_guard lock(mu_);
  return admit_locked(tx, hash, encoded.size(), next_height);
}

std::vector<Expected<Hash>> Mempool::add_batch(std::span<const Transaction> txs, uint64_t next_height,
                                               VerifyPool& pool) {
  struct Checked {
    Hash hash{};
    size_t size = 0;
    Status ok;
  };
  std::vector<Checked> checked(txs.size());
  pool.parallel_for(txs.size(), [&](size_t i) {
    const Bytes encoded = encode_tx(txs[i]);
    checked[i].ok = check_tx_stateless(txs[i], encoded.size(), chain_id_, next_height);
    checked[i].hash = sha256(encoded);
    checked[i].size = encoded.size();
  });
  // One lock for the whole batch, admissions in the given order: the same results as add()
  // called for each in turn, since the stateless checks do not depend on the pool's state.
  std::vector<Expected<Hash>> out;
  out.reserve(txs.size());
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < txs.size(); ++i) {
    if (!checked[i].ok) out.emplace_back(fail(checked[i].ok.error()));
    else out.push_back(admit_locked(txs[i], checked[i].hash, checked[i].size, next_height));
  }
  return out;
}

Expected<Hash> Mempool::admit_locked(const Transaction& tx, const Hash& hash, size_t size, uint64_t next_height) {
  if (hashes_.count(hash)) return fail("mempool.duplicate", "transaction is already in the mempool");
  auto& queue = by_sender_[tx.body.sender];
  auto drop_empty = [&] {
    if (queue.empty()) by_sender_.erase(tx.body.sender);
  };
  if (queue.size() >= config_.max_per_sender) {
    drop_empty();
    return fail("mempool.sender_full", "sender already has " + std::to_string(queue.size()) + " pending transactions");
  }
  if (hashes_.size() >= config_.max_txs || bytes_ + size > config_.max_bytes) {
    drop_empty();
    return fail("mempool.full", "mempool is full; retry later or raise the fee");
  }
  size_t cp = check_state_.checkpoint();
  Status ok = app_.check_tx(check_state_, TxEnvelope{tx, hash, size}, next_height);
  if (!ok) {
    check_state_.revert_to(cp);
    drop_empty();
    return fail(ok.error());
  }
  queue.push_back(Entry{tx, hash, size, next_seq_++});
  hashes_.insert(hash);
  bytes_ += size;
  return hash;
}

std::vector<Transaction> Mempool::reap(size_t max_txs, size_t max_bytes) const {
  std::lock_guard lock(mu_);
  struct Head {
    Amount fee;
    uint64_t seq;
    const std::deque<Entry>* queue;
    size_t pos;
    bool operator<(const Head& o) const { return fee != o.fee ? fee < o.fee : seq > o.seq; }
  };
  std::priority_queue<Head> heads;
  for (const auto& [sender, q] : by_sender_)
    if (!q.empty()) heads.push(Head{q.front().tx.body.fee, q.front().seq, &q, 0});
  std::vector<Transaction> out;
  size_t bytes = 0;
  while (!heads.empty() && out.size() < max_txs) {
    Head h = heads.top();
    heads.pop();
    const Entry& e = (*h.queue)[h.pos];
    // A sender whose next transaction does not fit is skipped entirely: later nonces would gap.
    if (bytes + e.size > max_bytes) continue;
    bytes += e.size;
    out.push_back(e.tx);
    if (h.pos + 1 < h.queue->size()) {
      const Entry& next = (*h.queue)[h.pos + 1];
      heads.push(Head{next.tx.body.fee, next.seq, h.queue, h.pos + 1});
    }
  }
  return out;
}

void Mempool::remove_locked(std::map<Address, std::deque<Entry>>::iterator it, size_t index) {
  auto& q = it->second;
  hashes_.erase(q[index].hash);
  bytes_ -= q[index].size;
  q.erase(q.begin() + static_cast<std::ptrdiff_t>(index));
}

Status Mempool::commit_block(const std::function<Status()>& persist, uint64_t committed_height,
                             const std::vector<Transaction>& committed, const std::vector<Hash>* committed_hashes) {
  if (committed_hashes && committed_hashes->size() != committed.size()) committed_hashes = nullptr;
  std::lock_guard lock(mu_);
  IG_TRY(persist());
  for (size_t k = 0; k < committed.size(); ++k) {
    const Transaction& tx = committed[k];
    if (hashes_.empty()) break;  // nothing left to find: skip hashing the rest (a follower's pool is often empty)
    const Hash h = committed_hashes ? (*committed_hashes)[k] : tx_hash(tx);
    if (!hashes_.erase(h)) continue;
    auto it = by_sender_.find(tx.body.sender);
    if (it == by_sender_.end()) continue;
    auto& q = it->second;
    for (size_t i = 0; i < q.size(); ++i)
      if (q[i].hash == h) {
        bytes_ -= q[i].size;
        q.erase(q.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
  }
  recheck_locked(committed_height + 1);
  return {};
}

void Mempool::recheck_locked(uint64_t next_height) {
  check_state_.reset();
  for (auto it = by_sender_.begin(); it != by_sender_.end();) {
    auto& q = it->second;
    // Each failing transaction goes on its own. One made stale by a conflicting transaction
    // in the block (same nonce) leaves its successors valid; after any other failure the
    // successors fail their own nonce check, because the failure changed no check state.
    for (size_t i = 0; i < q.size();) {
      const Entry& e = q[i];
      bool expired = e.tx.body.expiry_height != 0 && e.tx.body.expiry_height < next_height;
      size_t cp = check_state_.checkpoint();
      if (!expired && app_.check_tx(check_state_, TxEnvelope{e.tx, e.hash, e.size}, next_height)) {
        ++i;
        continue;
      }
      check_state_.revert_to(cp);
      remove_locked(it, i);
    }
    it = q.empty() ? by_sender_.erase(it) : std::next(it);
  }
}

size_t Mempool::size() const {
  std::lock_guard lock(mu_);
  return hashes_.size();
}

size_t Mempool::pending_count(const Address& sender) const {
  return pending_count(sender, [] {});
}

size_t Mempool::pending_count(const Address& sender, const std::function<void()>& read_committed) const {
  std::lock_guard lock(mu_);
  read_committed();
  auto it = by_sender_.find(sender);
  return it == by_sender_.end() ? 0 : it->second.size();
}

size_t Mempool::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

bool Mempool::contains(const Hash& h) const {
  std::lock_guard lock(mu_);
  return hashes_.count(h) > 0;
}

}  // namespace ig::chain
