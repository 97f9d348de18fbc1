// K-quant block layouts (Q4_K, Q5_K, Q6_K weights; Q8_K activations) and their dequantization,
// which is the definition every kernel is tested against.
//
// Source: llama.cpp / ggml, ggml/src/ggml-common.h (block_q4_K, block_q5_K, block_q6_K,
// block_q8_K, QK_K = 256, K_SCALE_SIZE = 12) and ggml/src/ggml-quants.c (get_scale_min_k4,
// dequantize_row_q4_K / q5_K / q6_K, quantize_row_q8_K_ref). The byte layouts are identical, so
// GGUF tensors of these types (llama.cpp's Q4_K_M / Q5_K_M / Q6_K files) are read as they are,
// and the files we write are read by llama.cpp. The code here is our own.
//
// A super-block holds 256 values.
//   Q4_K (144 bytes): d, dmin (fp16); 12 bytes of eight 6-bit scales and eight 6-bit mins; 128
//        bytes of 4-bit quants. Sub-block j (32 values) = d*sc[j]*q - dmin*m[j]. Values 64i..64i+31
//        are the low nibbles of qs[32i..32i+31], values 64i+32..64i+63 their high nibbles.
//   Q5_K (176 bytes): as Q4_K, plus qh[32]: value 64i+l (l < 32) has its fifth bit in bit 2i of
//        qh[l], value 64i+32+l in bit 2i+1.
//   Q6_K (210 bytes): ql[128] low 4 bits, qh[64] high 2 bits, sixteen int8 scales (one per 16
//        values), d (fp16). Value = d*sc[g]*(q-32). In each 128-value half h: value 32k+l (k<4)
//        takes ql[64h + l + 32*(k&1)] (low nibble for k<2, high for k>=2) and bits 2k..2k+1 of
//        qh[32h + l]; its scale is sc[8h + 2k + l/16].
//   Q8_K (292 bytes, activations only, never in files we read): float d, 256 int8, and the sums
//        of each 16 quants (bsums), as llama.cpp's quantize_row_q8_K_ref.
#pragma once

#include <cstdint>

#include "kernels/formats.hpp"

