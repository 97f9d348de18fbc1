#include "contracts/yuma/median.hpp"

#include <algorithm>

namespace ig::yuma {

q32 weighted_quantile(std::vector<Score>& scores, q32 absent_stake, q32 minority) {
  // All sums are exact, so this closed form equals the chain's mid-pivot partition search.
  if (absent_stake > 0) scores.push_back({0, absent_stake});
  if (scores.empty()) return 0;
  std::sort(scores.begin(), scores.end(),
            [](const Score& a, const Score& b) { return a.value < b.value; });
  q32 cumulative = 0;
  std::size_t k = 0;
  while (k < scores.size()) {
    const q32 level = scores[k].value;
    for (; k < scores.size() && scores[k].value == level; ++k)
      cumulative = fx::add_checked(cumulative, scores[k].stake);
    if (cumulative > minority) return level;
  }
  return scores.back().value;
}

std::vector<q32> consensus(const std::vector<q32>& active_stake, const Matrix& weights,
                           std::size_t n, q32 kappa) {
  std::vector<q32> voter_stake;
  std::vector<std::size_t> voters;
  for (std::size_t i = 0; i < active_stake.size(); ++i) {
    if (active_stake[i] > 0) {
      voters.push_back(i);
      voter_stake.push_back(active_stake[i]);
    }
  }
  std::vector<q32> out(n, 0);
  if (voters.empty()) return out;
  voter_stake = sparse::normalized(std::move(voter_stake));
  const q32 total = sparse::sum(voter_stake);
  const q32 minority = fx::sub_sat(total, kappa);

  std::vector<std::vector<Score>> columns(n);
  for (std::size_t v = 0; v < voters.size(); ++v)
    for (const Entry& e : weights[voters[v]]) columns[e.col].push_back({e.val, voter_stake[v]});
  for (std::size_t j = 0; j < n; ++j) {
    q32 present = 0;
    for (const Score& s : columns[j]) present = fx::add_checked(present, s.stake);
    out[j] = weighted_quantile(columns[j], total - present, minority);
  }
  return out;
}

}  // namespace ig::yuma
