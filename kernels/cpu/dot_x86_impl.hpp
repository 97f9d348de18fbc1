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
//   q8_0/q4_0: per 32-block exact int32 lanes (8 lanes of 4 products), then
//            acc[b % 2] = fma(dw*dx, float(lanes), acc[b % 2]) in two 8-lane
//            accumulators (even and odd blocks, in block order), then
//            hsum(acc[0] + acc[1]) by the same lane tree (numerics cpu/2; cpu/1
//            had one accumulator: two break the FMA latency chain).
// The AVX-512 variant adds kernels that keep exactly these orders: the prefill gemms
// (gemm_x86_impl.hpp for Q8_0/Q4_0, dense_gemm_x86_impl.hpp for F16/F32) and the one-token
// Q8_0/Q4_0 kernel (gemv_x86_impl.hpp).
#pragma once

// GCC 12's AVX-512 headers build "undefined" vectors by self-assignment (`__m512 __Y = __Y;`),
// which its own -Wuninitialized then reports at every cast such as _mm512_castps512_ps256:
// GCC bug 105593, fixed in GCC 13. The values are never read. Silenced for this header only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cmath>

#include "kernels/cpu/dot.hpp"

#ifndef IG_VNNI
#error "define IG_VNNI before including dot_x86_impl.hpp"
#endif
#ifndef IG_AVX512
#define IG_AVX512 0
#endif

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

// Weight block prepared once per block and reused for every token of the tile.
struct WBytes {
  __m256i a;   // signed bytes (or raw Q4 nibbles on the VNNI Q4 path)
  __m256i ua;  // |a|
};

// Exact int32 lanes (8 lanes, 4 products each) of sum(w*x) for one block.
// `a` may hold -128 (Q8_0 weights); the activation never does (|q| <= 127).
inline __m256i lanes_signed(const WBytes& w, __m256i xq) {
  const __m256i sx = _mm256_sign_epi8(xq, w.a);
#if IG_VNNI
  return IG_DPBUSD256(_mm256_setzero_si256(), w.ua, sx);
#else
  return _mm256_madd_epi16(_mm256_set1_epi16(1), _mm256_maddubs_epi16(w.ua, sx));
#endif
}

inline __m256i q4_nibbles(const uint8_t* qs) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_insertf128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

struct Q8Policy {
  static constexpr bool kOneRow = true;  // 2-row tiles spill registers here
  static WBytes prep(const BlockQ8_0& b) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
    return {a, _mm256_sign_epi8(a, a)};
  }
  static __m256i lanes(const WBytes& w, __m256i xq, const int32_t*) { return lanes_signed(w, xq); }
};

struct Q4Policy {
  static constexpr bool kOneRow = false;
#if IG_VNNI
  // Raw nibbles n in [0,15] are the unsigned operand: sum((n-8)*x) =
  // sum(n*x) - 8*sum(x), one vpdpbusd starting from the activation's
  // precomputed per-lane -8*sum(x). Same int32 lanes as the generic path.
  static WBytes prep(const BlockQ4_0& b) { return {q4_nibbles(b.qs), _mm256_setzero_si256()}; }
  static __m256i lanes(const WBytes& w, __m256i xq, const int32_t* xsum) {
    const __m256i init = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xsum));
    return IG_DPBUSD256(init, w.a, xq);
  }
#else
  static WBytes prep(const BlockQ4_0& b) {
    const __m256i a = _mm256_sub_epi8(q4_nibbles(b.qs), _mm256_set1_epi8(8));
    return {a, _mm256_sign_epi8(a, a)};
  }
  static __m256i lanes(const WBytes& w, __m256i xq, const int32_t*) { return lanes_signed(w, xq); }
#endif
};

// R weight rows (stride ws blocks) x N tokens. For each (row, token) the
// sequence is: per block in order, acc[b%2] = fma(dw*dx, float(lanes), acc[b%2]);
// then hsum(acc[0] + acc[1]). Neither R nor N changes it.
// One block of quant_tile into accumulators acc (the even or the odd ones).
template <int R, int N, typename P, typename Block>
inline void quant_block(const Block* w, int64_t ws, const BlockQ8_0* x, const int32_t* xsum, int64_t xs,
                        int64_t b, __m256 (&acc)[R][N]) {
  WBytes wb[R];
  float dw[R];
  for (int r = 0; r < R; ++r) {
    wb[r] = P::prep(w[r * ws + b]);
    dw[r] = _cvtsh_ss(w[r * ws + b].d);
  }
  for (int t = 0; t < N; ++t) {
    const BlockQ8_0& xb = x[t * xs + b];
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.qs));
    const float dx = _cvtsh_ss(xb.d);
    const int32_t* xl = xsum ? xsum + (t * xs + b) * 8 : nullptr;
    for (int r = 0; r < R; ++r) {
      const __m256 d = _mm256_set1_ps(dw[r] * dx);
      acc[r][t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(P::lanes(wb[r], xq, xl)), acc[r][t]);
    }
  }
}

