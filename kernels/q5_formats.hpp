// Q5_0 and Q5_1 block layouts (32 values) and their dequantization: the types llama.cpp's K-quant
// mixes fall back to for rows that are not whole 256-value super-blocks (Q4_K -> Q5_0,
// Q5_K -> Q5_1; Qwen2.5-0.5B's 896-wide rows, for instance).
//
// Source: llama.cpp / ggml, ggml/src/ggml-common.h (block_q5_0, block_q5_1) and
// ggml/src/ggml-quants.c (dequantize_row_q5_0 / q5_1). Our own code, byte-identical layouts.
//   Q5_0 (22 bytes): d (fp16), qh (32 high bits, little-endian), qs[16]. Value j < 16 is the low
//        nibble of qs[j] with bit j of qh; value j+16 the high nibble of qs[j] with bit j+16.
//        x = d * (q - 16).
//   Q5_1 (24 bytes): d, m (fp16), then as Q5_0; x = d * q + m.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/formats.hpp"

namespace ig::kernels {

#pragma pack(push, 1)
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kBlock / 2];
};
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kBlock / 2];
};
#pragma pack(pop)
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);

// The 5-bit quant (0..31) of value i (0..31) of a Q5_0/Q5_1 block.
template <typename Block>
inline int q5_value(const Block& b, int i) {
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  const int j = i % 16;
  const int lo = i < 16 ? (b.qs[j] & 0x0f) : (b.qs[j] >> 4);
  return lo | int(((qh >> i) & 1u) << 4);
}

// The float operations of ggml's dequantize_row_q5_0 / q5_1.
inline void dequantize_row_q5_0(const BlockQ5_0* x, float* y, int64_t k) {
  for (int64_t b = 0; b < k / kBlock; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int i = 0; i < kBlock; ++i) y[b * kBlock + i] = float(q5_value(x[b], i) - 16) * d;
  }
}

inline void dequantize_row_q5_1(const BlockQ5_1* x, float* y, int64_t k) {
  for (int64_t b = 0; b < k / kBlock; ++b) {
    const float d = fp16_to_fp32(x[b].d), m = fp16_to_fp32(x[b].m);
    for (int i = 0; i < kBlock; ++i) y[b * kBlock + i] = float(q5_value(x[b], i)) * d + m;
  }
}

}  // namespace ig::kernels
