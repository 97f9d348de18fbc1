#include "contracts/yuma/epoch.hpp"

#include <algorithm>
#include <string>

#include "contracts/yuma/bonds.hpp"
#include "contracts/yuma/median.hpp"
#include "contracts/yuma/sparse.hpp"

namespace ig::yuma {
namespace {

constexpr std::size_t kMaxUids = 65535;  // uids are u16 on the chain
constexpr u128 kQ64Limit = u128{1} << 127;

Unexpected bad(const std::string& msg) { return fail("yuma.bad_input", msg); }

bool strictly_ascending(const U16Row& row) {
  for (std::size_t k = 1; k < row.size(); ++k)
    if (row[k - 1].col >= row[k].col) return false;
  return true;
}

Status check_row(const U16Row& row, std::size_t i, const char* what) {
  if (strictly_ascending(row)) return {};  // the usual stored form: no duplicates possible
  std::vector<std::uint32_t> cols;
  cols.reserve(row.size());
  for (const U16Entry& e : row) cols.push_back(e.col);
  std::sort(cols.begin(), cols.end());
  if (std::adjacent_find(cols.begin(), cols.end()) != cols.end())
    return bad(std::string(what) + " row " + std::to_string(i) + " lists a column twice");
  return {};
}

Status validate(const EpochInput& in) {
  const std::size_t n = in.stake.size();
  if (n > kMaxUids) return bad("more than 65535 uids");
  auto same = [n](std::size_t size) { return size == n; };
  if (!same(in.last_update.size())) return bad("last_update length differs from stake length");
  if (!same(in.registered_at.size())) return bad("registered_at length differs from stake length");
  if (!same(in.permits.size())) return bad("permits length differs from stake length");
  if (!in.commit_block.empty() && !same(in.commit_block.size()))
    return bad("commit_block length differs from stake length");
  if (!same(in.weights.size())) return bad("weights must have one row per uid");
  if (!same(in.bonds.size())) return bad("bonds must have one row per uid");
  for (std::size_t i = 0; i < n; ++i) {
    IG_TRY(check_row(in.weights[i], i, "weights"));
    IG_TRY(check_row(in.bonds[i], i, "bonds"));
    if (in.stake[i].raw >= kQ64Limit) return bad("stake of uid " + std::to_string(i) + " exceeds I64F64");
  }
  const Params& p = in.params;
  if (p.bonds_moving_average > 1000000) return bad("bonds_moving_average exceeds 1 000 000");
  if (p.alpha_low > p.alpha_high) return bad("alpha_low exceeds alpha_high");
  if (p.owner_uid && *p.owner_uid >= n) return bad("owner_uid is not a registered uid");
  return {};
}

bool is_owner(const Params& p, std::size_t k) { return p.owner_uid && *p.owner_uid == k; }

// Step 1: uid k is inactive iff L_k + cutoff < b.
std::vector<bool> activity(const EpochInput& in) {
  const Params& p = in.params;
  std::uint64_t cutoff;
  if (p.activity_cutoff) {
    cutoff = *p.activity_cutoff;
  } else {
    const u128 scaled = u128{p.activity_cutoff_factor_milli} * p.tempo / 1000;
    cutoff = std::max<u128>(1, std::min<u128>(scaled, UINT64_MAX));
  }
  std::vector<bool> active(in.stake.size());
  for (std::size_t k = 0; k < active.size(); ++k) {
    const u128 reach = u128{in.last_update[k]} + cutoff;
    active[k] = !(reach < in.block);
  }
  return active;
}

// Step 2: S = narrow32(Q64 normalisation of the threshold-filtered stake).
Expected<std::vector<q32>> stake_shares(const EpochInput& in) {
  const std::size_t n = in.stake.size();
  std::vector<u128> filtered(n, 0);
  u128 total = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const bool below = fx::q64_floor(in.stake[k]) < in.params.stake_threshold;
    filtered[k] = below && !is_owner(in.params, k) ? 0 : in.stake[k].raw;
    total += filtered[k];
    if (total >= kQ64Limit) return fail("yuma.overflow", "total stake exceeds the I64F64 range");
  }
  std::vector<q32> shares(n, 0);
  if (total == 0) return shares;
  for (std::size_t k = 0; k < n; ++k)
    shares[k] = fx::q64_to_q32(fx::div_shift64(filtered[k], total).value_or(0));
  return shares;
}

// Step 3: top-K non-zero stake; ascending stable sort refuses the first n−K (lower uid loses ties).
std::vector<bool> top_k_permits(const std::vector<q32>& s, std::size_t k) {
  const std::size_t n = s.size();
  std::vector<bool> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = s[i] != 0;
  if (n < k) return out;
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return s[a] < s[b]; });
  for (std::size_t r = 0; r < n - k; ++r) out[order[r]] = false;
  return out;
}