// R weight rows (stride ws blocks) x N tokens. For each (row, token) the
// sequence is: per block in order, acc[b%2] = fma(dw*dx, float(lanes), acc[b%2]);
// then hsum(acc[0] + acc[1]). Neither R nor N changes it.
template <int R, int N, typename P, typename Block>
void quant_tile(const Block* w, int64_t ws, const BlockQ8_0* x, const int32_t* xsum, int64_t xs,
                int64_t nb, float* out, int64_t os) {
  __m256 even[R][N], odd[R][N];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < N; ++t) even[r][t] = odd[r][t] = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    quant_block<R, N, P>(w, ws, x, xsum, xs, b, even);
    quant_block<R, N, P>(w, ws, x, xsum, xs, b + 1, odd);
  }
  if (b < nb) quant_block<R, N, P>(w, ws, x, xsum, xs, b, even);
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < N; ++t) out[t * os + r] = hsum(_mm256_add_ps(even[r][t], odd[r][t]));
}

template <int R, typename P, typename Block>
void quant_rows(const Block* w, int64_t ws, const BlockQ8_0* x, const int32_t* xsum, int64_t xs,
                int n, int64_t nb, float* out, int64_t os) {
  // at most 2 tokens per tile: 2 accumulators x R rows x N tokens stay in the 16 ymm registers
  for (int t = 0; t < n; t += 2) {
    const int32_t* xl = xsum ? xsum + t * xs * 8 : nullptr;
    if (n - t >= 2)
      quant_tile<R, 2, P>(w, ws, x + t * xs, xl, xs, nb, out + t * os, os);
    else
      quant_tile<R, 1, P>(w, ws, x + t * xs, xl, xs, nb, out + t * os, os);
  }
}

template <typename P, typename Block>
void quant(const Block* w, int64_t ws, int nr, const BlockQ8_0* x, const int32_t* xsum, int64_t xs,
           int n, int64_t nb, float* out, int64_t os) {
  if (nr == 2 && !P::kOneRow) return quant_rows<2, P>(w, ws, x, xsum, xs, n, nb, out, os);
  for (int r = 0; r < nr; ++r)
    quant_rows<1, P>(w + r * ws, ws, x, xsum, xs, n, nb, out + r, os);
}

void q8_0(const BlockQ8_0* w, int64_t ws, int nr, const BlockQ8_0* x, const int32_t*, int64_t xs,
          int n, int64_t nb, float* out, int64_t os) {
  quant<Q8Policy>(w, ws, nr, x, nullptr, xs, n, nb, out, os);
}

void q4_0(const BlockQ4_0* w, int64_t ws, int nr, const BlockQ8_0* x, const int32_t* xsum,
          int64_t xs, int n, int64_t nb, float* out, int64_t os) {
  quant<Q4Policy>(w, ws, nr, x, IG_VNNI ? xsum : nullptr, xs, n, nb, out, os);
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
// Q4_0 over packed token pairs: each 512-bit lane does exactly what the
// 256-bit VNNI path does for its token (same dpbusd lanes from the same init,
// the same float product dw*dx, the same FMA), so each half, reduced by hsum,
// gives bitwise the q4_0 result.
// Weight bytes as the unsigned dpbusd operand, and the init shift that turns
// the packed -8*sum(x) lanes into the matching correction: Q4_0 uses the raw
// nibbles n (value n-8: init -8*sum), Q8_0 uses w^0x80 = w+128 (init
// -128*sum = 16 * (-8*sum)). Either way the int32 lanes are the exact
// sum(w*x) of the per-token kernels.
struct Q4Pairs {
  static __m512i bytes(const BlockQ4_0& b) { return _mm512_broadcast_i64x4(q4_nibbles(b.qs)); }
  static __m512i init(__m512i i8) { return i8; }
};
struct Q8Pairs {
  static __m512i bytes(const BlockQ8_0& b) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
    return _mm512_broadcast_i64x4(_mm256_xor_si256(a, _mm256_set1_epi8(char(0x80))));
  }
  static __m512i init(__m512i i8) { return _mm512_slli_epi32(i8, 4); }
};

