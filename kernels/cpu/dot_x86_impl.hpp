// x86 SIMD kernels, included by dot_avx2.cpp (IG_VNNI 0: AVX2+FMA+F16C) and
// dot_avxvnni.cpp (IG_VNNI 1: plus AVX-VNNI). Each is compiled with its own
// -m flags and only called after a run-time CPU check.
//
// The integer block dots are exact in both variants (no saturation can occur
// for |activation| <= 127), so the float results are bitwise the same.
//
// Reduction order per activation row, fixed by `cols` alone:
//   f32/f16: four 8-lane accumulators over 32-element chunks, then 8-element
//            chunks into accumulator 0, then ((a0+a1)+(a2+a3)) reduced by a
//            fixed lane tree, then the scalar tail in order.
//   q8_0/q4_0 (numerics cpu/3): per 32-block the exact int32 dot isum, then
//            acc = fma(dw*dx, float(isum), acc) in block order, one float accumulator
//            from 0 — llama.cpp's own order (one integer per block, then one float
//            step), and the form AMX tiles compute (gemm_amx.cpp). cpu/2 accumulated
//            8 float lanes per block, which tied every fast path to 8-lane vectors.
//            The x86 kernels here run eight rows side by side, one per lane.
// The AVX-512 variant adds the F16/F32 prefill gemm (dense_gemm_x86_impl.hpp), which keeps
// the dense order exactly, and the one-token Q8_0/Q4_0 kernel (gemv_x86_impl.hpp).
#pragma once

#include "kernels/cpu/intrinsics.hpp"  // <immintrin.h>, GCC 12 warnings silenced

#include <algorithm>
#include <cmath>

#include "kernels/cpu/dot.hpp"

#ifndef IG_VNNI
#error "define IG_VNNI before including dot_x86_impl.hpp"
#endif
#ifndef IG_AVX512
#define IG_AVX512 0
#endif

#include "kernels/cpu/expf_x86.hpp"

// 256-bit dpbusd: AVX-VNNI's VEX form, or AVX512-VNNI+VL's EVEX form in the
// AVX-512 variant (the same exact int32 lanes).
#if IG_AVX512
#define IG_DPBUSD256 _mm256_dpbusd_epi32
#else
#define IG_DPBUSD256 _mm256_dpbusd_avx_epi32
#endif

namespace ig::kernels::cpu {
namespace {

inline float hsum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  __m128 sh = _mm_movehl_ps(lo, lo);
  lo = _mm_add_ps(lo, sh);
  sh = _mm_shuffle_ps(lo, lo, 0x1);
  return _mm_cvtss_f32(_mm_add_ss(lo, sh));
}

inline float reduce4(const __m256* a) {
  return hsum(_mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3])));
}

struct LoadF32 {
  const float* p;
  __m256 operator()(int64_t i) const { return _mm256_loadu_ps(p + i); }
  float at(int64_t i) const { return p[i]; }
  void prefetch(int64_t) const {}  // F32 here is activations and small tensors: in cache
};
struct LoadF16 {
  const uint16_t* p;
  __m256 operator()(int64_t i) const {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
  }
  float at(int64_t i) const { return _cvtsh_ss(p[i]); }
  // One-token F16 rows stream from memory in 4 KB pages, where the hardware prefetcher
  // stops: a software prefetch 16 KB ahead (into the next rows) keeps the reads in flight.
  void prefetch(int64_t i) const { _mm_prefetch(reinterpret_cast<const char*>(p + i + 8192), _MM_HINT_T0); }
};

template <int N, typename Load>
void dense_n(Load w, const float* x, int64_t xs, int64_t cols, float* out, int64_t os) {
  __m256 acc[N][4];
  for (int t = 0; t < N; ++t)
    for (int k = 0; k < 4; ++k) acc[t][k] = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 32 <= cols; c += 32) {
    if constexpr (N == 1) w.prefetch(c);
    __m256 w0 = w(c), w1 = w(c + 8), w2 = w(c + 16), w3 = w(c + 24);
    for (int t = 0; t < N; ++t) {
      const float* xt = x + t * xs + c;
      acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xt), acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xt + 8), acc[t][1]);
      acc[t][2] = _mm256_fmadd_ps(w2, _mm256_loadu_ps(xt + 16), acc[t][2]);
      acc[t][3] = _mm256_fmadd_ps(w3, _mm256_loadu_ps(xt + 24), acc[t][3]);
    }
  }
  for (; c + 8 <= cols; c += 8) {
    __m256 w0 = w(c);
    for (int t = 0; t < N; ++t)
      acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + t * xs + c), acc[t][0]);
  }
  for (int t = 0; t < N; ++t) {
    float s = reduce4(acc[t]);
    const float* xt = x + t * xs;
    for (int64_t i = c; i < cols; ++i) s = std::fma(w.at(i), xt[i], s);
    out[t * os] = s;
  }
}

