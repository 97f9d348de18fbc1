// Vote tallies: one VoteSet per (height, round, type), and the votes of a whole height.
//
// Counting follows the paper's "upon 2f+1 ⟨PREVOTE, h, r, id(v)⟩": a value's tally is the power
// of the distinct validators that signed a vote for it, while "any" tallies (2f+1 ⟨PREVOTE, h, r,
// ∗⟩) count each validator once. A validator that signs two different values in one (h, r, type)
// has produced chain::Evidence (the first vote and the conflicting one), which the set reports
// once; its second vote still counts for its own value (it is a valid message of that value), and
// any further conflicting vote is ignored so that an equivocator cannot grow the set.
//
// Errors returned by add() mean the vote itself is bad (unknown signer, bad signature,
// misrouted): the driver scores the peer that sent it down.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chain/consensus/messages.hpp"
#include "chain/consensus/validator_set.hpp"

namespace ig::chain::bft {

enum class AddStatus {
  kAdded,      // a new vote, counted
  kDuplicate,  // exactly this vote is already here
  kConflict,   // a second, different vote of this validator: counted, and `evidence` is set
  kIgnored,    // a third value from an equivocator, or beyond a validator's future-round budget
};

struct AddResult {
  AddStatus status = AddStatus::kAdded;
  std::optional<Evidence> evidence;
  size_t validator = 0;  // index in the set
};

class VoteSet {
 public:
  VoteSet(std::string chain_id, std::shared_ptr<const ValidatorSet> set, uint64_t height, uint32_t round, uint8_t type);

  // Rejects (vote.wrong_height / vote.wrong_round / vote.bad_type for a vote of another set,
  // vote.unknown_validator, vote.bad_signature); a duplicate is recognised before the signature
  // is checked, so gossip echoes cost no verification.
  Expected<AddResult> add(const Vote& v);

  uint64_t height() const { return height_; }
  uint32_t round() const { return round_; }
  uint8_t type() const { return type_; }

  Power power_for(const Hash& value) const;
  Power power_any() const { return any_power_; }
  bool has_two_thirds_for(const Hash& value) const { return set_->two_thirds(power_for(value)); }
  bool has_two_thirds_any() const { return set_->two_thirds(any_power_); }
  // The value (possibly nil) that more than 2/3 of the power voted for, if any.
  std::optional<Hash> two_thirds_majority() const;
  // Every vote for `value`, in validator-set order (first votes before conflicting ones).
  std::vector<Vote> votes_for(const Hash& value) const;
  std::vector<Vote> all() const;
  bool all_voted_for(const Hash& value) const { return power_for(value) == set_->total_power(); }
  const Vote* first_vote_of(size_t validator) const;
  bool empty() const { return count_ == 0; }
  size_t count() const { return count_; }  // votes stored, conflicting ones included

 private:
  std::string chain_id_;
  std::shared_ptr<const ValidatorSet> set_;
  uint64_t height_;
  uint32_t round_;
  uint8_t type_;
  std::vector<std::optional<Vote>> first_;   // per validator
  std::vector<std::optional<Vote>> second_;  // per validator: the conflicting vote, if any
  std::map<Hash, Power> by_value_;
  Power any_power_ = 0;
  size_t count_ = 0;
};

// All the votes of one height, by round and type, plus who has sent anything in each round
// (for the round skip "f+1 ⟨∗, h, round, ∗⟩ with round > round_p").
class HeightVoteSet {
 public:
  // Each validator may have messages in at most this many distinct rounds above ours: a correct
  // validator is in one round at a time, and the budget bounds what a byzantine one can make us
  // store; its votes for further rounds are ignored (gossip delivers them again once we move).
  static constexpr size_t kFutureRoundBudget = 4;

  HeightVoteSet(std::string chain_id, uint64_t height, std::shared_ptr<const ValidatorSet> set);

  Expected<AddResult> add(const Vote& v, uint32_t current_round);
  // Records that `validator` sent something (a proposal) in `round`; false when over budget.
  bool note_sender(uint32_t round, size_t validator, uint32_t current_round);

  const VoteSet* get(uint32_t round, uint8_t type) const;
  // Rounds that have at least one vote, ascending.
  std::vector<uint32_t> rounds() const;
  // Rounds that have at least one precommit, ascending.
  std::vector<uint32_t> precommit_rounds() const;
  // The highest round above `current` in which validators with more than 1/3 of the power have
  // sent a message; nullopt if none.
  std::optional<uint32_t> skip_round(uint32_t current) const;
  const ValidatorSet& validators() const { return *set_; }
  std::shared_ptr<const ValidatorSet> validators_ptr() const { return set_; }
  uint64_t height() const { return height_; }

 private:
  struct RoundSenders {
    std::vector<bool> sent;
    Power power = 0;
  };
  bool within_budget(uint32_t round, size_t validator, uint32_t current_round) const;
  void mark(uint32_t round, size_t validator);

  std::string chain_id_;
  uint64_t height_;
  std::shared_ptr<const ValidatorSet> set_;
  std::map<uint32_t, std::pair<std::unique_ptr<VoteSet>, std::unique_ptr<VoteSet>>> rounds_;  // prevotes, precommits
  std::map<uint32_t, RoundSenders> senders_;
};

}  // namespace ig::chain::bft
