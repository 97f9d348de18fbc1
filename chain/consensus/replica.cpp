#include "chain/consensus/replica.hpp"

namespace ig::chain::bft {

Replica::Replica(std::string chain_id, Signer* signer, Wal* wal, CoreConfig config)
    : signer_(signer), wal_(wal), guard_(this), core_(std::move(chain_id), signer ? &guard_ : nullptr, config) {}

Output Replica::failed_output() const {
  Output o;
  o.ignored = true;
  o.errors.push_back(make_error("replica.failed", "a WAL write failed earlier; this node must stop"));
  return o;
}

Status Replica::wal_do(const Status& st) {
  if (!st) failed_ = true;
  return st;
}

Status Replica::flush() {
  if (failed_) return fail("replica.failed", "a WAL write failed earlier");
  if (!wal_) return {};
  return wal_do(wal_->sync());
}

Output Replica::start_height(uint64_t height, std::vector<Validator> validators) {
  if (failed_) return failed_output();
  signed_.clear();
  replayed_ = 0;
  std::vector<WalEntry> entries;
  if (wal_) {
    if (height > 1) {
      if (auto st = wal_do(wal_->end_height(height - 1)); !st) {
        Output o = failed_output();
        o.errors.push_back(st.error());
        return o;
      }
    }
    auto read = wal_->read_height(height);
    if (!read) {
      failed_ = true;
      Output o = failed_output();
      o.errors.push_back(read.error());
      return o;
    }
    entries = std::move(*read);
  }
  for (const auto& e : entries)
    if (const auto* s = std::get_if<WalSignature>(&e))
      signed_[Key{s->height, s->round, static_cast<uint8_t>(s->step)}] = {s->sign_hash, s->signature};
  replaying_ = true;
  Output out = core_.start_height(height, std::move(validators));
  for (const auto& e : entries) {
    if (std::holds_alternative<WalSignature>(e)) continue;
    ++replayed_;
    out.merge(apply(e));
    if (failed_) break;
  }
  replaying_ = false;
  out.need_block = core_.awaiting_block();
  return out;
}

Output Replica::apply(const WalEntry& e) {
  return std::visit(
      [&](const auto& x) -> Output {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, WalProposal>) return core_.on_proposal(x.proposal, x.valid);
        else if constexpr (std::is_same_v<T, WalVote>) return core_.on_vote(x.vote);
        else if constexpr (std::is_same_v<T, WalTimeout>) return core_.on_timeout(x.timeout);
        else if constexpr (std::is_same_v<T, WalOwnBlock>) return core_.on_own_block(x.block);
        else {
          Output o;
          o.ignored = true;
          return o;
        }
      },
      e);
}

template <typename Fn>
Output Replica::feed(WalEntry entry, Fn&& call) {
  if (failed_) return failed_output();
  pending_ = std::move(entry);
  pending_logged_ = false;
  Output out = call();
  // Rejected or ignored inputs changed nothing; replay does not need them.
  if (wal_ && !failed_ && !pending_logged_ && !out.rejected && !out.ignored) {
    if (auto st = wal_do(wal_->append(*pending_)); !st) out.errors.push_back(st.error());
  }
  pending_.reset();
  // A decision's inputs are made durable, so a crash before the block is committed replays into
  // the same decision instead of waiting for peers to resend their precommits.
  if (wal_ && !failed_ && out.decision) {
    if (auto st = wal_do(wal_->sync()); !st) out.errors.push_back(st.error());
  }
  if (failed_) {
    // Nothing signed after the failure may leave: drop this input's messages.
    out.proposals.clear();
    out.votes.clear();
    out.errors.push_back(make_error("replica.failed", "a WAL write failed; this node must stop"));
  }
  return out;
}

Output Replica::on_proposal(const Proposal& p, bool valid) {
  return feed(WalProposal{p, valid}, [&] { return core_.on_proposal(p, valid); });
}

Output Replica::on_vote(const Vote& v) {
  return feed(WalVote{v}, [&] { return core_.on_vote(v); });
}

Output Replica::on_timeout(const TimeoutRequest& t) {
  return feed(WalTimeout{t}, [&] { return core_.on_timeout(t); });
}

Output Replica::on_own_block(Block block) {
  WalEntry e = WalOwnBlock{block};
  return feed(std::move(e), [&] { return core_.on_own_block(std::move(block)); });
}

Expected<Signature> Replica::guarded_sign(uint64_t height, uint32_t round, SignStep step, const Hash& sign_hash) {
  if (failed_) return fail("replica.failed", "a WAL write failed; signing stopped");
  const Key key{height, round, static_cast<uint8_t>(step)};
  if (auto it = signed_.find(key); it != signed_.end()) {
    if (it->second.first == sign_hash) return it->second.second;
    return fail("signer.conflict", "the WAL records a different message signed at height " + std::to_string(height) +
                                       " round " + std::to_string(round) + " step " + std::to_string(std::get<2>(key)));
  }
  if (wal_ && !replaying_) {
    // The input that leads to this signature, and all before it, become durable first.
    if (pending_ && !pending_logged_) {
      IG_TRY(wal_do(wal_->append(*pending_)));
      pending_logged_ = true;
    }
    IG_TRY(wal_do(wal_->sync()));
  }
  IG_TRY_ASSIGN(sig, signer_->sign(height, round, step, sign_hash));
  signed_[key] = {sign_hash, sig};
  if (wal_) {
    IG_TRY(wal_do(wal_->append(WalSignature{height, round, step, sign_hash, sig})));
    IG_TRY(wal_do(wal_->sync()));
  }
  return sig;
}

}  // namespace ig::chain::bft
