// Deterministic fixed-point arithmetic of the Yuma epoch (docs/yuma.md §2).
//
// Q32 is the chain's I32F32: a signed 64-bit raw integer r meaning r / 2^32. Q64 is I64F64
// (raw / 2^64), used only for stake normalisation. Every rounding rule here is consensus
// critical: products floor (arithmetic shift), quotients truncate toward zero, narrowing drops
// low bits. No floating point anywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

namespace ig::yuma {

using q32 = std::int64_t;  // raw I32F32
using u128 = unsigned __int128;
using i128 = __int128;

inline constexpr int kFracBits = 32;
inline constexpr q32 kOne = q32{1} << kFracBits;
inline constexpr q32 kHalf = q32{1} << (kFracBits - 1);
inline constexpr q32 kQ32Max = INT64_MAX;
inline constexpr q32 kQ32Min = INT64_MIN;

// Thrown inside the library when checked arithmetic overflows; run_epoch turns it into an
// ig::Error, so it never crosses the module boundary.
struct ArithmeticOverflow : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Q64 stake value (I64F64 restricted to non-negative values): raw / 2^64, raw < 2^127.
struct Q64 {
  u128 raw = 0;
  static Q64 from_u64(std::uint64_t v) { return Q64{u128{v} << 64}; }
  friend bool operator==(const Q64&, const Q64&) = default;
};

namespace fx {

constexpr q32 from_int(std::int64_t v) { return v * kOne; }  // callers keep |v| < 2^31

// a⊗b: (a·b) >> 32 with an arithmetic shift (floor toward −∞; C++20 defines >> on negative
// values as arithmetic), saturating to the Q32 range. Inline: the epoch's hottest operation.
inline q32 mul(q32 a, q32 b) {
  const i128 p = (static_cast<i128>(a) * b) >> kFracBits;
  if (p > kQ32Max) return kQ32Max;
  if (p < kQ32Min) return kQ32Min;
  return static_cast<q32>(p);
}
// a⊗b, but nullopt on overflow (the chain's checked_mul(..).unwrap_or_default() call sites).
inline std::optional<q32> mul_checked(q32 a, q32 b) {
  const i128 p = (static_cast<i128>(a) * b) >> kFracBits;
  if (p > kQ32Max || p < kQ32Min) return std::nullopt;
  return static_cast<q32>(p);
}
// a⊘b: (a << 32) / b truncating toward zero; 0 when b == 0 or the quotient overflows.
q32 div_safe(q32 a, q32 b);
// a⊘b truncating toward zero, saturating on overflow; b must be non-zero.
q32 div_sat(q32 a, q32 b);

q32 add_sat(q32 a, q32 b);
q32 sub_sat(q32 a, q32 b);
// Exact addition; throws ArithmeticOverflow (the spec's sums never get near the limits).
q32 add_checked(q32 a, q32 b);

// ⟨u⟩: (u << 32) / 65535 truncated — u16 parameters and Yuma3 bonds read as proportions.
q32 from_u16_proportion(std::uint16_t u);
// ⌊x⌋₁₆: floor(x_raw · 65535 / 2^32) clamped to [0, 65535].
std::uint16_t to_u16_proportion(q32 x);
// round half away from zero to an integer-valued Q32.
q32 round_half_away(q32 x);
// Integer part, floor, saturated to u16 (substrate-fixed saturating_to_num::<u16>).
std::uint16_t to_u16_floor(q32 x);

// exp_safe of yuma.md §2 rule 7: input clamped to [−20, 20], 30-term series.
q32 exp_safe(q32 x);

// EMA rate a = 1 − narrow32((bonds_moving_average · 2^64) / 10^6); bma must be ≤ 10^6.
q32 ema_rate(std::uint64_t bonds_moving_average);

// floor(share · E) as Q96.32 → u64 (saturating; negative shares give 0).
std::uint64_t emission_amount(q32 share, std::uint64_t total);

// floor((a · 2^64) / d) for the Q64 safe division (256/128-bit long division);
// nullopt when d == 0 or the quotient does not fit the I64F64 range.
std::optional<u128> div_shift64(u128 a, u128 d);

// ⌊x⌋ of a Q64 as u64 (saturating_to_num::<u64>).
std::uint64_t q64_floor(Q64 x);
// Q64 → Q32 narrowing (floor), saturating.
q32 q64_to_q32(u128 raw);

}  // namespace fx
}  // namespace ig::yuma
