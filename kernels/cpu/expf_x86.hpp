// expf on 8 (AVX2) or 16 (AVX-512) floats at once, bitwise the C library's expf on x86-64 glibc
// (2.28 and later), and the two elementwise ops that spend their time in it: SwiGLU and the
// softmax numerators of attention. Included by dot_x86_impl.hpp, so compiled once per variant
// with that variant's -m flags.
//
// Why bitwise: these ops ran std::exp one value at a time (a tenth of prefill), and their bits
// are part of numerics cpu/3, which receipts already name. The algorithm is glibc's own (ARM's
// optimized-routines expf, sysdeps/ieee754/flt-32/e_expf.c with e_exp2f_data.c) as its x86-64
// build runs it on every CPU with AVX2 and FMA (__expf_fma, compiled with contraction), in double:
//   k = round(x * 32/ln2)  (fma(x, 32/ln2, 1.5 * 2^52) - 1.5 * 2^52),  r = fma(x, 32/ln2, -k),
//   2^(k/32) = T[k mod 32] with k/32's integer part added to its exponent,
//   exp(x) = float(2^(k/32) * (C0 r^3 + C1 r^2 + C2 r + 1))   (the cubic as three FMAs)
// (which operations are fused matters: unfused, 2 of the 2^32 results differ), with its special
// cases: x > 0x1.62e42ep6 gives +inf, x < -0x1.9fe368p6 gives 0, NaN gives x + x. Every one of
// the 2^32 inputs gives glibc's bits (test_kernels_elementwise: a sample in CI, all of them with
// IG_EXHAUSTIVE=1), so the results do not change, and a machine with another C library still
// computes cpu/3's bits.
#pragma once

#include "kernels/cpu/intrinsics.hpp"  // <immintrin.h>, GCC 12 warnings silenced

#include <cmath>
#include <cstdint>
#include <cstring>

namespace ig::kernels::cpu {
namespace {

// T[i] = the bits of 2^(i/32) rounded to double, minus i << 47: adding k << 47 for k = 32q + i
// then puts q into the exponent (e_exp2f_data.c's tab).
alignas(64) constexpr uint64_t kExp2Table[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
};
constexpr double kInvLn2N = 0x1.71547652b82fep+0 * 32;
constexpr double kRoundShift = 0x1.8p+52;  // z + this rounds z to an integer (ties to even)
constexpr double kC0 = 0x1.c6af84b912394p-5 / (32.0 * 32 * 32), kC1 = 0x1.ebfce50fac4f3p-3 / (32.0 * 32),
                 kC2 = 0x1.62e42ff0c52d6p-1 / 32;
constexpr float kExpOverflow = 0x1.62e42ep6f;    // above: +inf (log(2^128))
constexpr float kExpUnderflow = -0x1.9fe368p6f;  // below: 0 (log(2^-150))

#if IG_AVX512
// 2^(k/32) * p(r) for 8 doubles, before the rounding to float.
inline __m512d exp_core(__m512d xd) {
  const __m512d invln2n = _mm512_set1_pd(kInvLn2N);
  __m512d kd = _mm512_fmadd_pd(invln2n, xd, _mm512_set1_pd(kRoundShift));
  const __m512i ki = _mm512_castpd_si512(kd);
  kd = _mm512_sub_pd(kd, _mm512_set1_pd(kRoundShift));
  const __m512d r = _mm512_fmsub_pd(invln2n, xd, kd);
  // T[ki mod 32]: two 16-entry permutes, the fifth index bit choosing between them
  const auto* tab = reinterpret_cast<const double*>(kExp2Table);
  const __m512d lo = _mm512_permutex2var_pd(_mm512_load_pd(tab), ki, _mm512_load_pd(tab + 8));
  const __m512d hi = _mm512_permutex2var_pd(_mm512_load_pd(tab + 16), ki, _mm512_load_pd(tab + 24));
  const __mmask8 upper = _mm512_test_epi64_mask(ki, _mm512_set1_epi64(16));
  __m512i t = _mm512_castpd_si512(_mm512_mask_blend_pd(upper, lo, hi));
  t = _mm512_add_epi64(t, _mm512_slli_epi64(ki, 47));
  const __m512d s = _mm512_castsi512_pd(t);
  const __m512d c = _mm512_fmadd_pd(_mm512_set1_pd(kC0), r, _mm512_set1_pd(kC1));
  const __m512d r2 = _mm512_mul_pd(r, r);
  __m512d y = _mm512_fmadd_pd(_mm512_set1_pd(kC2), r, _mm512_set1_pd(1.0));
  y = _mm512_fmadd_pd(c, r2, y);
  return _mm512_mul_pd(y, s);
}

inline __m512 expf16(__m512 x) {
  const __m256 x_lo = _mm512_castps512_ps256(x);
  const __m256 x_hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1));
  const __m256 lo = _mm512_cvtpd_ps(exp_core(_mm512_cvtps_pd(x_lo)));
  const __m256 hi = _mm512_cvtpd_ps(exp_core(_mm512_cvtps_pd(x_hi)));
  __m512 y = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
  y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, _mm512_set1_ps(kExpOverflow), _CMP_GT_OQ), _mm512_set1_ps(INFINITY));
  y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, _mm512_set1_ps(kExpUnderflow), _CMP_LT_OQ), _mm512_setzero_ps());
  return _mm512_mask_add_ps(y, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x, x);
}