#if IG_AVX512
// AVX-512 form of dense_n with bitwise the same result: zmm A holds AVX2
// accumulators 0|1 and B holds 2|3, lane for lane, so every lane sees the same
// FMA sequence; the 8-element tail and the reduction then run on the
// extracted 256-bit halves exactly as in dense_n.
struct Load16F32 {
  const float* p;
  __m512 operator()(int64_t i) const { return _mm512_loadu_ps(p + i); }
};
struct Load16F16 {
  const uint16_t* p;
  __m512 operator()(int64_t i) const {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
  }
};

template <int N, typename Load16, typename Load>
void dense512_n(Load16 w16, Load w, const float* x, int64_t xs, int64_t cols, float* out,
                int64_t os) {
  __m512 A[N], B[N];
  for (int t = 0; t < N; ++t) A[t] = B[t] = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 32 <= cols; c += 32) {
    w.prefetch(c);  // a few tokens (batched decode) still stream F16 rows from memory
    const __m512 wa = w16(c), wb = w16(c + 16);
    for (int t = 0; t < N; ++t) {
      const float* xt = x + t * xs + c;
      A[t] = _mm512_fmadd_ps(wa, _mm512_loadu_ps(xt), A[t]);
      B[t] = _mm512_fmadd_ps(wb, _mm512_loadu_ps(xt + 16), B[t]);
    }
  }
  for (int t = 0; t < N; ++t) {
    __m256 acc[4] = {_mm512_castps512_ps256(A[t]),
                     _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(A[t]), 1)),
                     _mm512_castps512_ps256(B[t]),
                     _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(B[t]), 1))};
    const float* xt = x + t * xs;
    int64_t cc = c;
    for (; cc + 8 <= cols; cc += 8) acc[0] = _mm256_fmadd_ps(w(cc), _mm256_loadu_ps(xt + cc), acc[0]);
    float s = reduce4(acc);
    for (int64_t i = cc; i < cols; ++i) s = std::fma(w.at(i), xt[i], s);
    out[t * os] = s;
  }
}

template <typename Load16, typename Load, typename P>
void dense(P w, const float* x, int64_t xs, int n, int64_t cols, float* out, int64_t os) {
  Load16 l16{w};
  Load l{w};
  // Wide tiles (prefill) gain from 512-bit FMAs; single rows (decode) are
  // memory-bound and run the AVX2 form, which gives the same bits.
  int t = 0;
  for (; t + 4 <= n; t += 4) dense512_n<4>(l16, l, x + t * xs, xs, cols, out + t * os, os);
  for (; t + 2 <= n; t += 2) dense_n<2>(l, x + t * xs, xs, cols, out + t * os, os);
  if (t < n) dense_n<1>(l, x + t * xs, xs, cols, out + t * os, os);
}

void f32(const float* w, const float* x, int64_t xs, int n, int64_t cols, float* out, int64_t os) {
  dense<Load16F32, LoadF32>(w, x, xs, n, cols, out, os);
}
void f16(const uint16_t* w, const float* x, int64_t xs, int n, int64_t cols, float* out,
         int64_t os) {
  dense<Load16F16, LoadF16>(w, x, xs, n, cols, out, os);
}
#else
template <typename Load, typename P>
void dense(P w, const float* x, int64_t xs, int n, int64_t cols, float* out, int64_t os) {
  Load l{w};
  if (n == 1) return dense_n<1>(l, x, xs, cols, out, os);
  for (int t = 0; t + 1 < n; t += 2) dense_n<2>(l, x + t * xs, xs, cols, out + t * os, os);
  if (n % 2) dense_n<1>(l, x + (n - 1) * xs, xs, cols, out + (n - 1) * os, os);
}

void f32(const float* w, const float* x, int64_t xs, int n, int64_t cols, float* out, int64_t os) {
  dense<LoadF32>(w, x, xs, n, cols, out, os);
}
void f16(const uint16_t* w, const float* x, int64_t xs, int n, int64_t cols, float* out,
         int64_t os) {
  dense<LoadF16>(w, x, xs, n, cols, out, os);
}
#endif  // IG_AVX512