template <int R, int NP, typename P, typename Block>
inline void pairs_block(const Block* w, int64_t ws, const PairBlock* x, int64_t xs, int64_t b,
                        __m512 (&acc)[R][NP]) {
  __m512i wb[R];
  __m512 dw[R];
  for (int r = 0; r < R; ++r) {
    wb[r] = P::bytes(w[r * ws + b]);
    dw[r] = _mm512_set1_ps(_cvtsh_ss(w[r * ws + b].d));
  }
  for (int p = 0; p < NP; ++p) {
    const PairBlock& xb = x[p * xs + b];
    const __m512i xq = _mm512_load_si512(xb.qs);
    const __m512i init = P::init(_mm512_load_si512(xb.init));
    const __m512 dx = _mm512_load_ps(xb.d);
    for (int r = 0; r < R; ++r) {
      const __m512 d = _mm512_mul_ps(dw[r], dx);
      acc[r][p] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(init, wb[r], xq)), acc[r][p]);
    }
  }
}

template <int R, int NP, typename P, typename Block>
void pairs_tile(const Block* w, int64_t ws, const PairBlock* x, int64_t xs, int64_t nb,
                float* out, int64_t os) {
  __m512 even[R][NP], odd[R][NP];  // even and odd blocks, as quant_tile
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < NP; ++p) even[r][p] = odd[r][p] = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    pairs_block<R, NP, P>(w, ws, x, xs, b, even);
    pairs_block<R, NP, P>(w, ws, x, xs, b + 1, odd);
  }
  if (b < nb) pairs_block<R, NP, P>(w, ws, x, xs, b, even);
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < NP; ++p) {
      const __m512 s = _mm512_add_ps(even[r][p], odd[r][p]);
      const __m256 lo = _mm512_castps512_ps256(s);
      const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1));
      out[(2 * p) * os + r] = hsum(lo);
      out[(2 * p + 1) * os + r] = hsum(hi);
    }
}

template <typename P, typename Block>
void pairs(const Block* w, int64_t ws, int nr, const PairBlock* x, int64_t xs, int np, int64_t nb,
           float* out, int64_t os) {
  if (nr == 2) {
    if (np == 2) return pairs_tile<2, 2, P>(w, ws, x, xs, nb, out, os);
    return pairs_tile<2, 1, P>(w, ws, x, xs, nb, out, os);
  }
  if (np == 2) return pairs_tile<1, 2, P>(w, ws, x, xs, nb, out, os);
  return pairs_tile<1, 1, P>(w, ws, x, xs, nb, out, os);
}

void q4_0_pairs(const BlockQ4_0* w, int64_t ws, int nr, const PairBlock* x, int64_t xs, int np,
                int64_t nb, float* out, int64_t os) {
  pairs<Q4Pairs>(w, ws, nr, x, xs, np, nb, out, os);
}
void q8_0_pairs(const BlockQ8_0* w, int64_t ws, int nr, const PairBlock* x, int64_t xs, int np,
                int64_t nb, float* out, int64_t os) {
  pairs<Q8Pairs>(w, ws, nr, x, xs, np, nb, out, os);
}
#define IG_Q4_PAIRS q4_0_pairs
#define IG_Q8_PAIRS q8_0_pairs
}  // namespace ig::kernels::cpu
#include "kernels/cpu/gemm_x86_impl.hpp"
#include "kernels/cpu/dense_gemm_x86_impl.hpp"
#include "kernels/cpu/gemv_x86_impl.hpp"
namespace ig::kernels::cpu {
#define IG_Q4_GEMV q4_0_gemv
#define IG_Q8_GEMV q8_0_gemv
#define IG_Q4_GEMM (cpu_has_gfni() ? q4_0_gemm_gfni : q4_0_gemm)
#define IG_Q8_GEMM q8_0_gemm
#define IG_F32_GEMM f32_gemm
#define IG_F16_GEMM f16_gemm
#else
#define IG_Q4_GEMV nullptr
#define IG_Q8_GEMV nullptr
#define IG_F32_GEMM nullptr
#define IG_F16_GEMM nullptr
#define IG_Q4_PAIRS nullptr
#define IG_Q8_PAIRS nullptr
#define IG_Q4_GEMM nullptr
#define IG_Q8_GEMM nullptr
#endif

const DotTable& IG_TABLE_FN() {
  static const DotTable t{IG_TABLE_NAME, f32,         f16,       q8_0,       q4_0,      IG_Q4_PAIRS,
                          IG_Q8_PAIRS,   IG_Q4_GEMM,  IG_Q8_GEMM, IG_Q4_GEMV, IG_Q8_GEMV,
                          IG_F32_GEMM,   IG_F16_GEMM,
                          dot,           quantize_q8, lane_sums};
  return t;
}

}  // namespace ig::kernels::cpu
