// Decoding of the quantized weight types the CUDA matmul reads on the fly, 32 values (a "unit")
// at a time, as __host__ __device__ code: the device kernels (device_kernels.cu) and a host-side
// check (tests/kernels/cuda_dequant_test.cpp) run the same lines, so the check, which needs no
// GPU, compares what the kernels compute against the reference dequantizer bit for bit.
//
// Every value is the reference's float operations, in its order (kernels/kquants.hpp,
// kernels/q5_formats.hpp; llama.cpp's ggml-quants.c dequantize_row_q4_K / q5_K / q6_K / q5_0 /
// q5_1 on ggml-common.h's block layouts). On the device the products and sums are the _rn
// intrinsics, which nvcc never contracts into FMAs (it would contract `d1 * q - m1` otherwise,
// and the value would no longer be the reference's); the host side is compiled with
// -ffp-contract=off like the reference.
//
// A row of `cols` values is cols/32 units for every type here: unit j (0..7) of a K-quant
// super-block is its sub-block j (one 6-bit scale and min for Q4_K/Q5_K, two int8 scales of 16
// values for Q6_K); a Q5_0/Q5_1 block is one unit.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/formats.hpp"
#include "kernels/kquants.hpp"
#include "kernels/q5_formats.hpp"

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#define IG_HD __host__ __device__
#else
#define IG_HD
#endif

