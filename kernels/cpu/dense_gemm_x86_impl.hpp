// Multi-token (prefill) F16/F32 matmul of the AVX-512 variant, included by dot_x86_impl.hpp
// inside its IG_AVX512 part (it uses dense512_n's accumulator layout, reduce4 and the Load
// functors from there).
//
// Reduction order: exactly that of dense_n / dense512_n, fixed by `cols` alone. For each
// (row, token): four 8-lane accumulators over the 32-element chunks in order (zmm A = 0|1,
// B = 2|3, lane for lane), then 8-element chunks into accumulator 0, then ((a0+a1)+(a2+a3)) by
// the fixed lane tree, then the scalar tail in order. Everything here only changes which
// accumulators share a pass: R rows x N tokens in registers, F16 rows converted to float once
// per row tile (a small scratch, reused by every token group), and the columns split into
// chunks of kDenseKc whose activations stay in L1 while the accumulators are parked in memory
// between chunks (a store and a reload: exact).
#pragma once

#include <algorithm>
#include <type_traits>
#include <vector>

namespace ig::kernels::cpu {
namespace {

constexpr int kDenseR = 2;        // rows per register tile
constexpr int kDenseN = 6;        // tokens per register tile: 2 * R * N = 24 accumulators
constexpr int64_t kDenseKc = 1024;  // columns per chunk (a multiple of 32)
constexpr int64_t kDenseRowTile = 16;

// Columns [c0, c1) (32-chunks) of R rows (wf, float, ws apart) x N tokens into the parked
// accumulators st[0 .. 32RN) (A then B of each row and token).
template <int R, int N>
void dense_chunk(const float* wf, int64_t ws, const float* x, int64_t xs, int64_t c0, int64_t c1,
                 float* st) {
  __m512 A[R][N], B[R][N];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < N; ++t) {
      A[r][t] = _mm512_loadu_ps(st + (r * N + t) * 32);
      B[r][t] = _mm512_loadu_ps(st + (r * N + t) * 32 + 16);
    }
  for (int64_t c = c0; c < c1; c += 32) {
    __m512 wa[R], wb[R];
    for (int r = 0; r < R; ++r) {
      wa[r] = _mm512_loadu_ps(wf + r * ws + c);
      wb[r] = _mm512_loadu_ps(wf + r * ws + c + 16);
    }
    for (int t = 0; t < N; ++t) {
      // One load per activation vector for all R rows: the empty asm keeps the compiler from
      // folding it into each FMA as a memory operand (R loads, which the load ports can't feed).
      __m512 xa = _mm512_loadu_ps(x + t * xs + c);
      asm("" : "+v"(xa));
      for (int r = 0; r < R; ++r) A[r][t] = _mm512_fmadd_ps(wa[r], xa, A[r][t]);
      __m512 xb = _mm512_loadu_ps(x + t * xs + c + 16);
      asm("" : "+v"(xb));
      for (int r = 0; r < R; ++r) B[r][t] = _mm512_fmadd_ps(wb[r], xb, B[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < N; ++t) {
      _mm512_storeu_ps(st + (r * N + t) * 32, A[r][t]);
      _mm512_storeu_ps(st + (r * N + t) * 32 + 16, B[r][t]);
    }
}

template <int R, int N>
inline void dense_chunk_any(int nr, int n, const float* wf, int64_t ws, const float* x, int64_t xs,
                            int64_t c0, int64_t c1, float* st) {
  if constexpr (R > 1)
    if (nr < R) return dense_chunk_any<R - 1, N>(nr, n, wf, ws, x, xs, c0, c1, st);
  if constexpr (N > 1)
    if (n < N) return dense_chunk_any<R, N - 1>(nr, n, wf, ws, x, xs, c0, c1, st);
  dense_chunk<R, N>(wf, ws, x, xs, c0, c1, st);
}

// The end of one (row, token) dot after its 32-chunks, as in dense512_n: w is the row in its
// own type (for the 8-element and scalar tails), c the first column after the 32-chunks.
template <typename Load>
inline float dense_finish(__m512 a, __m512 b, Load w, const float* xt, int64_t c, int64_t cols) {
  __m256 acc[4] = {_mm512_castps512_ps256(a),
                   _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)),
                   _mm512_castps512_ps256(b),
                   _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(b), 1))};
  for (; c + 8 <= cols; c += 8) acc[0] = _mm256_fmadd_ps(w(c), _mm256_loadu_ps(xt + c), acc[0]);
  float s = reduce4(acc);
  for (int64_t i = c; i < cols; ++i) s = std::fma(w.at(i), xt[i], s);
  return s;
}

