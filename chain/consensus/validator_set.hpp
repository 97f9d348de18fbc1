// The validator set of one height as consensus sees it: who may vote, with what power, and the
// two thresholds every rule of the algorithm is written in.
//
// "2f+1" in the paper means "more than 2/3 of the total voting power" and "f+1" means "more than
// 1/3" (so it includes at least one correct validator while byzantine power stays below 1/3).
// Sums are 128-bit: 1024 validators of u64 power cannot overflow them.
#pragma once

#include <optional>
#include <vector>

#include "chain/block.hpp"

namespace ig::chain::bft {

using Power = unsigned __int128;

class ValidatorSet {
 public:
  // Drops zero-power entries (they cannot vote or propose); rejects an empty result, more than
  // kMaxValidators entries, and a consensus key listed twice.
  static Expected<ValidatorSet> make(std::vector<Validator> validators);
  ValidatorSet() = default;

  size_t size() const { return validators_.size(); }
  bool empty() const { return validators_.empty(); }
  const Validator& at(size_t i) const { return validators_[i]; }
  const std::vector<Validator>& validators() const { return validators_; }
  std::optional<size_t> index_of(const PublicKey& key) const;
  Power total_power() const { return total_; }

  bool two_thirds(Power p) const { return p * 3 > total_ * 2; }  // "2f+1"
  bool one_third(Power p) const { return p * 3 > total_; }       // "f+1"

  bool operator==(const ValidatorSet& o) const { return validators_ == o.validators_; }

 private:
  std::vector<Validator> validators_;
  std::vector<std::pair<PublicKey, size_t>> by_key_;  // sorted, for index_of
  Power total_ = 0;
};

}  // namespace ig::chain::bft
