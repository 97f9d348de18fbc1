// Multi-token (prefill) Q8_0/Q4_0 matmul of the AVX-512 variant, included by dot_x86_impl.hpp
// inside its IG_AVX512 part (it uses hsum from there).
//
// Reduction order: exactly that of q4_0_pairs/q8_0_pairs and of the per-token kernels, fixed by
// `cols` alone. For each (row, token): per 32-block, in block order, the exact int32 lanes
// (8 lanes of 4 products, computed here with one 512-bit dpbusd per two tokens), then
// acc[b % 2] = fma(dw * dx, float(lanes), acc[b % 2]); then hsum(acc[0] + acc[1]). The tile shape
// (rows x token pairs), the row tiling and the thread split only decide which (row, token)
// accumulators share a pass over the weights, never the operations on one of them.
//
// What makes it faster than q8_0_pairs: a 4-row x 2-pair register tile (each weight block is
// prepared once for four tokens, each activation block once for four rows), the weight scales
// converted to float once per row tile and then broadcast from memory into the multiply, the
// Q8_0 activation correction pre-shifted when packing (no shift per use), and a loop order
// that keeps the row tile's weights in L1/L2 while every token pair streams past them.
#pragma once

#include <algorithm>
#include <vector>

// GFNI for Q4GemmGfni only (chosen at run time, cpu_has_gfni): the code here may use it, and
// the one instruction that needs it is the explicit gf2p8affine below.
#pragma GCC push_options
#pragma GCC target("gfni")

namespace ig::kernels::cpu {
namespace {

// Weight bytes as the unsigned dpbusd operand, repeated in both 256-bit halves (one per token).
// Q4_0: raw nibbles n (value n - 8; the packed init holds -8 * sum(x)). The 16 packed bytes go
// to all four 128-bit lanes; lanes 1 and 3 shift right by 4 to give the high nibbles.
struct Q4Gemm {
  static __m512i bytes(const BlockQ4_0& b) {
    const __m512i raw = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)));
    const __m512i shift = _mm512_set_epi64(0x0004000400040004, 0x0004000400040004, 0, 0,
                                           0x0004000400040004, 0x0004000400040004, 0, 0);
    return _mm512_and_si512(_mm512_srlv_epi16(raw, shift), _mm512_set1_epi8(0x0f));
  }
};
// The same bytes in one instruction: a GF(2) affine map per 64-bit lane, "n & 0x0f" for the
// lanes of the low nibbles and "n >> 4" for those of the high ones.
struct Q4GemmGfni {
  static __m512i bytes(const BlockQ4_0& b) {
    const __m512i raw = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)));
    // result bit i = parity(matrix byte 7 - i & n): bytes 7..4 pick bits 0..3 (low nibble) or 4..7
    constexpr long long kLow = 0x0102040800000000, kHigh = 0x1020408000000000;
    const __m512i m = _mm512_set_epi64(kHigh, kHigh, kLow, kLow, kHigh, kHigh, kLow, kLow);
    return _mm512_gf2p8affine_epi64_epi8(raw, m, 0);
  }
};
// Q8_0: w ^ 0x80 = w + 128 (the packed init holds -128 * sum(x)).
struct Q8Gemm {
  static __m512i bytes(const BlockQ8_0& b) {
    const __m512i a = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)));
    return _mm512_xor_si512(a, _mm512_set1_epi8(char(0x80)));
  }
};

constexpr int kGemmR = 4;    // weight rows per register tile
constexpr int kGemmNP = 2;   // token pairs per register tile

// One block b of an R x NP tile into acc (the even or the odd accumulators). dw: the tile's
// float weight scales, dws apart per row.
template <int R, int NP, typename P, typename Block>
inline void gemm_block(const Block* w, int64_t ws, const float* dw, int64_t dws, const PairBlock* x,
                       int64_t xs, int64_t b, __m512 (&acc)[R][NP]) {
  __m512i wb[R];
  for (int r = 0; r < R; ++r) wb[r] = P::bytes(w[r * ws + b]);
  for (int p = 0; p < NP; ++p) {
    const PairBlock& xb = x[p * xs + b];
    const __m512i xq = _mm512_load_si512(xb.qs);
    const __m512 dx = _mm512_load_ps(xb.d);
    for (int r = 0; r < R; ++r) {
      const __m512i s = _mm512_dpbusd_epi32(_mm512_load_si512(xb.init), wb[r], xq);
      const __m512 d = _mm512_mul_ps(dx, _mm512_set1_ps(dw[r * dws + b]));
      acc[r][p] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(s), acc[r][p]);
    }
  }
}

