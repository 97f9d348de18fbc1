// Sparse matrix operations (docs/yuma.md §1, §6): presence semantics and per-entry rounding.
#include <gtest/gtest.h>

#include "contracts/yuma/sparse.hpp"

using namespace ig::yuma;

TEST(YumaSparse, NormalizeLeavesAllZeroVectorsAlone) {
  EXPECT_EQ(sparse::normalized({0, 0}), (std::vector<q32>{0, 0}));
  EXPECT_EQ(sparse::normalized({1, 1, 1}), (std::vector<q32>{1431655765, 1431655765, 1431655765}));  // truncated thirds
}

TEST(YumaSparse, RowNormalizeSkipsEmptyAndZeroRows) {
  Matrix m = {{{0, kOne}, {2, 3 * kOne}}, {}, {{1, 0}}};
  sparse::row_normalize(m);
  EXPECT_EQ(m[0], (Row{{0, kOne / 4}, {2, 3 * kOne / 4}}));
  EXPECT_TRUE(m[1].empty());
  EXPECT_EQ(m[2], (Row{{1, 0}}));  // explicit zero stays present
}

TEST(YumaSparse, ColumnNormalizeAndMaxUpscalePerColumn) {
  Matrix m = {{{0, kOne}, {1, 0}}, {{0, 3 * kOne}}};
  Matrix a = m;
  sparse::col_normalize(a, 2);
  EXPECT_EQ(a[0], (Row{{0, kOne / 4}, {1, 0}}));
  EXPECT_EQ(a[1], (Row{{0, 3 * kOne / 4}}));
  Matrix b = m;
  sparse::col_max_upscale(b, 2);
  EXPECT_EQ(b[0][0].val, fx::div_safe(kOne, 3 * kOne));
  EXPECT_EQ(b[1][0].val, kOne);
}

TEST(YumaSparse, ClipRemovesEntriesAboveAZeroConsensus) {
  const Matrix w = {{{0, kHalf}, {1, kHalf}}, {{0, 0}, {1, kOne}}};
  const Matrix c = sparse::col_clip(w, {kOne / 4, 0});
  EXPECT_EQ(c[0], (Row{{0, kOne / 4}}));       // (0,1) removed: W > C = 0
  EXPECT_EQ(c[1], (Row{{0, 0}}));              // an explicit 0 ≤ C stays
}

TEST(YumaSparse, InterpolateKeepsOnlyPositiveEntriesUnlessRatioIsZeroOrOne) {
  const Matrix a = {{{0, kOne}, {1, 0}}}, b = {{{0, kHalf}}};
  EXPECT_EQ(sparse::interpolate(a, b, 0), a);  // explicit zero survives at ratio 0
  EXPECT_EQ(sparse::interpolate(a, b, kOne), b);
  EXPECT_EQ(sparse::interpolate(a, b, kHalf), (Matrix{{{0, 3 * kOne / 4}}}));
}

TEST(YumaSparse, EmaSpansTheUnionAndFloorsEachProduct) {
  const Matrix next = {{{0, kOne}}}, prev = {{{1, kOne}}};
  const q32 rate = 429496730;  // ≈ 0.1
  const Matrix e = sparse::ema(next, prev, rate);
  ASSERT_EQ(e[0].size(), 2u);
  EXPECT_EQ(e[0][0], (Entry{0, rate}));
  EXPECT_EQ(e[0][1], (Entry{1, kOne - rate}));
  EXPECT_TRUE(sparse::ema({{{0, 0}}}, {{}}, rate)[0].empty());  // zero results are dropped
}

TEST(YumaSparse, WeightedSumsFloorEveryProductBeforeSumming) {
  // 3 products of 1 ulp × 0.5 each floor to 0; a fused sum would give 1.
  const Matrix m = {{{0, 1}}, {{0, 1}}, {{0, 1}}};
  EXPECT_EQ(sparse::col_weighted_sums(m, {kHalf, kHalf, kHalf}, 1)[0], 0);
  EXPECT_EQ(sparse::row_weighted_sums(m, {kHalf})[2], 0);
  EXPECT_EQ(sparse::col_weighted_sums(m, {kOne, kOne, kOne}, 1)[0], 3);
}

TEST(YumaSparse, CheckedSumsReportOverflow) {
  const Matrix m = {{{0, kQ32Max}, {1, kQ32Max}}};
  EXPECT_THROW(sparse::row_sums(m), ArithmeticOverflow);
  EXPECT_THROW(sparse::sum({kQ32Max, 1}), ArithmeticOverflow);
}
