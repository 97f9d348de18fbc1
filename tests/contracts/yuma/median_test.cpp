// Consensus (docs/yuma.md §6 step 6): the closed-form quantile against an independent port of
// the chain's mid-pivot partition search, plus the edge cases the spec names.
#include <gtest/gtest.h>

#include <random>

#include "contracts/yuma/median.hpp"

using namespace ig::yuma;

namespace {

// The chain's weighted_median: recursive mid-pivot partition over exact stake sums.
q32 partition_median(const std::vector<q32>& stake, const std::vector<q32>& score, const std::vector<std::size_t>& idx,
                     q32 minority, q32 lo, q32 hi) {
  if (idx.empty()) return 0;
  if (idx.size() == 1) return score[idx[0]];
  const q32 pivot = score[idx[idx.size() / 2]];
  q32 lo_stake = 0, hi_stake = 0;
  std::vector<std::size_t> lower, upper;
  for (std::size_t i : idx) {
    if (score[i] == pivot) continue;
    if (score[i] < pivot) {
      lo_stake += stake[i];
      lower.push_back(i);
    } else {
      hi_stake += stake[i];
      upper.push_back(i);
    }
  }
  if (lo + lo_stake <= minority && minority < hi - hi_stake) return pivot;
  if (minority < lo + lo_stake && !lower.empty()) return partition_median(stake, score, lower, minority, lo, lo + lo_stake);
  if (hi - hi_stake <= minority && !upper.empty()) return partition_median(stake, score, upper, minority, hi - hi_stake, hi);
  return pivot;
}

// Dense oracle for one column: every voter scores (absent = 0).
q32 oracle(const std::vector<q32>& stake, const std::vector<q32>& score, q32 kappa) {
  std::vector<std::size_t> idx(stake.size());
  q32 total = 0;
  for (std::size_t i = 0; i < idx.size(); ++i) {
    idx[i] = i;
    total += stake[i];
  }
  return partition_median(stake, score, idx, total - kappa, 0, total);
}

Matrix column_matrix(const std::vector<q32>& score, const std::vector<bool>& present) {
  Matrix m(score.size());
  for (std::size_t i = 0; i < score.size(); ++i)
    if (present[i]) m[i].push_back({0, score[i]});
  return m;
}

}  // namespace

TEST(YumaMedian, ClosedFormEqualsPartitionSearchOnRandomColumns) {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 3000; ++trial) {
    const std::size_t v = 1 + rng() % 9;
    std::vector<q32> raw(v), score(v);
    std::vector<bool> present(v);
    for (std::size_t i = 0; i < v; ++i) {
      raw[i] = 1 + static_cast<q32>(rng() % 1000) * 1000;
      // Few distinct levels so ties are common; some entries absent, some explicit zeros.
      score[i] = static_cast<q32>(rng() % 5) * (kOne / 4);
      present[i] = rng() % 4 != 0;
      if (!present[i]) score[i] = 0;
    }
    const std::vector<q32> stake = sparse::normalized(raw);
    const q32 kappa = trial % 10 == 0 ? static_cast<q32>(rng() % (2 * kOne)) - kOne / 2
                                      : fx::from_u16_proportion(static_cast<std::uint16_t>(rng() % 65536));
    const std::vector<q32> got = consensus(stake, column_matrix(score, present), 1, kappa);
    ASSERT_EQ(got[0], oracle(sparse::normalized(stake), score, kappa)) << "trial " << trial;
  }
}

TEST(YumaMedian, AbsentVotersCountAsScoringZero) {
  // Stakes 0.3 / 0.3 / 0.4; only the first two score the column at 0.8.
  const std::vector<q32> stake = sparse::normalized({3, 3, 4});
  Matrix w(3);
  w[0].push_back({0, fx::div_safe(fx::from_int(8), fx::from_int(10))});
  w[1].push_back({0, fx::div_safe(fx::from_int(8), fx::from_int(10))});
  // 0.6 of stake supports 0.8 ≥ κ = 0.5 → consensus 0.8.
  EXPECT_EQ(consensus(stake, w, 1, fx::from_u16_proportion(32767))[0], w[0][0].val);
  // κ = 0.7 exceeds the 0.6 that supports it → only level 0 has enough support.
  EXPECT_EQ(consensus(stake, w, 1, fx::div_safe(fx::from_int(7), fx::from_int(10)))[0], 0);
}

TEST(YumaMedian, KappaBeyondTotalGivesMinimumAndNonPositiveKappaGivesMaximum) {
  const std::vector<q32> stake = sparse::normalized({1, 1, 1});
  Matrix w(3);
  w[0].push_back({0, kOne / 4});
  w[1].push_back({0, kOne / 2});
  w[2].push_back({0, kOne});
  EXPECT_EQ(consensus(stake, w, 1, kOne)[0], kOne / 4);   // σ < 1 = κ: minimum
  EXPECT_EQ(consensus(stake, w, 1, 0)[0], kOne);          // κ = 0: maximum
  EXPECT_EQ(consensus(stake, w, 1, -kOne)[0], kOne);
}

TEST(YumaMedian, NoVotersGivesZeroConsensus) {
  Matrix w(2);
  w[0].push_back({1, kOne});
  EXPECT_EQ(consensus({0, 0}, w, 2, kHalf), (std::vector<q32>{0, 0}));
}

TEST(YumaMedian, VotersStakeIsRenormalisedBeforeTheQuantile) {
  // Active stake already normalised; only voters with stake > 0 count.
  const std::vector<q32> stake = sparse::normalized({0, 2, 2});
  Matrix w(3);
  w[0].push_back({0, kOne});  // a zero-stake row never votes
  w[1].push_back({0, kOne});
  EXPECT_EQ(consensus(stake, w, 1, fx::from_u16_proportion(32767))[0], kOne);  // 0.5 ≥ 0.49999
  EXPECT_EQ(consensus(stake, w, 1, fx::from_u16_proportion(32769))[0], 0);     // 0.5 < 0.50002
}
