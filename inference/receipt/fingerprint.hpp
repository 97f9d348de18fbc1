// Per-step fingerprint: the chosen token, its logit and the runner-up logit (the largest
// logit of any other id), both in fixed point with 16 fractional bits: round half away from
// zero, clamped to [INT32_MIN + 1, INT32_MAX]; NaN -> INT32_MIN.
//
// The struct and its Merkle leaf are ig::Fingerprint / ig::fingerprint_leaf
// (common/inference_receipt.hpp): leaf = merkle_leaf(step u32 | token i32 | logit_q i32 |
// runner_up_q i32), 16 bytes little-endian, i.e. SHA-256(0x00 || those bytes). This file
// only turns the engine's float decision into those integers, the one place a float is
// rounded on its way into a receipt.
#pragma once

#include <cstdint>

#include "common/inference_receipt.hpp"
#include "inference/engine/sampler.hpp"

namespace ig::receipt {

inline constexpr double kLogitScale = 65536.0;

int32_t quantize_logit(float logit);
double dequantize_logit(int32_t q);
ig::Fingerprint fingerprint(const engine::Decision& d);

}  // namespace ig::receipt