// Exact int32 lanes (8 lanes, 4 products each) of sum(w*x) for one block, w as signed bytes.
// `w` may hold -128 (Q8_0 weights); the activation never does (|q| <= 127), so the sign trick
// (|w| times x with w's sign) stays exact and maddubs cannot saturate (2 * 128 * 127 < 2^15).
inline __m256i lanes_signed(__m256i w, __m256i xq) {
  const __m256i uw = _mm256_sign_epi8(w, w);
  const __m256i sx = _mm256_sign_epi8(xq, w);
#if IG_VNNI
  return IG_DPBUSD256(_mm256_setzero_si256(), uw, sx);
#else
  return _mm256_madd_epi16(_mm256_set1_epi16(1), _mm256_maddubs_epi16(uw, sx));
#endif
}

// Q4_0 block values n - 8 as signed bytes, in the order of the activation's quants: the low
// nibbles are values 0..15, the high ones 16..31.
inline __m256i q4_values(const uint8_t* qs) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_insertf128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1);
  return _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0x0f)), _mm256_set1_epi8(8));
}

struct Q8Values {
  static __m256i get(const BlockQ8_0& b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)); }
};
struct Q4Values {
  static __m256i get(const BlockQ4_0& b) { return q4_values(b.qs); }
};

// The eight lanes of v[0..7] each summed: out lane i = sum of v[i]'s lanes (exact integers, so
// any order gives the same totals).
inline __m256i sum8x8(const __m256i (&v)[8]) {
  const __m256i q0 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  const __m256i q1 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(q0, q1, 0x20), _mm256_permute2x128_si256(q0, q1, 0x31));
}

// Eight rows (row i at w + rows[i]*ws, repeats allowed) times one token: per block the eight
// exact block sums side by side, then acc = fma(dw*dx, float(isum), acc) lane by lane — the
// cpu/3 order of each (row, token), whatever rows share the pass.
template <typename V, typename Block>
inline __m256 quant_rows8(const Block* w, int64_t ws, const int (&rows)[8], const BlockQ8_0* x, int64_t nb) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs));
    __m256i lanes[8];
    alignas(16) uint16_t dh[8];
    for (int i = 0; i < 8; ++i) {
      const Block& wb = w[rows[i] * ws + b];
      lanes[i] = lanes_signed(V::get(wb), xq);
      dh[i] = wb.d;
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(dh)));
    const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(_cvtsh_ss(x[b].d)));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sum8x8(lanes)), acc);
  }
  return acc;
}

template <typename V, typename Block>
void quant(const Block* w, int64_t ws, int nr, const BlockQ8_0* x, int64_t xs, int n, int64_t nb, float* out,
           int64_t os) {
  for (int r0 = 0; r0 < nr; r0 += 8) {
    const int m = std::min(8, nr - r0);
    int rows[8];
    for (int i = 0; i < 8; ++i) rows[i] = r0 + std::min(i, m - 1);  // a short group repeats its last row
    for (int t = 0; t < n; ++t) {
      alignas(32) float res[8];
      _mm256_store_ps(res, quant_rows8<V>(w, ws, rows, x + t * xs, nb));
      for (int i = 0; i < m; ++i) out[t * os + r0 + i] = res[i];
    }
  }
}

void q8_0(const BlockQ8_0* w, int64_t ws, int nr, const BlockQ8_0* x, int64_t xs, int n, int64_t nb, float* out,
          int64_t os) {
  quant<Q8Values>(w, ws, nr, x, xs, n, nb, out, os);
}

void q4_0(const BlockQ4_0* w, int64_t ws, int nr, const BlockQ8_0* x, int64_t xs, int n, int64_t nb, float* out,
          int64_t os) {
  quant<Q4Values>(w, ws, nr, x, xs, n, nb, out, os);
}

void axpy(float a, const float* x, int64_t n, float* y) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(va, _mm256_loadu_ps(x + i))));
  for (; i < n; ++i) y[i] += a * x[i];  // (this file's flags forbid contraction, as ig_kernels')
}

float dot(const float* a, const float* b, int64_t n) {
  float r;
  dense_n<1>(LoadF32{a}, b, 0, n, &r, 0);
  return r;
}

