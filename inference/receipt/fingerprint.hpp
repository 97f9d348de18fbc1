// Per-step fingerprint: the chosen token, its logit and the runner-up logit
// (the largest logit of any other id), both in fixed point with 16 fractional
// bits (round half away from zero, clamped to int32; NaN -> INT32_MIN).
//
// Leaf bytes (17 bytes, little-endian):
//   0x00 | step u32 | token i32 | logit_q i32 | runner_up_q i32
// leaf hash = SHA-256(leaf bytes).
#pragma once

#include <cstdint>

#include "inference/engine/sampler.hpp"
#include "inference/receipt/sha256.hpp"

namespace ig::receipt {

inline constexpr double kLogitScale = 65536.0;

struct Fingerprint {
  int32_t token = -1;
  int32_t logit_q = 0;
  int32_t runner_up_q = 0;
  bool operator==(const Fingerprint&) const = default;
};

int32_t quantize_logit(float logit);
double dequantize_logit(int32_t q);
Fingerprint fingerprint(const engine::Decision& d);
Digest leaf_hash(uint32_t step, const Fingerprint& f);

}  // namespace ig::receipt