// hsum of the 16 token halves of a full 4-row x 2-pair tile (s[r][p]: token 2p in the low
// half, 2p + 1 in the high half), computed side by side: for each half v the same additions as
// hsum, l = v[0..3] + v[4..7], m = (l0 + l2, l1 + l3), m0 + m1, with the halves spread over the
// lanes of a few registers instead of one horizontal reduction each. out[t * os + r], t < 4.
inline void hsum16(const __m512 (&s)[4][2], float* out, int64_t os) {
  constexpr int kLo = _MM_SHUFFLE(2, 0, 2, 0), kHi = _MM_SHUFFLE(3, 1, 3, 1);
  // l of rows (a, b) of pair p: 128-bit lanes [l(a, 2p), l(a, 2p+1), l(b, 2p), l(b, 2p+1)]
  __m512 l[2][2];
  for (int p = 0; p < 2; ++p)
    for (int h = 0; h < 2; ++h) {
      const __m512 a = s[2 * h][p], b = s[2 * h + 1][p];
      l[p][h] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, kLo), _mm512_shuffle_f32x4(a, b, kHi));
    }
  // m of pair p, per 128-bit lane k: [m0, m1 of l[p][0]_k, m0, m1 of l[p][1]_k]
  __m512 m[2];
  for (int p = 0; p < 2; ++p)
    m[p] = _mm512_add_ps(_mm512_shuffle_ps(l[p][0], l[p][1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(l[p][0], l[p][1], _MM_SHUFFLE(3, 2, 3, 2)));
  // per lane k: [sum of l[0][0]_k, of l[0][1]_k, of l[1][0]_k, of l[1][1]_k]
  const __m512 f = _mm512_add_ps(_mm512_shuffle_ps(m[0], m[1], kLo), _mm512_shuffle_ps(m[0], m[1], kHi));
  // lane k of l[p][h] holds row 2h + k / 2, token 2p + k % 2: gather each token's 4 rows
  alignas(64) int32_t idx[16];
  for (int t = 0; t < 4; ++t)
    for (int r = 0; r < 4; ++r) idx[4 * t + r] = 4 * ((t % 2) + 2 * (r % 2)) + (r / 2) + 2 * (t / 2);
  const __m512 g = _mm512_permutexvar_ps(_mm512_load_si512(idx), f);
  _mm_storeu_ps(out, _mm512_castps512_ps128(g));
  _mm_storeu_ps(out + os, _mm512_extractf32x4_ps(g, 1));
  _mm_storeu_ps(out + 2 * os, _mm512_extractf32x4_ps(g, 2));
  _mm_storeu_ps(out + 3 * os, _mm512_extractf32x4_ps(g, 3));
}

template <int R, int NP, typename P, typename Block>
void gemm_tile(const Block* w, int64_t ws, const float* dw, int64_t dws, const PairBlock* x,
               int64_t xs, int64_t nb, float* out, int64_t os) {
  __m512 even[R][NP], odd[R][NP];
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < NP; ++p) even[r][p] = odd[r][p] = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    gemm_block<R, NP, P>(w, ws, dw, dws, x, xs, b, even);
    gemm_block<R, NP, P>(w, ws, dw, dws, x, xs, b + 1, odd);
  }
  if (b < nb) gemm_block<R, NP, P>(w, ws, dw, dws, x, xs, b, even);
  if constexpr (R == 4 && NP == 2) {
    __m512 s[4][2];
    for (int r = 0; r < R; ++r)
      for (int p = 0; p < NP; ++p) s[r][p] = _mm512_add_ps(even[r][p], odd[r][p]);
    return hsum16(s, out, os);
  }
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < NP; ++p) {
      const __m512 s = _mm512_add_ps(even[r][p], odd[r][p]);
      out[(2 * p) * os + r] = hsum(_mm512_castps512_ps256(s));
      out[(2 * p + 1) * os + r] = hsum(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
    }
}

