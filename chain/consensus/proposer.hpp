// Proposer selection: CometBFT's weighted round robin (cometbft/cometbft
// spec/consensus/proposer-selection.md; types/validator_set.go IncrementProposerPriority).
//
// Every validator carries a priority. One election ("increment") first rescales the priorities
// so that max - min <= 2·total (dividing by ceil(diff / (2·total)), truncating), centres them on
// their average (floor division), then adds each validator's power to its priority, elects the
// highest (ties: the smaller consensus key, as CometBFT breaks them by the smaller address) and
// subtracts the total power from the winner. Over a window of total/gcd elections of an
// unchanged set each validator proposes exactly power/gcd times.
//
// Which election belongs to (height, round): CometBFT creates the genesis set with one
// increment (height 1, round 0), increments once per height and once more per round on a copy.
// So for a set unchanged since genesis, proposer(h, r) is the winner of election number h + r
// starting from all-zero priorities. We define it that way for every set: proposer(h, r) is a
// function of the validator set, h and r alone, and a node that restarts or syncs needs no
// stored priorities. (CometBFT instead carries priorities across set changes, giving a joining
// validator -1.125·total; with this definition a changed set starts its sequence afresh at
// election h, which keeps proportionality within the set.)
//
// Powers above CometBFT's limit (total <= 2^60, so that priorities fit int64) are shifted right
// by the fewest bits that bring the total under it, keeping at least 1: deterministic, and
// proportional up to that rounding (one part in 2^59 of the total or less per validator).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "chain/consensus/validator_set.hpp"

namespace ig::chain::bft {

inline constexpr int64_t kMaxTotalVotingPower = INT64_MAX / 8;

class ProposerSelector {
 public:
  // All priorities zero, nobody elected yet.
  explicit ProposerSelector(const ValidatorSet& set);
  // Explicit priorities (one per validator, in set order), e.g. to follow the spec's examples.
  ProposerSelector(const ValidatorSet& set, std::vector<int64_t> priorities);

  // CometBFT's IncrementProposerPriority(times): rescale and centre once, then `times` elections.
  void increment(uint64_t times);
  // The index (in set order) elected by the last election; nullopt before the first.
  std::optional<size_t> proposer() const { return proposer_; }
  const std::vector<int64_t>& priorities() const { return priorities_; }
  const std::vector<int64_t>& powers() const { return powers_; }  // after the 2^60 scaling
  int64_t total() const { return total_; }

 private:
  void rescale_and_center();
  void elect_once();

  std::vector<PublicKey> keys_;
  std::vector<int64_t> powers_;
  std::vector<int64_t> priorities_;
  int64_t total_ = 0;
  std::optional<size_t> proposer_;
};

// proposer(h, r) for one set: the winner of election h + r from all-zero priorities, each
// election being increment(1). It walks forward from where it is, and keeps an anchor at the
// last point a request went backwards to (the next height's round 0 after rounds > 0), so
// consecutive heights and rounds cost one election each. From zero the sequence is periodic with
// period total/gcd whenever the state is all-zero again after that many elections (always,
// unless a rescale intervened); the schedule checks that once and from then on jumps by the
// period, so a cold start costs at most min(h + r, total/gcd) elections (else h + r).
class ProposerSchedule {
 public:
  explicit ProposerSchedule(ValidatorSet set);
  const ValidatorSet& set() const { return set_; }
  // Election numbers start at 1. Returns the index in set order.
  size_t at(uint64_t election);
  size_t proposer(uint64_t height, uint32_t round) { return at(height + round); }
  uint64_t period() const { return period_; }  // 0 until established (or when there is none)

 private:
  ValidatorSet set_;
  ProposerSelector cursor_;
  uint64_t cursor_at_ = 0;
  ProposerSelector anchor_;
  uint64_t anchor_at_ = 0;
  uint64_t candidate_ = 0;  // total/gcd of the scaled powers
  uint64_t period_ = 0;
  bool period_checked_ = false;
};

}  // namespace ig::chain::bft
