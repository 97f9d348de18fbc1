#include "contracts/yuma/bonds.hpp"

#include <algorithm>

namespace ig::yuma {
namespace {

q32 clamp_q(q32 v, q32 lo, q32 hi) { return std::max(std::min(v, hi), lo); }

// Value of column `col` in an ascending row, 0 when absent; `pos` advances monotonically.
q32 lookup(const Row& row, std::size_t& pos, std::uint32_t col) {
  while (pos < row.size() && row[pos].col < col) ++pos;
  return pos < row.size() && row[pos].col == col ? row[pos].val : 0;
}

bool any_nonzero(const std::vector<q32>& v) {
  return std::any_of(v.begin(), v.end(), [](q32 x) { return x != 0; });
}

// B⁺_ij = min(1, (1 − α_ij) ⊗ B_ij + max(0, α_ij ⊗ W̃_ij)), only where W̃ has an entry:
// an old bond without a W̃ entry is dropped (the sparse chain path; §6 step 12b).
Matrix liquid_ema(const Matrix& w, const Matrix& b, const std::vector<q32>& consensus,
                  const LiquidAlphaParams& p, Matrix& alphas) {
  Matrix out(w.size());
  alphas.assign(w.size(), Row{});
  for (std::size_t i = 0; i < w.size(); ++i) {
    std::size_t pos = 0;
    for (const Entry& e : w[i]) {
      const q32 bond = lookup(b[i], pos, e.col);
      const q32 a = alpha_sigmoid(consensus[e.col], e.val, bond, p);
      alphas[i].push_back({e.col, a});
      const q32 decayed = fx::mul(fx::sub_sat(kOne, a), bond);
      const q32 gained = std::max(fx::mul(a, e.val), q32{0});
      const q32 v = std::min(fx::add_sat(decayed, gained), kOne);
      if (v > 0) out[i].push_back({e.col, v});
    }
  }
  return out;
}

}  // namespace

q32 alpha_sigmoid(q32 consensus, q32 weight, q32 bond, const LiquidAlphaParams& p) {
  const q32 diff_buy = clamp_q(fx::sub_sat(weight, consensus), 0, kOne);
  const q32 diff_sell = clamp_q(fx::sub_sat(bond, weight), 0, kOne);
  const q32 diff = weight >= bond ? diff_buy : diff_sell;
  // x = (steepness ⊘ −100) ⊗ (diff − ½); g = 1 ⊘ (1 + exp(x)).
  const q32 slope = fx::div_sat(p.steepness, fx::from_int(-100));
  const q32 x = fx::mul(slope, fx::sub_sat(diff, kHalf));
  const q32 g = fx::div_sat(kOne, fx::add_sat(kOne, fx::exp_safe(x)));
  const q32 alpha = fx::add_sat(p.alpha_low, fx::mul(g, fx::sub_sat(p.alpha_high, p.alpha_low)));
  return clamp_q(alpha, p.alpha_low, p.alpha_high);
}

BondsResult yuma2_bonds(const Matrix& weights_for_bonds, const Matrix& prev_bonds,
                        const std::vector<q32>& active_stake, const std::vector<q32>& incentive,
                        q32 rate, std::size_t n) {
  Matrix old = prev_bonds;
  sparse::col_normalize(old, n);
  Matrix delta = sparse::scale_rows(weights_for_bonds, active_stake);
  sparse::col_normalize(delta, n);
  BondsResult r;
  r.ema_bonds = sparse::ema(delta, old, rate);
  sparse::col_normalize(r.ema_bonds, n);
  r.dividends = sparse::normalized(sparse::row_weighted_sums(r.ema_bonds, incentive));
  r.stored = r.ema_bonds;
  sparse::col_max_upscale(r.stored, n);
  return r;
}

BondsResult yuma3_bonds(const Matrix& weights_for_bonds, const Matrix& prev_bonds,
                        const std::vector<q32>& active_stake, const std::vector<q32>& incentive,
                        const std::vector<q32>& consensus, q32 rate,
                        const std::optional<LiquidAlphaParams>& liquid, std::size_t n) {
  BondsResult r;
  if (liquid && any_nonzero(consensus)) {
    Matrix alphas;
    r.ema_bonds = liquid_ema(weights_for_bonds, prev_bonds, consensus, *liquid, alphas);
    r.alphas = std::move(alphas);
  } else {
    // The uniform path is the plain EMA over the union of entries (no cap at 1).
    r.ema_bonds = sparse::ema(weights_for_bonds, prev_bonds, rate);
  }
  Matrix shares = r.ema_bonds;
  sparse::col_normalize(shares, n);
  // t_i = Σ_j B̂_ij ⊗ I_j; D_i = t_i ⊗ A_i (0 on overflow); D = Norm(D). Stake enters only here.
  const std::vector<q32> per_validator = sparse::row_weighted_sums(shares, incentive);
  std::vector<q32> dividends(per_validator.size(), 0);
  for (std::size_t i = 0; i < dividends.size(); ++i)
    dividends[i] = fx::mul_checked(per_validator[i], active_stake[i]).value_or(0);
  r.dividends = sparse::normalized(std::move(dividends));
  r.stored = r.ema_bonds;
  return r;
}

std::vector<std::vector<q32>> dense_liquid_alphas(const Matrix& weights_for_bonds,
                                                  const Matrix& prev_bonds,
                                                  const std::vector<q32>& consensus,
                                                  const LiquidAlphaParams& p, std::size_t n) {
  std::vector<std::vector<q32>> out(weights_for_bonds.size(), std::vector<q32>(n, 0));
  for (std::size_t i = 0; i < weights_for_bonds.size(); ++i) {
    std::size_t wpos = 0, bpos = 0;
    for (std::uint32_t j = 0; j < n; ++j) {
      const q32 w = lookup(weights_for_bonds[i], wpos, j);
      const q32 b = lookup(prev_bonds[i], bpos, j);
      out[i][j] = alpha_sigmoid(consensus[j], w, b, p);
    }
  }
  return out;
}

}  // namespace ig::yuma
