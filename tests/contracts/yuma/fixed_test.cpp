// Fixed-point primitives of docs/yuma.md §2: floor vs round, truncating division, safe
// division, u16 conversions, exp series, Q64 normalisation.
#include <gtest/gtest.h>

#include <random>

#include "contracts/yuma/fixed.hpp"

using namespace ig::yuma;

namespace {
constexpr q32 kUlp = 1;
}

TEST(YumaFixed, MultiplyFloorsPositiveProducts) {
  EXPECT_EQ(fx::mul(kUlp, kHalf), 0);            // 0.5 ulp floors to 0
  EXPECT_EQ(fx::mul(3 * kUlp, kHalf), 1);        // 1.5 ulp → 1 (nearest would give 2)
  EXPECT_EQ(fx::mul(fx::from_int(3), kHalf), fx::from_int(3) / 2);
  EXPECT_EQ(fx::mul(kOne, kOne), kOne);
}

TEST(YumaFixed, MultiplyFloorsNegativeProductsTowardMinusInfinity) {
  EXPECT_EQ(fx::mul(-kUlp, kHalf), -1);          // −0.5 ulp → −1, truncation would give 0
  EXPECT_EQ(fx::mul(-3 * kUlp, kHalf), -2);      // −1.5 ulp → −2
  EXPECT_EQ(fx::mul(fx::from_int(-10), kHalf), fx::from_int(-5));
}

TEST(YumaFixed, MultiplySaturatesAndCheckedVariantReportsOverflow) {
  EXPECT_EQ(fx::mul(kQ32Max, fx::from_int(2)), kQ32Max);
  EXPECT_EQ(fx::mul(kQ32Max, fx::from_int(-2)), kQ32Min);
  EXPECT_FALSE(fx::mul_checked(kQ32Max, fx::from_int(2)).has_value());
  EXPECT_EQ(fx::mul_checked(kOne, kHalf), kHalf);
}

TEST(YumaFixed, DivisionTruncatesTowardZero) {
  // (1 << 32) / 3 = 1431655765.33…
  EXPECT_EQ(fx::div_safe(kUlp, 3 * kUlp), 1431655765);
  EXPECT_EQ(fx::div_safe(-kUlp, 3 * kUlp), -1431655765);  // floor would give …766
  EXPECT_EQ(fx::div_safe(fx::from_int(2), fx::from_int(3)), 2863311530);  // nearest: …531
}

TEST(YumaFixed, SafeDivisionReturnsZeroOnZeroDivisorOrOverflow) {
  EXPECT_EQ(fx::div_safe(kOne, 0), 0);
  EXPECT_EQ(fx::div_safe(kQ32Max, kUlp), 0);  // quotient far beyond I32F32
  EXPECT_EQ(fx::div_sat(kQ32Max, kUlp), kQ32Max);
  EXPECT_THROW(fx::div_sat(kOne, 0), ArithmeticOverflow);
}

TEST(YumaFixed, CheckedSumThrowsOnOverflow) {
  EXPECT_EQ(fx::add_checked(kOne, kOne), 2 * kOne);
  EXPECT_THROW(fx::add_checked(kQ32Max, kUlp), ArithmeticOverflow);
  EXPECT_EQ(fx::add_sat(kQ32Max, kOne), kQ32Max);
  EXPECT_EQ(fx::sub_sat(kQ32Min, kOne), kQ32Min);
}

TEST(YumaFixed, U16ProportionsTruncate) {
  EXPECT_EQ(fx::from_u16_proportion(32767), 2147450879);  // kappa default = 0.49999237
  EXPECT_EQ(fx::from_u16_proportion(65535), kOne);        // bonds_penalty default = exactly 1
  EXPECT_EQ(fx::from_u16_proportion(0), 0);
  EXPECT_EQ(fx::from_u16_proportion(6553), 429463961);    // (6553 << 32) / 65535, truncated
}

TEST(YumaFixed, U16OutputsFloorAndClamp) {
  EXPECT_EQ(fx::to_u16_proportion(kOne), 65535);
  EXPECT_EQ(fx::to_u16_proportion(kHalf), 32767);          // 32767.5 floors (rounding gives 32768)
  EXPECT_EQ(fx::to_u16_proportion(kOne - kUlp), 65534);
  EXPECT_EQ(fx::to_u16_proportion(2 * kOne), 65535);
  EXPECT_EQ(fx::to_u16_proportion(-kOne), 0);
  EXPECT_EQ(fx::to_u16_proportion(fx::from_u16_proportion(6640)), 6639);  // round trip loses a step
}

TEST(YumaFixed, RoundIsHalfAwayFromZero) {
  EXPECT_EQ(fx::round_half_away(kHalf), kOne);
  EXPECT_EQ(fx::round_half_away(kOne + kHalf), 2 * kOne);
  EXPECT_EQ(fx::round_half_away(2 * kOne + kHalf), 3 * kOne);  // banker's rounding would give 2
  EXPECT_EQ(fx::round_half_away(-kHalf), -kOne);
  EXPECT_EQ(fx::round_half_away(kHalf - kUlp), 0);
}

