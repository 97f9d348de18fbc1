// Quantized block formats as stored in GGUF (ggml layouts), fp16 conversion,
// and plain reference quantize/dequantize of rows. Kernels use these structs
// directly; the reference functions are the ground truth they are tested against.
#pragma once

#include <cstdint>
#include <cstring>

#include "common/expected.hpp"
#include "inference/gguf/gguf.hpp"

namespace ig::gguf {

inline constexpr int kQK8_0 = 32;
inline constexpr int kQK4_0 = 32;

// 32 values: x[i] = d * qs[i].
struct block_q8_0 {
  uint16_t d;          // fp16 scale
  int8_t qs[kQK8_0];
};
static_assert(sizeof(block_q8_0) == 34, "ggml block_q8_0 layout");

// 32 values: element i < 16 is the low nibble of qs[i], element i >= 16 the high
// nibble of qs[i-16]; x = d * (q - 8).
struct block_q4_0 {
  uint16_t d;          // fp16 scale
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(block_q4_0) == 18, "ggml block_q4_0 layout");

// IEEE 754 binary16 <-> binary32. Exact for every half (subnormals, inf, NaN
// keep their class); float -> half rounds to nearest even, overflow gives inf.
inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal half: normalise into a float
    uint32_t e = 113;
    while ((mant & 0x400u) == 0) { mant <<= 1; --e; }
    bits = sign | (e << 23) | ((mant & 0x3ffu) << 13);
  }
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

uint16_t fp32_to_fp16(float f);

// Reference row conversions; k is the element count (a multiple of 32 for blocks).
void dequantize_row_f16(const uint16_t* x, float* y, int64_t k);
void quantize_row_f16(const float* x, uint16_t* y, int64_t k);
void dequantize_row_q8_0(const block_q8_0* x, float* y, int64_t k);
void quantize_row_q8_0(const float* x, block_q8_0* y, int64_t k);   // ggml's reference rounding
void dequantize_row_q4_0(const block_q4_0* x, float* y, int64_t k);
void quantize_row_q4_0(const float* x, block_q4_0* y, int64_t k);   // ggml's reference rounding

// Any of F32/F16/Q8_0/Q4_0/Q5_0/Q5_1/Q4_K/Q5_K/Q6_K: `src` holds row_bytes(type, k) bytes.
Status dequantize_row(TensorType type, const void* src, float* dst, int64_t k);
Status quantize_row(TensorType type, const float* src, void* dst, int64_t k);

}  // namespace ig::gguf
