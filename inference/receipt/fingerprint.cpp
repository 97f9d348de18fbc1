#include "inference/receipt/fingerprint.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ig::receipt {

int32_t quantize_logit(float logit) {
  if (std::isnan(logit)) return std::numeric_limits<int32_t>::min();
  // double holds float * 2^16 exactly, so the only rounding is std::round's (half away from
  // zero), the same on every machine.
  const double v = std::round(double(logit) * kLogitScale);
  constexpr double lo = double(std::numeric_limits<int32_t>::min()) + 1;
  constexpr double hi = double(std::numeric_limits<int32_t>::max());
  return int32_t(std::clamp(v, lo, hi));
}

double dequantize_logit(int32_t q) { return double(q) / kLogitScale; }

ig::Fingerprint fingerprint(const engine::Decision& d) {
  return ig::Fingerprint{d.token, quantize_logit(d.logit), quantize_logit(d.runner_up)};
}

}  // namespace ig::receipt