TEST(YumaFixed, ExpSeriesMatchesTheLibraryBitForBit) {
  // Values from an exact big-integer emulation of the 30-term series (yuma.md §2 rule 7).
  EXPECT_EQ(fx::exp_safe(0), kOne);
  EXPECT_EQ(fx::exp_safe(kOne), 11674931200);  // e truncated to 23 fractional bits
  EXPECT_EQ(fx::exp_safe(-kOne), 1580030169);   // series then reciprocal
  EXPECT_EQ(fx::exp_safe(2 * kOne), 31735754285);
  EXPECT_EQ(fx::exp_safe(kHalf), 7081203935);
  EXPECT_EQ(fx::exp_safe(-kHalf), 2605029348);
  EXPECT_EQ(fx::exp_safe(fx::from_int(-5)), 28939262);
  EXPECT_EQ(fx::exp_safe(fx::from_int(20)), 2066907302758576256);  // inaccurate but fixed
  EXPECT_EQ(fx::exp_safe(fx::from_int(-20)), 8);
}

TEST(YumaFixed, ExpClampsItsInput) {
  EXPECT_EQ(fx::exp_safe(fx::from_int(-40)), fx::exp_safe(fx::from_int(-20)));
  EXPECT_EQ(fx::exp_safe(fx::from_int(1000)), fx::exp_safe(fx::from_int(20)));
}

TEST(YumaFixed, EmaRateFromBondsMovingAverage) {
  EXPECT_EQ(fx::ema_rate(900000), 429496730);  // a ≈ 0.1
  EXPECT_EQ(fx::ema_rate(975000), 107374183);  // a ≈ 0.025
  EXPECT_EQ(fx::ema_rate(1000000), 0);
  EXPECT_EQ(fx::ema_rate(0), kOne);
}

TEST(YumaFixed, EmissionAmountFloors) {
  EXPECT_EQ(fx::emission_amount(429496729, 1000000000), 99999999u);  // 0.0999999998 · 1e9
  EXPECT_EQ(fx::emission_amount(kHalf, 1000000000), 500000000u);
  EXPECT_EQ(fx::emission_amount(kOne, UINT64_MAX), UINT64_MAX);
  EXPECT_EQ(fx::emission_amount(2 * kOne, UINT64_MAX), UINT64_MAX);  // saturates
  EXPECT_EQ(fx::emission_amount(-kOne, 1000), 0u);
}

namespace {

// 128×128 → 256-bit product as (hi, lo), to verify quotients independently.
std::pair<u128, u128> mul_wide(u128 a, u128 b) {
  const u128 mask = (u128{1} << 64) - 1;
  const u128 a0 = a & mask, a1 = a >> 64, b0 = b & mask, b1 = b >> 64;
  const u128 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const u128 mid = (p00 >> 64) + (p01 & mask) + (p10 & mask);
  const u128 lo = (p00 & mask) | (mid << 64);
  const u128 hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
  return {hi, lo};
}

bool less_eq(std::pair<u128, u128> a, std::pair<u128, u128> b) {
  return a.first < b.first || (a.first == b.first && a.second <= b.second);
}

}  // namespace

TEST(YumaFixed, Q64DivisionIsTheExactFloorQuotient) {
  std::mt19937_64 rng(7);
  for (int k = 0; k < 2000; ++k) {
    const u128 d = (u128{rng()} << 63 | rng()) | 1;  // up to 2^127
    const u128 a = (u128{rng()} << 62 | rng()) % d;  // a < d: quotient < 2^64
    const auto q = fx::div_shift64(a, d);
    ASSERT_TRUE(q.has_value());
    const std::pair<u128, u128> dividend{a >> 64, a << 64};
    EXPECT_TRUE(less_eq(mul_wide(*q, d), dividend));
    EXPECT_FALSE(less_eq(mul_wide(*q + 1, d), dividend));
  }
}

TEST(YumaFixed, Q64DivisionFastPathsAgreeAndEdgesAreSafe) {
  const u128 a = u128{3} << 64, d = u128{10} << 64;
  EXPECT_EQ(*fx::div_shift64(a, d), (u128{3} << 64) / 10);  // 0.3 in Q64, truncated
  EXPECT_EQ(*fx::div_shift64(u128{1} << 100, u128{1} << 100), u128{1} << 64);  // 1.0
  EXPECT_FALSE(fx::div_shift64(1, 0).has_value());
  EXPECT_FALSE(fx::div_shift64(u128{1} << 100, 1).has_value());  // beyond I64F64
  EXPECT_EQ(fx::q64_to_q32(u128{1} << 64), kOne);
  EXPECT_EQ(fx::q64_to_q32((u128{1} << 32) - 1), 0);  // narrowing floors
}
