#include "chain/consensus/validator_set.hpp"

#include <algorithm>

#include "chain/codec.hpp"

namespace ig::chain::bft {

Expected<ValidatorSet> ValidatorSet::make(std::vector<Validator> validators) {
  ValidatorSet set;
  for (auto& v : validators)
    if (v.power > 0) set.validators_.push_back(std::move(v));
  if (set.validators_.empty()) return fail("validators.empty", "no validator with voting power");
  if (set.validators_.size() > kMaxValidators)
    return fail("validators.too_many", "more than " + std::to_string(kMaxValidators) + " validators");
  for (size_t i = 0; i < set.validators_.size(); ++i) {
    set.by_key_.emplace_back(set.validators_[i].consensus_key, i);
    set.total_ += set.validators_[i].power;
  }
  std::sort(set.by_key_.begin(), set.by_key_.end());
  for (size_t i = 1; i < set.by_key_.size(); ++i)
    if (set.by_key_[i].first == set.by_key_[i - 1].first)
      return fail("validators.duplicate_key", "consensus key " + to_hex(set.by_key_[i].first) + " is listed twice");
  return set;
}

std::optional<size_t> ValidatorSet::index_of(const PublicKey& key) const {
  auto it = std::lower_bound(by_key_.begin(), by_key_.end(), key,
                             [](const std::pair<PublicKey, size_t>& e, const PublicKey& k) { return e.first < k; });
  if (it == by_key_.end() || it->first != key) return std::nullopt;
  return it->second;
}

}  // namespace ig::chain::bft
