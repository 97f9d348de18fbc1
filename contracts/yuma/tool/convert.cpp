#include "contracts/yuma/tool/convert.hpp"

#include <algorithm>
#include <bit>
#include <cfenv>
#include <cmath>

namespace ig::yuma::tool {

std::optional<Q64> q64_from_double(double v) {
  if (!std::isfinite(v) || v < 0) return std::nullopt;
  if (v == 0) return Q64{0};
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(v);
  const int biased = static_cast<int>((bits >> 52) & 0x7ff);
  std::uint64_t mant = bits & ((std::uint64_t{1} << 52) - 1);
  int exp2;  // v = mant · 2^exp2
  if (biased == 0) {
    exp2 = -1074;
  } else {
    mant |= std::uint64_t{1} << 52;
    exp2 = biased - 1075;
  }
  const int shift = exp2 + 64;  // raw = mant · 2^shift
  if (shift >= 0) {
    if (shift > 74) return std::nullopt;  // ≥ 2^127 after scaling
    const u128 raw = u128{mant} << shift;
    if ((raw >> 127) != 0) return std::nullopt;
    return Q64{raw};
  }
  const int drop = -shift;
  if (drop > 64) return Q64{0};  // below half of the smallest step (mant < 2^53)
  const u128 whole = u128{mant} >> drop;
  const u128 rest = u128{mant} & ((u128{1} << drop) - 1);
  const u128 half = u128{1} << (drop - 1);
  const bool up = rest > half || (rest == half && (whole & 1) != 0);
  return Q64{whole + (up ? 1 : 0)};
}

std::vector<std::uint16_t> sdk_u16_weights(const std::vector<double>& w) {
  std::vector<std::uint16_t> out(w.size(), 0);
  double top = 0, total = 0;
  for (double x : w) {
    top = std::max(top, x);
    total += x;
  }
  if (total == 0) return out;
  std::fesetround(FE_TONEAREST);  // Python's round(): half to even
  for (std::size_t k = 0; k < w.size(); ++k) {
    const double scaled = std::nearbyint((w[k] / top) * 65535.0);
    out[k] = static_cast<std::uint16_t>(std::clamp(scaled, 0.0, 65535.0));
  }
  return out;
}

double q32_to_double(q32 raw) {
  const double v = static_cast<double>(raw) / 4294967296.0;
  return std::round(v * 1e10) / 1e10;
}

}  // namespace ig::yuma::tool