// lroundf(v) for |v| < 2^23, lane by lane: t = trunc(v), f = v - t (exact), and t moves one
// away from zero when |f| >= 0.5 — round half away from zero, as lroundf.
inline __m256i round_away(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
  const __m256 absf = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(v, t));
  const __m256 up = _mm256_and_ps(_mm256_cmp_ps(absf, _mm256_set1_ps(0.5f), _CMP_GE_OQ),
                                  _mm256_or_ps(_mm256_set1_ps(1.0f), sign));
  return _mm256_cvttps_epi32(_mm256_add_ps(t, up));
}

// quantize_row_q8_0 (dot_scalar.cpp) with the same operations per value: max|x| (exact in
// any order), d = amax / 127, id = 1/d, x*id rounded as lroundf.
void quantize_q8(const float* x, int64_t cols, BlockQ8_0* out) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t b = 0; b < cols / kBlock; ++b) {
    const float* xb = x + b * kBlock;
    __m256 v[4];
    for (int k = 0; k < 4; ++k) v[k] = _mm256_loadu_ps(xb + 8 * k);
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], abs_mask), _mm256_and_ps(v[1], abs_mask)),
                             _mm256_max_ps(_mm256_and_ps(v[2], abs_mask), _mm256_and_ps(v[3], abs_mask)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 0x1));
    const float amax = _mm_cvtss_f32(m4);
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    out[b].d = fp32_to_fp16(d);
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; ++k) q[k] = round_away(_mm256_mul_ps(v[k], vid));
    // int32 -> int8 with saturation (|q| <= 127 already); packs work per 128-bit lane, the
    // permute puts the four 8-value groups back in order
    const __m256i p16a = _mm256_packs_epi32(q[0], q[1]);  // 0-3 8-11 | 4-7 12-15
    const __m256i p16b = _mm256_packs_epi32(q[2], q[3]);
    const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    const __m256i ordered = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[b].qs), ordered);
  }
}

// q8_lane_sums: -8 * (sum of 4 consecutive quants), 8 lanes per block (exact integers).
void lane_sums(const BlockQ8_0* x, int64_t nb, int32_t* out) {
  const __m256i ones8 = _mm256_set1_epi8(1);
  const __m256i ones16 = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs));
    const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + b * 8), _mm256_mullo_epi32(s, _mm256_set1_epi32(-8)));
  }
}

}  // namespace

#if IG_AVX512
}  // namespace ig::kernels::cpu
#include "kernels/cpu/dense_gemm_x86_impl.hpp"
#include "kernels/cpu/gemv_x86_impl.hpp"
namespace ig::kernels::cpu {
#define IG_F32_GEMM f32_gemm
#define IG_F16_GEMM f16_gemm
#define IG_Q8_GEMV q8_0_gemv
#define IG_Q4_GEMV (cpu_has_gfni() ? q4_0_gemv_gfni : q4_0_gemv)
#define IG_Q5_GEMV (cpu_has_gfni() ? q5_0_gemv_gfni : q5_0_gemv)
#define IG_Q4X16_GEMV (cpu_has_gfni() ? q4_0x16_gemv_gfni : q4_0x16_gemv)
#define IG_Q8X16_GEMV q8_0x16_gemv
#else
#define IG_F32_GEMM nullptr
#define IG_F16_GEMM nullptr
#define IG_Q8_GEMV nullptr
#define IG_Q4_GEMV nullptr
#define IG_Q5_GEMV nullptr
#define IG_Q4X16_GEMV nullptr
#define IG_Q8X16_GEMV nullptr
#endif

const DotTable& IG_TABLE_FN() {
  static const DotTable t{IG_TABLE_NAME, f32,         f16,        q8_0,        q4_0,        nullptr, nullptr,
                          IG_Q8_GEMV,    IG_Q4_GEMV,  IG_Q5_GEMV, nullptr,     nullptr,     nullptr,     nullptr,
                          IG_F32_GEMM,   IG_F16_GEMM, dot,         quantize_q8, lane_sums,  IG_Q4X16_GEMV, IG_Q8X16_GEMV, nullptr, nullptr,
                          exp_f32,       swiglu,      axpy};
  return t;
}

#if IG_AVX512
const DotTable& avx512_table_without_gfni() {
  static const DotTable t = [] {
    DotTable a = IG_TABLE_FN();
    a.q4_0_gemv = q4_0_gemv;
    a.q5_0_gemv = q5_0_gemv;
    a.q4_0x16_gemv = q4_0x16_gemv;
    return a;
  }();
  return t;
}
#endif

}  // namespace ig::kernels::cpu
