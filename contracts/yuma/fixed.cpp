#include "contracts/yuma/fixed.hpp"

namespace ig::yuma::fx {
namespace {

constexpr i128 kQ32MaxWide = kQ32Max;
constexpr i128 kQ32MinWide = kQ32Min;

q32 saturate(i128 v) {
  if (v > kQ32MaxWide) return kQ32Max;
  if (v < kQ32MinWide) return kQ32Min;
  return static_cast<q32>(v);
}

bool fits(i128 v) { return v >= kQ32MinWide && v <= kQ32MaxWide; }

// Quotient of (a << 32) / b truncated toward zero, as a wide value (b != 0).
i128 wide_quotient(q32 a, q32 b) { return (static_cast<i128>(a) * kOne) / b; }

// e truncated to 23 fractional bits, as substrate-fixed's exp(1) returns it.
constexpr q32 kE = q32{22802600} << 9;  // 2.7182817459106445

}  // namespace

q32 div_safe(q32 a, q32 b) {
  if (b == 0) return 0;
  i128 q = wide_quotient(a, b);
  return fits(q) ? static_cast<q32>(q) : 0;
}

q32 div_sat(q32 a, q32 b) {
  if (b == 0) throw ArithmeticOverflow("fixed-point division by zero");
  return saturate(wide_quotient(a, b));
}

q32 add_sat(q32 a, q32 b) { return saturate(static_cast<i128>(a) + b); }
q32 sub_sat(q32 a, q32 b) { return saturate(static_cast<i128>(a) - b); }

q32 add_checked(q32 a, q32 b) {
  q32 r;
  if (__builtin_add_overflow(a, b, &r)) throw ArithmeticOverflow("fixed-point sum overflows I32F32");
  return r;
}

q32 from_u16_proportion(std::uint16_t u) { return (static_cast<q32>(u) << kFracBits) / 65535; }

std::uint16_t to_u16_proportion(q32 x) {
  // saturating_mul(x, 65535) then saturating_to_num::<u16>() (floor, clamp).
  i128 scaled = static_cast<i128>(x) * 65535;
  q32 prod = saturate(scaled);
  if (prod <= 0) return 0;
  q32 whole = prod >> kFracBits;
  return whole > 65535 ? 65535 : static_cast<std::uint16_t>(whole);
}

q32 round_half_away(q32 x) {
  constexpr q32 kFracMask = kOne - 1;
  if (x >= 0) {
    i128 r = (static_cast<i128>(x) + kHalf) & ~static_cast<i128>(kFracMask);
    return saturate(r);
  }
  i128 r = (-static_cast<i128>(x) + kHalf) & ~static_cast<i128>(kFracMask);
  return saturate(-r);
}

std::uint16_t to_u16_floor(q32 x) {
  if (x <= 0) return 0;
  q32 whole = x >> kFracBits;
  return whole > 65535 ? 65535 : static_cast<std::uint16_t>(whole);
}

q32 exp_safe(q32 x) {
  const q32 lo = from_int(-20), hi = from_int(20);
  if (x < lo) x = lo;
  if (x > hi) x = hi;
  if (x == 0) return kOne;
  if (x == kOne) return kE;
  const bool negative = x < 0;
  const q32 y = negative ? -x : x;
  // result = 1 + y + Σ_{i=2..31} term_i, term_i = floor(term_{i-1} ⊗ y / i), all checked.
  std::optional<q32> result = y + kOne;
  q32 term = y;
  for (int i = 2; i < 32 && result; ++i) {
    auto t = mul_checked(term, y);
    if (!t) { result.reset(); break; }
    term = *t / i;  // fixed ÷ fixed(i) == raw ÷ i, truncating (term ≥ 0)
    if (term == 0) break;  // every later term is 0 ⊗ y / i = 0: the result is final
    q32 sum;
    if (__builtin_add_overflow(*result, term, &sum)) { result.reset(); break; }
    result = sum;
  }
  if (!result) return negative ? 0 : kQ32Max;
  if (!negative) return *result;
  i128 q = wide_quotient(kOne, *result);
  return fits(q) ? static_cast<q32>(q) : 0;
}

q32 ema_rate(std::uint64_t bma) {
  // I64F64(bma) ⊘ I64F64(10^6): raw = (bma << 64) / 10^6, then narrowed to Q32 by flooring.
  u128 q64 = (u128{bma} << 64) / 1000000u;
  q32 q = static_cast<q32>(q64 >> 32);
  return kOne - q;
}

std::uint64_t emission_amount(q32 share, std::uint64_t total) {
  if (share <= 0) return 0;
  u128 p = (static_cast<u128>(share) * total) >> kFracBits;
  return p > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(p);
}

std::optional<u128> div_shift64(u128 a, u128 d) {
  if (d == 0) return std::nullopt;
  const u128 kLow64 = (u128{1} << 64) - 1;
  u128 q;
  if ((a >> 64) == 0) {
    q = (a << 64) / d;  // the dividend fits 128 bits
  } else if ((a & kLow64) == 0 && (d & kLow64) == 0) {
    q = ((a >> 64) << 64) / (d >> 64);  // both scaled by 2^64: same quotient, exact
  } else {
    // Restoring long division of the 192-bit dividend a·2^64 by d, one bit at a time.
    u128 rem = 0;
    q = 0;
    bool overflow = false;
    for (int bit = 191; bit >= 0; --bit) {
      const bool carry = (rem >> 127) != 0;
      const u128 next_bit = bit >= 64 ? (a >> (bit - 64)) & 1 : 0;
      rem = (rem << 1) | next_bit;
      const bool take = carry || rem >= d;
      if (take) rem -= d;  // wraps correctly when carry: the true value is < 2·d
      if ((q >> 127) != 0) overflow = true;
      q = (q << 1) | (take ? 1 : 0);
    }
    if (overflow) return std::nullopt;
  }
  if ((q >> 127) != 0) return std::nullopt;  // beyond I64F64
  return q;
}

std::uint64_t q64_floor(Q64 x) {
  u128 whole = x.raw >> 64;
  return whole > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(whole);
}

q32 q64_to_q32(u128 raw) {
  u128 narrowed = raw >> 32;
  return narrowed > static_cast<u128>(kQ32Max) ? kQ32Max : static_cast<q32>(narrowed);
}

}  // namespace ig::yuma::fx
