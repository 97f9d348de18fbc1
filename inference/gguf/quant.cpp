// Reference (scalar, obviously-correct) conversions for F16, Q8_0 and Q4_0 rows (and, through
// kquant.cpp and kernels/kquants.hpp, Q4_K/Q5_K/Q6_K and their fallbacks Q5_0/Q5_1).
// The quantizers follow ggml's reference rounding so files written here
// dequantize to the same values llama.cpp would produce.
#include "inference/gguf/quant.hpp"

#include <algorithm>
#include <cmath>

#include "inference/gguf/kquant.hpp"

namespace ig::gguf {

uint16_t fp32_to_fp16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return sign | 0x7e00u | static_cast<uint16_t>((ax >> 13) & 0x3ffu);  // NaN stays NaN
  if (ax >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds to infinity
  if (ax < 0x38800000u) {                        // below 2^-14: half subnormal or zero
    const uint32_t e = ax >> 23;
    if (e < 102) return sign;                    // below 2^-25 rounds to zero
    const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    return sign | static_cast<uint16_t>(q);
  }
  uint32_t h = (ax >> 13) - (112u << 10);  // rebias the exponent from 127 to 15
  const uint32_t rem = ax & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // nearest even; may carry into the exponent
  return sign | static_cast<uint16_t>(h);
}

void dequantize_row_f16(const uint16_t* x, float* y, int64_t k) {
  for (int64_t j = 0; j < k; ++j) y[j] = fp16_to_fp32(x[j]);
}

void quantize_row_f16(const float* x, uint16_t* y, int64_t k) {
  for (int64_t j = 0; j < k; ++j) y[j] = fp32_to_fp16(x[j]);
}

void dequantize_row_q8_0(const block_q8_0* x, float* y, int64_t k) {
  for (int64_t b = 0; b < k / kQK8_0; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < kQK8_0; ++j) y[b * kQK8_0 + j] = static_cast<float>(x[b].qs[j]) * d;
  }
}

void quantize_row_q8_0(const float* x, block_q8_0* y, int64_t k) {
  for (int64_t b = 0; b < k / kQK8_0; ++b) {
    const float* xb = x + b * kQK8_0;
    float amax = 0.0f;
    for (int j = 0; j < kQK8_0; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    for (int j = 0; j < kQK8_0; ++j) y[b].qs[j] = static_cast<int8_t>(std::roundf(xb[j] * id));
  }
}

void dequantize_row_q4_0(const block_q4_0* x, float* y, int64_t k) {
  constexpr int half = kQK4_0 / 2;
  for (int64_t b = 0; b < k / kQK4_0; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int j = 0; j < half; ++j) {
      y[b * kQK4_0 + j] = static_cast<float>((x[b].qs[j] & 0x0f) - 8) * d;
      y[b * kQK4_0 + j + half] = static_cast<float>((x[b].qs[j] >> 4) - 8) * d;
    }
  }
}

void quantize_row_q4_0(const float* x, block_q4_0* y, int64_t k) {
  constexpr int half = kQK4_0 / 2;
  for (int64_t b = 0; b < k / kQK4_0; ++b) {
    const float* xb = x + b * kQK4_0;
    float amax = 0.0f;
    float max = 0.0f;  // the signed value of largest magnitude maps to q = 0
    for (int j = 0; j < kQK4_0; ++j) {
      if (amax < std::fabs(xb[j])) {
        amax = std::fabs(xb[j]);
        max = xb[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    for (int j = 0; j < half; ++j) {
      const int lo = std::min(15, static_cast<int>(static_cast<int8_t>(xb[j] * id + 8.5f)));
      const int hi = std::min(15, static_cast<int>(static_cast<int8_t>(xb[j + half] * id + 8.5f)));
      y[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

namespace {
bool is_kquant(TensorType t) { return t == TensorType::Q4_K || t == TensorType::Q5_K || t == TensorType::Q6_K; }
bool is_q5(TensorType t) { return t == TensorType::Q5_0 || t == TensorType::Q5_1; }

Status check_row(TensorType type, int64_t k) {
  if (k < 0) return fail("gguf.bad_shape", "negative row length");
  if ((type == TensorType::Q8_0 || type == TensorType::Q4_0 || is_q5(type)) && k % 32 != 0)
    return fail("gguf.bad_shape", "quantized row length " + std::to_string(k) + " is not a multiple of 32");
  if (is_kquant(type) && k % kernels::kQK_K != 0)
    return fail("gguf.bad_shape", "K-quant row length " + std::to_string(k) + " is not a multiple of 256");
  if (type != TensorType::F32 && type != TensorType::F16 && type != TensorType::Q8_0 &&
      type != TensorType::Q4_0 && !is_kquant(type) && !is_q5(type))
    return fail("gguf.unsupported_type", "no reference conversion for tensor type id " +
                                             std::to_string(static_cast<uint32_t>(type)));
  return {};
}
}  // namespace

Status dequantize_row(TensorType type, const void* src, float* dst, int64_t k) {
  IG_TRY(check_row(type, k));
  switch (type) {
    case TensorType::F32: std::memcpy(dst, src, static_cast<size_t>(k) * sizeof(float)); break;
    case TensorType::F16: dequantize_row_f16(static_cast<const uint16_t*>(src), dst, k); break;
    case TensorType::Q8_0: dequantize_row_q8_0(static_cast<const block_q8_0*>(src), dst, k); break;
    case TensorType::Q5_0: kernels::dequantize_row_q5_0(static_cast<const kernels::BlockQ5_0*>(src), dst, k); break;
    case TensorType::Q5_1: kernels::dequantize_row_q5_1(static_cast<const kernels::BlockQ5_1*>(src), dst, k); break;
    case TensorType::Q4_K: kernels::dequantize_row_q4_k(static_cast<const kernels::BlockQ4_K*>(src), dst, k); break;
    case TensorType::Q5_K: kernels::dequantize_row_q5_k(static_cast<const kernels::BlockQ5_K*>(src), dst, k); break;
    case TensorType::Q6_K: kernels::dequantize_row_q6_k(static_cast<const kernels::BlockQ6_K*>(src), dst, k); break;
    default: dequantize_row_q4_0(static_cast<const block_q4_0*>(src), dst, k); break;
  }
  return {};
}

Status quantize_row(TensorType type, const float* src, void* dst, int64_t k) {
  IG_TRY(check_row(type, k));
  switch (type) {
    case TensorType::F32: std::memcpy(dst, src, static_cast<size_t>(k) * sizeof(float)); break;
    case TensorType::F16: quantize_row_f16(src, static_cast<uint16_t*>(dst), k); break;
    case TensorType::Q8_0: quantize_row_q8_0(src, static_cast<block_q8_0*>(dst), k); break;
    case TensorType::Q5_0: quantize_row_q5_0(src, static_cast<kernels::BlockQ5_0*>(dst), k); break;
    case TensorType::Q5_1: quantize_row_q5_1(src, static_cast<kernels::BlockQ5_1*>(dst), k); break;
    case TensorType::Q4_K: quantize_row_q4_k(src, static_cast<kernels::BlockQ4_K*>(dst), k); break;
    case TensorType::Q5_K: quantize_row_q5_k(src, static_cast<kernels::BlockQ5_K*>(dst), k); break;
    case TensorType::Q6_K: quantize_row_q6_k(src, static_cast<kernels::BlockQ6_K*>(dst), k); break;
    default: quantize_row_q4_0(src, static_cast<block_q4_0*>(dst), k); break;
  }
  return {};
}

}  // namespace ig::gguf
