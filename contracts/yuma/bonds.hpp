// Bonds and dividends (docs/yuma.md §6 steps 11–12, §7).
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "contracts/yuma/sparse.hpp"

namespace ig::yuma {

struct LiquidAlphaParams {
  q32 alpha_low = 0;   // ⟨α_lo⟩
  q32 alpha_high = 0;  // ⟨α_hi⟩
  q32 steepness = 0;   // AlphaSigmoidSteepness as a Q32 integer
};

struct BondsResult {
  Matrix ema_bonds;               // B⁺ before the storage conversion
  std::vector<q32> dividends;     // D, normalised
  Matrix stored;                  // values to store as u16 (already proportions)
  std::optional<Matrix> alphas;   // per-entry liquid alpha rates where they were used
};

// α_ij of §7 for one pair.
q32 alpha_sigmoid(q32 consensus, q32 weight, q32 bond, const LiquidAlphaParams& p);

// Yuma 2 (§6 step 12a). `prev_bonds` are the stored u16 bonds as Q32 integers, already masked.
BondsResult yuma2_bonds(const Matrix& weights_for_bonds, const Matrix& prev_bonds,
                        const std::vector<q32>& active_stake, const std::vector<q32>& incentive,
                        q32 rate, std::size_t n);

// Yuma 3 (§6 step 12b). `prev_bonds` are ⟨u16⟩ proportions, already masked. Liquid alpha is
// used when `liquid` is set and some consensus value is non-zero.
BondsResult yuma3_bonds(const Matrix& weights_for_bonds, const Matrix& prev_bonds,
                        const std::vector<q32>& active_stake, const std::vector<q32>& incentive,
                        const std::vector<q32>& consensus, q32 rate,
                        const std::optional<LiquidAlphaParams>& liquid, std::size_t n);

// α for all n×n pairs (how the chain computes them; only for reporting).
std::vector<std::vector<q32>> dense_liquid_alphas(const Matrix& weights_for_bonds,
                                                  const Matrix& prev_bonds,
                                                  const std::vector<q32>& consensus,
                                                  const LiquidAlphaParams& p, std::size_t n);

}  // namespace ig::yuma