void sort_by_column(Row& row) {
  auto by_col = [](const Entry& a, const Entry& b) { return a.col < b.col; };
  if (!std::is_sorted(row.begin(), row.end(), by_col)) std::sort(row.begin(), row.end(), by_col);
}

// Step 5: permitted rows, no self-weights (owner excepted), no outdated or commit-masked entries.
Matrix masked_weights(const EpochInput& in, const std::vector<bool>& permits) {
  const std::size_t n = in.stake.size();
  const bool use_commits = in.params.commit_reveal && !in.commit_block.empty();
  Matrix w(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (!permits[i]) continue;
    // No pending commit behaves like commit block ∞ (the chain's u64::MAX).
    const std::uint64_t commit = use_commits ? in.commit_block[i].value_or(UINT64_MAX) : UINT64_MAX;
    for (const U16Entry& e : in.weights[i]) {
      const std::size_t j = e.col;
      if (j >= n) continue;
      if (j == i && !is_owner(in.params, i)) continue;
      if (in.last_update[i] <= in.registered_at[j]) continue;
      if (commit < in.registered_at[j]) continue;
      w[i].push_back({e.col, fx::from_int(e.val)});
    }
    sort_by_column(w[i]);
  }
  sparse::row_normalize(w);
  return w;
}

// Step 11: stored bonds without entries aimed at slots registered since the last epoch.
Matrix masked_bonds(const EpochInput& in) {
  const std::size_t n = in.stake.size();
  const Params& p = in.params;
  const std::uint64_t tau = in.last_mechanism_step_block != 0
                                ? in.last_mechanism_step_block + 1
                                : (in.block > p.tempo ? in.block - p.tempo : 0);
  Matrix b(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (const U16Entry& e : in.bonds[i]) {
      if (e.col >= n || tau <= in.registered_at[e.col]) continue;
      const q32 v = p.yuma3 ? fx::from_u16_proportion(e.val) : fx::from_int(e.val);
      b[i].push_back({e.col, v});
    }
    sort_by_column(b[i]);
  }
  return b;
}

// x ⊘ y per element, 0 where y == 0 (legacy miner trust).
std::vector<q32> ratio(const std::vector<q32>& x, const std::vector<q32>& y) {
  std::vector<q32> out(x.size(), 0);
  for (std::size_t k = 0; k < x.size(); ++k) out[k] = y[k] != 0 ? fx::div_safe(x[k], y[k]) : 0;
  return out;
}

// vec_max_upscale_to_u16 for proportions (max ≤ 1, so the chain's small-max branch).
std::vector<std::uint16_t> max_upscale(const std::vector<q32>& v) {
  std::vector<std::uint16_t> out(v.size(), 0);
  if (v.empty()) return out;
  const q32 top = *std::max_element(v.begin(), v.end());
  const q32 u16max = fx::from_int(65535);
  for (std::size_t k = 0; k < v.size(); ++k) {
    const q32 scaled = fx::mul(v[k], u16max);
    out[k] = fx::to_u16_floor(top == 0 ? scaled : fx::round_half_away(fx::div_safe(scaled, top)));
  }
  return out;
}

// Step 13: shares of E (server, validator, combined) and their u64 amounts.
void emission_shares(const std::vector<q32>& stake, EpochOutput& out, std::uint64_t total) {
  const std::size_t n = stake.size();
  std::vector<q32> combined(n), server(n), validator(n);
  q32 z = 0;
  for (std::size_t k = 0; k < n; ++k) {
    combined[k] = fx::add_sat(out.incentive[k], out.dividends[k]);
    z = fx::add_checked(z, combined[k]);
  }
  for (std::size_t k = 0; k < n; ++k) {
    server[k] = z == 0 ? out.incentive[k] : fx::div_safe(out.incentive[k], z);
    validator[k] = z == 0 ? out.dividends[k] : fx::div_safe(out.dividends[k], z);
  }
  combined = sparse::normalized(std::move(combined));
  if (z == 0) {
    // Nobody has usable weights: emission follows active stake, or stake if none is active.
    validator = sparse::sum(out.active_stake) == 0 ? stake : out.active_stake;
    combined = validator;
  }
  out.server_emission.resize(n);
  out.validator_emission.resize(n);
  out.emission.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    out.server_emission[k] = fx::emission_amount(server[k], total);
    out.validator_emission[k] = fx::emission_amount(validator[k], total);
    out.emission[k] = fx::emission_amount(combined[k], total);
  }
  out.pruning_score_legacy = max_upscale(combined);
}