namespace ig::kernels::cuda {

inline constexpr int kUnit = 32;  // values per unit

// Both conversions are exact (every fp16 is a float), so host and device agree.
IG_HD inline float h2f(uint16_t h) {
#if defined(__CUDA_ARCH__)
  return __half2float(__ushort_as_half(h));
#else
  return fp16_to_fp32(h);
#endif
}
IG_HD inline float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
IG_HD inline float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
IG_HD inline float sub_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}
// One rounding, as __fmaf_rn (glibc's fmaf is correctly rounded).
IG_HD inline float fma_rn(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

// ggml's get_scale_min_k4, as kquant_scale_min (kquants.hpp), callable on the device.
IG_HD inline void scale_min_k4(int j, const uint8_t* s, int& sc, int& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
    m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Q4_K sub-block j: values 64i..64i+31 (j = 2i) are the low nibbles of qs[32i..32i+31],
// values 64i+32.. (j = 2i+1) their high nibbles. y = d1*q - m1, d1 = d*sc, m1 = dmin*m.
struct UnitQ4K {
  float d1, m1;
  const uint8_t* qs;
  int shift;
  IG_HD UnitQ4K(const BlockQ4_K& b, int j) {
    int sc, m;
    scale_min_k4(j, b.scales, sc, m);
    d1 = mul_rn(h2f(b.d), float(sc));
    m1 = mul_rn(h2f(b.dmin), float(m));
    qs = b.qs + 32 * (j / 2);
    shift = 4 * (j & 1);
  }
  IG_HD float operator()(int l) const {
    return sub_rn(mul_rn(d1, float((qs[l] >> shift) & 0x0f)), m1);
  }
};

// Q5_K: as Q4_K, plus the fifth bit of value l of sub-block j in bit j of qh[l]
// (ggml-common.h block_q5_K; kquants.hpp q5_k_value's bit 2i / 2i+1 for j = 2i / 2i+1).
struct UnitQ5K {
  float d1, m1;
  const uint8_t* qs;
  const uint8_t* qh;
  int shift, bit;
  IG_HD UnitQ5K(const BlockQ5_K& b, int j) {
    int sc, m;
    scale_min_k4(j, b.scales, sc, m);
    d1 = mul_rn(h2f(b.d), float(sc));
    m1 = mul_rn(h2f(b.dmin), float(m));
    qs = b.qs + 32 * (j / 2);
    qh = b.qh;
    shift = 4 * (j & 1);
    bit = j;
  }
  IG_HD float operator()(int l) const {
    const int q = ((qs[l] >> shift) & 0x0f) | (((qh[l] >> bit) & 1) << 4);
    return sub_rn(mul_rn(d1, float(q)), m1);
  }
};

// Q6_K sub-block j = 4h + k (h: 128-value half, k < 4): value l takes the low (k < 2) or high
// nibble of ql[64h + 32(k&1) + l] and bits 2k..2k+1 of qh[32h + l]; its scale is
// sc[8h + 2k + l/16]. y = (d*sc)*(q - 32), that product order (ggml's dequantize_row_q6_K).
struct UnitQ6K {
  float s0, s1;  // d*sc of values 0..15 and 16..31
  const uint8_t* ql;
  const uint8_t* qh;
  int shift_lo, shift_hi;
  IG_HD UnitQ6K(const BlockQ6_K& b, int j) {
    const int h = j / 4, k = j % 4;
    const float d = h2f(b.d);
    s0 = mul_rn(d, float(b.scales[8 * h + 2 * k]));
    s1 = mul_rn(d, float(b.scales[8 * h + 2 * k + 1]));
    ql = b.ql + 64 * h + 32 * (k & 1);
    qh = b.qh + 32 * h;
    shift_lo = k < 2 ? 0 : 4;
    shift_hi = 2 * k;
  }
  IG_HD float operator()(int l) const {
    const int q = ((ql[l] >> shift_lo) & 0x0f) | (((qh[l] >> shift_hi) & 3) << 4);
    return mul_rn(l < 16 ? s0 : s1, float(q - 32));
  }
};

// Q5_0/Q5_1 (ggml-common.h block_q5_0 / block_q5_1): value l < 16 is the low nibble of qs[l],
// value l >= 16 the high nibble of qs[l-16], with bit l of the little-endian qh as fifth bit.
// qh is assembled from bytes: at 22-byte strides a Q5_0 block's qh is not 4-byte aligned.
IG_HD inline int q5_quant(const uint8_t* qs, uint32_t qh, int l) {
  const int lo = l < 16 ? (qs[l] & 0x0f) : (qs[l - 16] >> 4);
  return lo | int(((qh >> l) & 1u) << 4);
}
IG_HD inline uint32_t q5_high_bits(const uint8_t* qh) {
  return uint32_t(qh[0]) | (uint32_t(qh[1]) << 8) | (uint32_t(qh[2]) << 16) |
         (uint32_t(qh[3]) << 24);
}

// y = (q - 16) * d
struct UnitQ5_0 {
  float d;
  const uint8_t* qs;
  uint32_t qh;
  IG_HD UnitQ5_0(const BlockQ5_0& b, int) : d(h2f(b.d)), qs(b.qs), qh(q5_high_bits(b.qh)) {}
  IG_HD float operator()(int l) const { return mul_rn(float(q5_quant(qs, qh, l) - 16), d); }
};

// y = q * d + m
struct UnitQ5_1 {
  float d, m;
  const uint8_t* qs;
  uint32_t qh;
  IG_HD UnitQ5_1(const BlockQ5_1& b, int)
      : d(h2f(b.d)), m(h2f(b.m)), qs(b.qs), qh(q5_high_bits(b.qh)) {}
  IG_HD float operator()(int l) const {
    return add_rn(mul_rn(float(q5_quant(qs, qh, l)), d), m);
  }
};

// Block type -> its unit decoder and units per block.
template <typename Block> struct UnitOf;
template <> struct UnitOf<BlockQ4_K> { using type = UnitQ4K; static constexpr int kPerBlock = 8; };
template <> struct UnitOf<BlockQ5_K> { using type = UnitQ5K; static constexpr int kPerBlock = 8; };
template <> struct UnitOf<BlockQ6_K> { using type = UnitQ6K; static constexpr int kPerBlock = 8; };
template <> struct UnitOf<BlockQ5_0> { using type = UnitQ5_0; static constexpr int kPerBlock = 1; };
template <> struct UnitOf<BlockQ5_1> { using type = UnitQ5_1; static constexpr int kPerBlock = 1; };

// The decoder of unit u (0..cols/32) of a row of blocks.
template <typename Block>
IG_HD inline typename UnitOf<Block>::type row_unit(const Block* row, int64_t u) {
  constexpr int n = UnitOf<Block>::kPerBlock;
  return typename UnitOf<Block>::type(row[u / n], int(u % n));
}

// Lane `lane`'s partial dot of a row with x: units lane, lane+32, ..., each value dequantized and
// added by one FMA, in value order. The order depends only on cols, never on n_tokens (batch
// invariance); the warp then sums the 32 partials in a fixed tree (device_kernels.cu warp_sum).
template <typename Block>
IG_HD inline float unit_lane_dot(const Block* row, int64_t cols, const float* x, int lane) {
  float acc = 0.f;
  const int64_t units = cols / kUnit;
  for (int64_t u = lane; u < units; u += 32) {
    const auto dec = row_unit(row, u);
    const float* xu = x + u * kUnit;
    for (int l = 0; l < kUnit; ++l) acc = fma_rn(dec(l), xu[l], acc);
  }
  return acc;
}

// What the matmul kernel stores for one row and one token, computed on the host (for tests): the
// 32 lanes' partials, then device_kernels.cu's warp_sum, v += shfl_xor(v, o) for o = 16, 8, 4,
// 2, 1, of which lane 0's sum is kept.
template <typename Block>
inline float warp_dot_on_host(const Block* row, int64_t cols, const float* x) {
  float v[32], next[32];
  for (int lane = 0; lane < 32; ++lane) v[lane] = unit_lane_dot(row, cols, x, lane);
  for (int o = 16; o > 0; o >>= 1) {
    for (int lane = 0; lane < 32; ++lane) next[lane] = v[lane] + v[lane ^ o];
    for (int lane = 0; lane < 32; ++lane) v[lane] = next[lane];
  }
  return v[0];
}

}  // namespace ig::kernels::cuda
