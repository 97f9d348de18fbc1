#include "chain/consensus/vote_set.hpp"

namespace ig::chain::bft {

VoteSet::VoteSet(std::string chain_id, std::shared_ptr<const ValidatorSet> set, uint64_t height, uint32_t round,
                 uint8_t type)
    : chain_id_(std::move(chain_id)),
      set_(std::move(set)),
      height_(height),
      round_(round),
      type_(type),
      first_(set_->size()),
      second_(set_->size()) {}

Expected<AddResult> VoteSet::add(const Vote& v) {
  if (v.type != type_) return fail("vote.bad_type", "vote of type " + std::to_string(v.type) + " in a set of type " + std::to_string(type_));
  if (v.height != height_) return fail("vote.wrong_height", "vote for height " + std::to_string(v.height));
  if (v.round != round_) return fail("vote.wrong_round", "vote for round " + std::to_string(v.round));
  auto idx = set_->index_of(v.validator);
  if (!idx) return fail("vote.unknown_validator", "vote signed by " + to_hex(v.validator) + ", not a validator of this height");
  AddResult res;
  res.validator = *idx;
  auto& first = first_[*idx];
  auto& second = second_[*idx];
  if ((first && *first == v) || (second && *second == v)) {
    res.status = AddStatus::kDuplicate;
    return res;
  }
  if (!verify_vote_signature(chain_id_, v)) return fail("vote.bad_signature", "vote signature does not verify");
  if (!first) {
    first = v;
    ++count_;
    by_value_[v.block_hash] += set_->at(*idx).power;
    any_power_ += set_->at(*idx).power;
    return res;
  }
  // Same value, different signature bytes (BIP-340 signing is randomised): not a conflict, and
  // nothing new to count.
  if (first->block_hash == v.block_hash || (second && second->block_hash == v.block_hash)) {
    res.status = AddStatus::kDuplicate;
    return res;
  }
  if (second) {
    res.status = AddStatus::kIgnored;
    return res;
  }
  second = v;
  ++count_;
  by_value_[v.block_hash] += set_->at(*idx).power;
  res.status = AddStatus::kConflict;
  res.evidence = Evidence{*first, v};
  return res;
}

Power VoteSet::power_for(const Hash& value) const {
  auto it = by_value_.find(value);
  return it == by_value_.end() ? 0 : it->second;
}

std::optional<Hash> VoteSet::two_thirds_majority() const {
  for (const auto& [value, power] : by_value_)
    if (set_->two_thirds(power)) return value;
  return std::nullopt;
}

std::vector<Vote> VoteSet::votes_for(const Hash& value) const {
  std::vector<Vote> out;
  for (size_t i = 0; i < first_.size(); ++i) {
    if (first_[i] && first_[i]->block_hash == value) out.push_back(*first_[i]);
    else if (second_[i] && second_[i]->block_hash == value) out.push_back(*second_[i]);
  }
  return out;
}

std::vector<Vote> VoteSet::all() const {
  std::vector<Vote> out;
  for (size_t i = 0; i < first_.size(); ++i) {
    if (first_[i]) out.push_back(*first_[i]);
    if (second_[i]) out.push_back(*second_[i]);
  }
  return out;
}

const Vote* VoteSet::first_vote_of(size_t validator) const {
  return validator < first_.size() && first_[validator] ? &*first_[validator] : nullptr;
}

HeightVoteSet::HeightVoteSet(std::string chain_id, uint64_t height, std::shared_ptr<const ValidatorSet> set)
    : chain_id_(std::move(chain_id)), height_(height), set_(std::move(set)) {}

bool HeightVoteSet::within_budget(uint32_t round, size_t validator, uint32_t current_round) const {
  if (round <= current_round) return true;
  size_t distinct = 0;
  for (auto it = senders_.upper_bound(current_round); it != senders_.end(); ++it) {
    if (!it->second.sent[validator]) continue;
    if (it->first == round) return true;  // already counted there
    ++distinct;
  }
  return distinct < kFutureRoundBudget;
}

void HeightVoteSet::mark(uint32_t round, size_t validator) {
  auto& s = senders_[round];
  if (s.sent.empty()) s.sent.resize(set_->size(), false);
  if (s.sent[validator]) return;
  s.sent[validator] = true;
  s.power += set_->at(validator).power;
}

Expected<AddResult> HeightVoteSet::add(const Vote& v, uint32_t current_round) {
  if (v.height != height_) return fail("vote.wrong_height", "vote for height " + std::to_string(v.height));
  if (v.type != kPrevote && v.type != kPrecommit) return fail("vote.bad_type", "unknown vote type " + std::to_string(v.type));
  if (v.round > kMaxRound) return fail("vote.bad_round", "round " + std::to_string(v.round) + " exceeds 2^31-1");
  auto idx = set_->index_of(v.validator);
  if (!idx) return fail("vote.unknown_validator", "vote signed by " + to_hex(v.validator) + ", not a validator of this height");
  if (!within_budget(v.round, *idx, current_round)) {
    AddResult res;
    res.status = AddStatus::kIgnored;
    res.validator = *idx;
    return res;
  }
  auto& slot = rounds_[v.round];
  auto& set = v.type == kPrevote ? slot.first : slot.second;
  if (!set) set = std::make_unique<VoteSet>(chain_id_, set_, height_, v.round, v.type);
  auto res = set->add(v);
  if (res && res->status != AddStatus::kDuplicate && res->status != AddStatus::kIgnored) mark(v.round, *idx);
  if (set->empty()) {
    // Nothing was stored (the first vote was refused): drop the empty set again.
    if (v.type == kPrevote) slot.first.reset();
    else slot.second.reset();
    if (!slot.first && !slot.second) rounds_.erase(v.round);
  }
  return res;
}

bool HeightVoteSet::note_sender(uint32_t round, size_t validator, uint32_t current_round) {
  if (validator >= set_->size() || !within_budget(round, validator, current_round)) return false;
  mark(round, validator);
  return true;
}

const VoteSet* HeightVoteSet::get(uint32_t round, uint8_t type) const {
  auto it = rounds_.find(round);
  if (it == rounds_.end()) return nullptr;
  return type == kPrevote ? it->second.first.get() : it->second.second.get();
}

std::vector<uint32_t> HeightVoteSet::rounds() const {
  std::vector<uint32_t> out;
  for (const auto& entry : rounds_) out.push_back(entry.first);
  return out;
}

std::vector<uint32_t> HeightVoteSet::precommit_rounds() const {
  std::vector<uint32_t> out;
  for (const auto& [round, sets] : rounds_)
    if (sets.second) out.push_back(round);
  return out;
}

std::optional<uint32_t> HeightVoteSet::skip_round(uint32_t current) const {
  std::optional<uint32_t> best;
  for (auto it = senders_.upper_bound(current); it != senders_.end(); ++it)
    if (set_->one_third(it->second.power)) best = it->first;
  return best;
}

}  // namespace ig::chain::bft