std::vector<U16Row> stored_bonds(const Matrix& values, const std::vector<bool>& new_permits) {
  std::vector<U16Row> rows(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!new_permits[i]) continue;  // losing the permit clears the row
    rows[i].reserve(values[i].size());
    for (const Entry& e : values[i]) rows[i].push_back({e.col, fx::to_u16_proportion(e.val)});
  }
  return rows;
}

EpochOutput compute(const EpochInput& in, std::vector<q32> stake) {
  const Params& p = in.params;
  const std::size_t n = in.stake.size();
  EpochOutput out;
  out.active = activity(in);
  out.stake_weight = stake;

  out.permits_used = in.permits;
  out.new_permits = top_k_permits(stake, p.max_allowed_validators);
  if (p.owner_uid) out.permits_used[*p.owner_uid] = out.new_permits[*p.owner_uid] = true;

  out.active_stake.assign(n, 0);
  for (std::size_t k = 0; k < n; ++k)
    if (out.active[k] && out.permits_used[k]) out.active_stake[k] = stake[k];
  out.active_stake = sparse::normalized(std::move(out.active_stake));

  const Matrix w = masked_weights(in, out.permits_used);
  out.consensus = consensus(out.active_stake, w, n, fx::from_u16_proportion(p.kappa));
  const Matrix clipped = sparse::col_clip(w, out.consensus);
  out.validator_trust = sparse::row_sums(clipped);
  const std::vector<q32> ranks = sparse::col_weighted_sums(clipped, out.active_stake, n);
  const std::vector<q32> preranks = sparse::col_weighted_sums(w, out.active_stake, n);
  out.trust_legacy = ratio(ranks, preranks);
  out.incentive = sparse::normalized(ranks);

  const Matrix for_bonds = sparse::interpolate(w, clipped, fx::from_u16_proportion(p.bonds_penalty));
  const Matrix old_bonds = masked_bonds(in);
  const q32 rate = fx::ema_rate(p.bonds_moving_average);
  BondsResult bonds;
  if (p.yuma3) {
    std::optional<LiquidAlphaParams> liquid;
    if (p.liquid_alpha)
      liquid = LiquidAlphaParams{fx::from_u16_proportion(p.alpha_low), fx::from_u16_proportion(p.alpha_high),
                                 fx::from_int(p.alpha_sigmoid_steepness)};
    bonds = yuma3_bonds(for_bonds, old_bonds, out.active_stake, out.incentive, out.consensus, rate, liquid, n);
    if (in.record_liquid_alphas && bonds.alphas)
      out.liquid_alphas = dense_liquid_alphas(for_bonds, old_bonds, out.consensus, *liquid, n);
  } else {
    bonds = yuma2_bonds(for_bonds, old_bonds, out.active_stake, out.incentive, rate, n);
  }
  out.dividends = std::move(bonds.dividends);
  out.bonds = stored_bonds(bonds.stored, out.new_permits);
  emission_shares(stake, out, in.emission);
  return out;
}

}  // namespace

Expected<std::vector<bool>> steady_state_permits(const EpochInput& in) {
  IG_TRY(validate(in));
  IG_TRY_ASSIGN(stake, stake_shares(in));
  std::vector<bool> permits = top_k_permits(stake, in.params.max_allowed_validators);
  if (in.params.owner_uid) permits[*in.params.owner_uid] = true;
  return permits;
}

std::vector<std::uint16_t> to_u16(const std::vector<q32>& v) {
  std::vector<std::uint16_t> out(v.size());
  for (std::size_t k = 0; k < v.size(); ++k) out[k] = fx::to_u16_proportion(v[k]);
  return out;
}

Expected<EpochOutput> run_epoch(const EpochInput& in) {
  IG_TRY(validate(in));
  try {
    IG_TRY_ASSIGN(stake, stake_shares(in));
    return compute(in, std::move(stake));
  } catch (const ArithmeticOverflow& e) {
    return fail("yuma.overflow", e.what());
  }
}

}  // namespace ig::yuma
