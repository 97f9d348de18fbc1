#include "contracts/weights.hpp"

#include "contracts/kv.hpp"
#include "contracts/registry.hpp"
#include "contracts/staking.hpp"

namespace ig::contracts::weights {

namespace {

using chain::StatePrefix;

kv::Bytes commit_key(uint64_t epoch, const chain::Address& a) { return kv::key(StatePrefix::kWeights, 'c', {kv::be64(epoch), a}); }
kv::Bytes row_key(const chain::Address& a) { return kv::key(StatePrefix::kWeights, 'r', {a}); }

Status validate_entries(const chain::State& s, const std::vector<chain::WeightEntry>& entries) {
  uint64_t n = registry::participants(s).size();
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].uid >= n) return fail("weights.bad_uid", "uid " + std::to_string(entries[i].uid) + " is not registered");
    if (i > 0 && entries[i].uid <= entries[i - 1].uid)
      return fail("weights.unsorted", "weights must list each uid once, in ascending order");
  }
  return {};
}

}  // namespace

Expected<void> commit(chain::State& s, const Params& p, uint64_t height, const chain::Address& sender,
                      const chain::CommitWeights& c, std::vector<chain::Event>& events) {
  if (!staking::active_by_account(s, sender)) return fail("weights.not_validator", "only validators set weights");
  uint64_t epoch = epoch_of(p, height);
  if (c.epoch != epoch)
    return fail("weights.wrong_epoch", "commits are for the current epoch " + std::to_string(epoch) + ", not " + std::to_string(c.epoch));
  if (s.get(commit_key(epoch, sender))) return fail("weights.duplicate_commit", "already committed weights this epoch");
  s.put(commit_key(epoch, sender), c.commit);
  events.push_back(chain::Event{"weights_committed", {{"validator", chain::address_to_string(sender)}, {"epoch", std::to_string(epoch)}}});
  return {};
}

Expected<void> reveal(chain::State& s, const Params& p, uint64_t height, const chain::Address& sender,
                      const chain::RevealWeights& r, std::vector<chain::Event>& events) {
  if (!staking::active_by_account(s, sender)) return fail("weights.not_validator", "only validators set weights");
  uint64_t now = epoch_of(p, height);
  if (now == 0 || r.epoch != now - 1)
    return fail("weights.wrong_epoch", "reveals in epoch " + std::to_string(now) + " are for commits made in epoch " +
                                           std::to_string(now == 0 ? 0 : now - 1));
  if (height - now * p.tempo >= p.reveal_window_blocks) return fail("weights.reveal_closed", "the reveal window has closed");
  auto committed = get_commit(s, r.epoch, sender);
  if (!committed) return fail("weights.no_commit", "no commit from this validator in epoch " + std::to_string(r.epoch));
  if (*committed != chain::weights_commit_hash(sender, r.epoch, r.weights, r.salt))
    return fail("weights.mismatch", "the revealed weights and salt do not match the commit made in epoch " + std::to_string(r.epoch) +
                                        " (H(sender, epoch, weights, salt) differs); nothing was changed and the commit still stands");
  IG_TRY(validate_entries(s, r.weights));
  s.erase(commit_key(r.epoch, sender));
  chain::Writer w;
  w.u64(now);
  w.u64(height);
  w.u32(static_cast<uint32_t>(r.weights.size()));
  for (const auto& e : r.weights) {
    w.u16(e.uid);
    w.u16(e.weight);
  }
  s.put(row_key(sender), w.data());
  events.push_back(chain::Event{"weights_revealed",
                                {{"validator", chain::address_to_string(sender)},
                                 {"epoch", std::to_string(r.epoch)},
                                 {"entries", std::to_string(r.weights.size())}}});
  return {};
}

std::optional<Row> get_row(const chain::State& s, const chain::Address& account) {
  return kv::load<Row>(s, row_key(account), [](chain::Reader& r) {
    Row row;
    row.reveal_epoch = r.u64();
    row.reveal_height = r.u64();
    row.entries.resize(r.count(chain::kMaxWeights, 4));
    for (auto& e : row.entries) {
      e.uid = r.u16();
      e.weight = r.u16();
    }
    return row;
  });
}

std::optional<chain::Hash> get_commit(const chain::State& s, uint64_t epoch, const chain::Address& account) {
  auto raw = s.get(commit_key(epoch, account));
  if (!raw || raw->size() != 32) return std::nullopt;
  chain::Hash h{};
  std::copy(raw->begin(), raw->end(), h.begin());
  return h;
}

}  // namespace ig::contracts::weights