// x[i] = expf(x[i]).
void exp_f32(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, expf16(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(x + i, m, expf16(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

// out[i] = g / (1 + expf(-g)) * up[i], g = gate[i]: scalar::swiglu's operations.
void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512i sign = _mm512_set1_epi32(int32_t(0x80000000u));
  auto op = [&](__m512 g, __m512 u) {
    const __m512 e = expf16(_mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(g), sign)));  // -g
    return _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, e)), u);
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, op(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i)));
  if (i < n) {
    const __mmask16 m = __mmask16((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(out + i, m, op(_mm512_maskz_loadu_ps(m, gate + i), _mm512_maskz_loadu_ps(m, up + i)));
  }
}
#else
inline __m256d exp_core(__m256d xd) {
  const __m256d invln2n = _mm256_set1_pd(kInvLn2N);
  __m256d kd = _mm256_fmadd_pd(invln2n, xd, _mm256_set1_pd(kRoundShift));
  const __m256i ki = _mm256_castpd_si256(kd);
  kd = _mm256_sub_pd(kd, _mm256_set1_pd(kRoundShift));
  const __m256d r = _mm256_fmsub_pd(invln2n, xd, kd);
  const __m256i idx = _mm256_and_si256(ki, _mm256_set1_epi64x(31));
  __m256i t = _mm256_i64gather_epi64(reinterpret_cast<const long long*>(kExp2Table), idx, 8);
  t = _mm256_add_epi64(t, _mm256_slli_epi64(ki, 47));
  const __m256d s = _mm256_castsi256_pd(t);
  const __m256d c = _mm256_fmadd_pd(_mm256_set1_pd(kC0), r, _mm256_set1_pd(kC1));
  const __m256d r2 = _mm256_mul_pd(r, r);
  __m256d y = _mm256_fmadd_pd(_mm256_set1_pd(kC2), r, _mm256_set1_pd(1.0));
  y = _mm256_fmadd_pd(c, r2, y);
  return _mm256_mul_pd(y, s);
}

inline __m256 expf8(__m256 x) {
  const __m128 lo = _mm256_cvtpd_ps(exp_core(_mm256_cvtps_pd(_mm256_castps256_ps128(x))));
  const __m128 hi = _mm256_cvtpd_ps(exp_core(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1))));
  __m256 y = _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
  y = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, _mm256_set1_ps(kExpOverflow), _CMP_GT_OQ));
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, _mm256_set1_ps(kExpUnderflow), _CMP_LT_OQ));
  return _mm256_blendv_ps(y, _mm256_add_ps(x, x), _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

void exp_f32(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, expf8(_mm256_loadu_ps(x + i)));
  if (i < n) {  // the tail through a zero-padded vector
    float v[8] = {};
    std::memcpy(v, x + i, size_t(n - i) * sizeof(float));
    _mm256_storeu_ps(v, expf8(_mm256_loadu_ps(v)));
    std::memcpy(x + i, v, size_t(n - i) * sizeof(float));
  }
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
  auto op = [&](__m256 g, __m256 u) {
    const __m256 e = expf8(_mm256_xor_ps(g, sign));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), u);
  };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, op(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  if (i < n) {
    float g[8] = {}, u[8] = {}, o[8];
    std::memcpy(g, gate + i, size_t(n - i) * sizeof(float));
    std::memcpy(u, up + i, size_t(n - i) * sizeof(float));
    _mm256_storeu_ps(o, op(_mm256_loadu_ps(g), _mm256_loadu_ps(u)));
    std::memcpy(out + i, o, size_t(n - i) * sizeof(float));
  }
}
#endif

}  // namespace
}  // namespace ig::kernels::cpu