namespace ig::kernels {

inline constexpr int kQK_K = 256;        // values per super-block
inline constexpr int kKScaleSize = 12;   // packed 6-bit scales and mins of Q4_K/Q5_K

#pragma pack(push, 1)
struct BlockQ4_K {
  uint16_t d;      // fp16 super-block scale of the scales
  uint16_t dmin;   // fp16 super-block scale of the mins
  uint8_t scales[kKScaleSize];
  uint8_t qs[kQK_K / 2];
};
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
#pragma pack(pop)
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block (ggml's get_scale_min_k4):
// j < 4: low 6 bits of bytes j and j+4; j >= 4: the low/high nibble of byte j+4 with the top two
// bits of bytes j-4 / j.
inline void kquant_scale_min(int j, const uint8_t* s, uint8_t& sc, uint8_t& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = uint8_t((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4));
    m = uint8_t((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

// Packs eight 6-bit scales and mins into the 12-byte form kquant_scale_min reads.
inline void kquant_pack_scales(const uint8_t* sc, const uint8_t* m, uint8_t* s) {
  for (int j = 0; j < kKScaleSize; ++j) s[j] = 0;
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      s[j] = uint8_t(sc[j] & 63);
      s[j + 4] = uint8_t(m[j] & 63);
    } else {
      s[j + 4] = uint8_t((sc[j] & 0x0f) | ((m[j] & 0x0f) << 4));
      s[j - 4] = uint8_t(s[j - 4] | ((sc[j] >> 4) << 6));
      s[j] = uint8_t(s[j] | ((m[j] >> 4) << 6));
    }
  }
}

// Quant value (0..15 / 0..31 / 0..63, before any offset) of element i (0..255) of a block.
inline int q4_k_value(const BlockQ4_K& b, int i) {
  const uint8_t byte = b.qs[32 * (i / 64) + i % 32];
  return (i % 64) < 32 ? (byte & 0x0f) : (byte >> 4);
}
inline int q5_k_value(const BlockQ5_K& b, int i) {
  const uint8_t byte = b.qs[32 * (i / 64) + i % 32];
  const int lo = (i % 64) < 32 ? (byte & 0x0f) : (byte >> 4);
  const int bit = 2 * (i / 64) + ((i % 64) < 32 ? 0 : 1);
  return lo | (((b.qh[i % 32] >> bit) & 1) << 4);
}
inline int q6_k_value(const BlockQ6_K& b, int i) {
  const int h = i / 128, k = (i % 128) / 32, l = i % 32;
  const uint8_t lo = b.ql[64 * h + l + 32 * (k & 1)];
  const int low4 = k < 2 ? (lo & 0x0f) : (lo >> 4);
  return low4 | (((b.qh[32 * h + l] >> (2 * k)) & 3) << 4);
}
// The int8 scale of element i of a Q6_K block.
inline int q6_k_scale(const BlockQ6_K& b, int i) {
  const int h = i / 128, k = (i % 128) / 32, l = i % 32;
  return b.scales[8 * h + 2 * k + l / 16];
}

// Dequantization, the definition (same float operations as ggml's dequantize_row_*: for Q4_K/Q5_K
// d1 = d*sc, m1 = dmin*m, y = d1*q - m1; for Q6_K y = (d*sc)*(q-32)). k: a multiple of 256.
inline void dequantize_row_q4_k(const BlockQ4_K* x, float* y, int64_t k) {
  for (int64_t b = 0; b < k / kQK_K; ++b) {
    const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      kquant_scale_min(j, x[b].scales, sc, m);
      const float d1 = d * float(sc), m1 = dmin * float(m);
      for (int l = 0; l < 32; ++l) y[b * kQK_K + 32 * j + l] = d1 * float(q4_k_value(x[b], 32 * j + l)) - m1;
    }
  }
}

inline void dequantize_row_q5_k(const BlockQ5_K* x, float* y, int64_t k) {
  for (int64_t b = 0; b < k / kQK_K; ++b) {
    const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      kquant_scale_min(j, x[b].scales, sc, m);
      const float d1 = d * float(sc), m1 = dmin * float(m);
      for (int l = 0; l < 32; ++l) y[b * kQK_K + 32 * j + l] = d1 * float(q5_k_value(x[b], 32 * j + l)) - m1;
    }
  }
}

inline void dequantize_row_q6_k(const BlockQ6_K* x, float* y, int64_t k) {
  for (int64_t b = 0; b < k / kQK_K; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int i = 0; i < kQK_K; ++i)
      y[b * kQK_K + i] = d * float(q6_k_scale(x[b], i)) * float(q6_k_value(x[b], i) - 32);
  }
}

// ggml's nearest_int: round half to even through the float adder (|v| < 2^22).
inline int kquant_nearest_int(float v) {
  const float t = v + 12582912.f;
  const uint32_t u = fp32_to_bits(t);
  return int(u & 0x007fffff) - 0x00400000;
}

// Activation quantization as llama.cpp's quantize_row_q8_K_ref: per 256 values, the value of
// largest magnitude `max` maps to -127 (iscale = -127/max), q = min(127, nearest(iscale*x)),
// d = 1/iscale, bsums = sums of each 16 quants. All-zero blocks get d = 0 and zero quants.
// Plain scalar code shared by every CPU variant, so all of them see the same activations.
inline void quantize_row_q8_k(const float* x, int64_t k, BlockQ8_K* y) {
  for (int64_t b = 0; b < k / kQK_K; ++b) {
    const float* xb = x + b * kQK_K;
    float amax = 0, max = 0;
    for (int j = 0; j < kQK_K; ++j) {
      const float ax = xb[j] < 0 ? -xb[j] : xb[j];
      if (ax > amax) {
        amax = ax;
        max = xb[j];
      }
    }
    BlockQ8_K& o = y[b];
    if (amax == 0) {
      o.d = 0;
      for (int j = 0; j < kQK_K; ++j) o.qs[j] = 0;
      for (int j = 0; j < kQK_K / 16; ++j) o.bsums[j] = 0;
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < kQK_K; ++j) {
      const int v = kquant_nearest_int(iscale * xb[j]);
      o.qs[j] = int8_t(v < 127 ? v : 127);
    }
    for (int j = 0; j < kQK_K / 16; ++j) {
      int s = 0;
      for (int i = 0; i < 16; ++i) s += o.qs[16 * j + i];
      o.bsums[j] = int16_t(s);
    }
    o.d = 1 / iscale;
  }
}

}  // namespace ig::kernels
