#include "inference/receipt/fingerprint.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ig::receipt {

int32_t quantize_logit(float logit) {
  if (std::isnan(logit)) return std::numeric_limits<int32_t>::min();
  const double v = std::round(double(logit) * kLogitScale);
  constexpr double lo = double(std::numeric_limits<int32_t>::min()) + 1;
  constexpr double hi = double(std::numeric_limits<int32_t>::max());
  return int32_t(std::clamp(v, lo, hi));
}

double dequantize_logit(int32_t q) { return double(q) / kLogitScale; }

Fingerprint fingerprint(const engine::Decision& d) {
  return Fingerprint{d.token, quantize_logit(d.logit), quantize_logit(d.runner_up)};
}

Digest leaf_hash(uint32_t step, const Fingerprint& f) {
  uint8_t buf[17];
  buf[0] = 0x00;
  const uint32_t words[4] = {step, uint32_t(f.token), uint32_t(f.logit_q), uint32_t(f.runner_up_q)};
  for (int w = 0; w < 4; ++w)
    for (int i = 0; i < 4; ++i) buf[1 + 4 * w + i] = uint8_t(words[w] >> (8 * i));
  return sha256(buf);
}

}  // namespace ig::receipt