// nr rows of `cols` elements (row r at w + r * cols) times n tokens (x, xs apart):
// out[t * os + r]. T: float or uint16_t (F16).
template <typename T, typename Load>
void dense_gemm(const T* w, int64_t nr, const float* x, int64_t xs, int n, int64_t cols, float* out,
                int64_t os) {
  constexpr bool kF16 = !std::is_same_v<T, float>;
  const int64_t c32 = cols / 32 * 32;
  constexpr int64_t kSub = kDenseRowTile / kDenseR;
  thread_local std::vector<Line64> conv_lines, state_lines;
  if (kF16) conv_lines.resize(size_t(kDenseRowTile * c32 / 16));
  constexpr int64_t kState = 32 * kDenseR * kDenseN;  // floats parked per row subtile
  state_lines.resize(size_t(kSub * kState / 16));
  float* const conv = conv_lines.data()->v;
  float* const state = state_lines.data()->v;
  for (int64_t r0 = 0; r0 < nr; r0 += kDenseRowTile) {
    const int64_t rt = std::min(kDenseRowTile, nr - r0);
    const float* wf;
    int64_t wfs;
    if constexpr (kF16) {
      for (int64_t r = 0; r < rt; ++r) {
        const uint16_t* src = w + (r0 + r) * cols;
        float* dst = conv + r * c32;
        for (int64_t c = 0; c < c32; c += 16)
          _mm512_storeu_ps(dst + c, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + c))));
      }
      wf = conv;
      wfs = c32;
    } else {
      wf = w + r0 * cols;
      wfs = cols;
    }
    // The next row tile's weights come from memory while this one computes, a share of their
    // lines prefetched before each register tile (as in the Q8_0/Q4_0 gemm).
    const char* next = reinterpret_cast<const char*>(w + (r0 + rt) * cols);
    const int64_t next_bytes = std::min(kDenseRowTile, nr - r0 - rt) * cols * int64_t(sizeof(T));
    const int64_t steps = (n + kDenseN - 1) / kDenseN * ((c32 + kDenseKc - 1) / kDenseKc) * kSub;
    const int64_t share = (next_bytes / 64 + steps) / std::max<int64_t>(1, steps) * 64;
    int64_t pf = 0;
    for (int t0 = 0; t0 < n; t0 += kDenseN) {
      const int nt = std::min(kDenseN, n - t0);
      const float* xt = x + t0 * xs;
      std::fill(state, state + kSub * kState, 0.0f);
      for (int64_t c0 = 0; c0 < c32; c0 += kDenseKc) {
        const int64_t c1 = std::min(c32, c0 + kDenseKc);
        for (int64_t s = 0; s * kDenseR < rt; ++s) {
          for (const int64_t end = std::min(next_bytes, pf + share); pf < end; pf += 64)
            _mm_prefetch(next + pf, _MM_HINT_T1);
          dense_chunk_any<kDenseR, kDenseN>(int(std::min<int64_t>(kDenseR, rt - s * kDenseR)), nt,
                                             wf + s * kDenseR * wfs, wfs, xt, xs, c0, c1,
                                             state + s * kState);
        }
      }
      for (int64_t r = 0; r < rt; ++r) {
        const int64_t s = r / kDenseR, rr = r % kDenseR;
        const float* st = state + s * kState;
        for (int t = 0; t < nt; ++t) {
          const float* a = st + (rr * nt + t) * 32;  // where dense_chunk<R', nt> parked (rr, t)
          out[(t0 + t) * os + r0 + r] =
              dense_finish(_mm512_loadu_ps(a), _mm512_loadu_ps(a + 16), Load{w + (r0 + r) * cols}, xt + t * xs, c32, cols);
        }
      }
    }
  }
}

void f16_gemm(const uint16_t* w, int64_t nr, const float* x, int64_t xs, int n, int64_t cols, float* out,
              int64_t os) {
  dense_gemm<uint16_t, LoadF16>(w, nr, x, xs, n, cols, out, os);
}
void f32_gemm(const float* w, int64_t nr, const float* x, int64_t xs, int n, int64_t cols, float* out,
              int64_t os) {
  dense_gemm<float, LoadF32>(w, nr, x, xs, n, cols, out, os);
}

}  // namespace
}  // namespace ig::kernels::cpu
