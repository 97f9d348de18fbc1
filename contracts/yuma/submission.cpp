#include "contracts/yuma/submission.hpp"

#include <algorithm>

#include "contracts/yuma/fixed.hpp"

namespace ig::yuma {

std::vector<std::uint16_t> max_upscale_weights(const std::vector<std::uint16_t>& values) {
  std::vector<std::uint16_t> out(values.size(), 0);
  if (values.empty()) return out;
  const q32 top = fx::from_int(*std::max_element(values.begin(), values.end()));
  if (top == 0) return out;
  const q32 u16max = fx::from_int(65535);
  // The chain picks the multiplication order by the size of the maximum to stay in range.
  const bool large = top > fx::from_int(32768);
  const q32 factor = large ? fx::div_safe(u16max, top) : 0;
  for (std::size_t k = 0; k < values.size(); ++k) {
    const q32 v = fx::from_int(values[k]);
    const q32 scaled = large ? fx::mul(v, factor) : fx::div_safe(fx::mul(v, u16max), top);
    out[k] = fx::to_u16_floor(fx::round_half_away(scaled));
  }
  return out;
}

}  // namespace ig::yuma