// The tile of nr <= R rows and np <= NP pairs.
template <int R, int NP, typename P, typename Block>
inline void gemm_tile_np(int np, const Block* w, int64_t ws, const float* dw, int64_t dws,
                         const PairBlock* x, int64_t xs, int64_t nb, float* out, int64_t os) {
  if constexpr (NP > 1)
    if (np < NP) return gemm_tile_np<R, NP - 1, P>(np, w, ws, dw, dws, x, xs, nb, out, os);
  gemm_tile<R, NP, P>(w, ws, dw, dws, x, xs, nb, out, os);
}
template <int R, typename P, typename Block>
inline void gemm_tile_any(int nr, int np, const Block* w, int64_t ws, const float* dw, int64_t dws,
                          const PairBlock* x, int64_t xs, int64_t nb, float* out, int64_t os) {
  if constexpr (R > 1)
    if (nr < R) return gemm_tile_any<R - 1, P>(nr, np, w, ws, dw, dws, x, xs, nb, out, os);
  gemm_tile_np<R, kGemmNP, P>(np, w, ws, dw, dws, x, xs, nb, out, os);
}

// nr rows (ws blocks apart) times np packed token pairs (nb blocks each, pair p at x + p * nb):
// out[t * os + r]. Rows go in tiles of kGemmRowTile whose weights stay in cache while all
// token pairs pass.
constexpr int64_t kGemmRowTile = 16;

template <typename P, typename Block>
void gemm(const Block* w, int64_t ws, int64_t nr, const PairBlock* x, int np, int64_t nb, float* out,
          int64_t os) {
  thread_local std::vector<float> dw;
  dw.resize(size_t(kGemmRowTile * nb));
  const int64_t steps = (np + kGemmNP - 1) / kGemmNP * ((kGemmRowTile + kGemmR - 1) / kGemmR);
  for (int64_t r0 = 0; r0 < nr; r0 += kGemmRowTile) {
    const int64_t rt = std::min(kGemmRowTile, nr - r0);
    const Block* wt = w + r0 * ws;
    for (int64_t r = 0; r < rt; ++r)
      for (int64_t b = 0; b < nb; ++b) dw[size_t(r * nb + b)] = _cvtsh_ss(wt[r * ws + b].d);
    // The next row tile's weights come from memory while this one computes: its lines are
    // prefetched a share per register tile, so its scale conversion and first pass don't stall.
    const char* next = reinterpret_cast<const char*>(wt + rt * ws);
    const int64_t next_bytes = std::min(kGemmRowTile, nr - r0 - rt) * ws * int64_t(sizeof(Block));
    const int64_t share = (next_bytes / 64 + steps) / steps * 64;
    int64_t pf = 0;
    for (int p0 = 0; p0 < np; p0 += kGemmNP) {
      const int n2 = std::min(kGemmNP, np - p0);
      for (int64_t r = 0; r < rt; r += kGemmR) {
        for (const int64_t end = std::min(next_bytes, pf + share); pf < end; pf += 64)
          _mm_prefetch(next + pf, _MM_HINT_T1);
        const int n1 = int(std::min<int64_t>(kGemmR, rt - r));
        gemm_tile_any<kGemmR, P>(n1, n2, wt + r * ws, ws, dw.data() + r * nb, nb, x + int64_t(p0) * nb, nb,
                                 nb, out + int64_t(2 * p0) * os + r0 + r, os);
      }
    }
  }
}

void q4_0_gemm(const BlockQ4_0* w, int64_t ws, int64_t nr, const PairBlock* x, int np, int64_t nb,
               float* out, int64_t os) {
  gemm<Q4Gemm>(w, ws, nr, x, np, nb, out, os);
}
void q4_0_gemm_gfni(const BlockQ4_0* w, int64_t ws, int64_t nr, const PairBlock* x, int np, int64_t nb,
                    float* out, int64_t os) {
  gemm<Q4GemmGfni>(w, ws, nr, x, np, nb, out, os);
}
void q8_0_gemm(const BlockQ8_0* w, int64_t ws, int64_t nr, const PairBlock* x, int np, int64_t nb,
               float* out, int64_t os) {
  gemm<Q8Gemm>(w, ws, nr, x, np, nb, out, os);
}

}  // namespace
}  // namespace ig::kernels::cpu

#pragma GCC pop_options
