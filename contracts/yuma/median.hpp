// Consensus: the stake-weighted κ-quantile of each column (docs/yuma.md §6 step 6).
#pragma once

#include <cstddef>
#include <vector>

#include "contracts/yuma/sparse.hpp"

namespace ig::yuma {

struct Score {
  q32 value = 0;
  q32 stake = 0;
};

// The smallest score x with Σ stake(score ≤ x) > minority, or the largest score when none
// qualifies. `absent_stake` is stake of voters that did not list this column (score 0).
// `scores` is reordered.
q32 weighted_quantile(std::vector<Score>& scores, q32 absent_stake, q32 minority);

// C_j for every column j < n. Voters are the rows with active_stake > 0; their stake is
// re-normalised, absent entries score 0, minority = Σ(re-normalised stake) − kappa.
std::vector<q32> consensus(const std::vector<q32>& active_stake, const Matrix& weights,
                           std::size_t n, q32 kappa);

}  // namespace ig::yuma
