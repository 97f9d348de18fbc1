// Decode (1..kGemvTokens tokens) Q8_0/Q4_0 matmul of the AVX-512 variant, numerics cpu/3, included by
// dot_x86_impl.hpp inside its IG_AVX512 part. Bitwise the q8_0/q4_0 kernels: per (row, block)
// the exact int32 dot, then acc = fma(dw*dx, float(isum), acc) in block order. Q5_0 (the
// K-quant mixes' fallback) the same way with its own float step (acc + (dx*dw)*isum).
//
// Decode reads every weight once per token, so this kernel is built to keep up with memory:
// 16 rows per pass, two rows per 512-bit dpbusd (the activation block in both halves), the 8
// partial vectors folded into the 16 rows' block totals by a fixed shuffle tree (reduce16;
// exact integers, so the tree's order does not matter), then one 16-lane float step. The next
// 16 rows are prefetched into L2 while these compute. AMX tiles (gemm_amx.cpp) would spend a
// whole tile product, and its latency, on one token here.
#pragma once

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

// GFNI for the *_gfni kernels only (chosen at run time, cpu_has_gfni): the code of this header
// is compiled with it allowed, and the one instruction that needs it is the explicit
// gf2p8affine of nibbles2_gfni.
#pragma GCC push_options
#pragma GCC target("gfni")
#include "kernels/cpu/nibbles_x86.hpp"

namespace ig::kernels::cpu {
namespace {

// v[p]: lanes 0-7 partial sums of row 2p, lanes 8-15 of row 2p + 1. Returns the 16 row totals,
// row 4j + k in lane 4k + j.
inline __m512i reduce16(const __m512i (&v)[8]) {
  __m512i s[4];  // s[q], 128-bit lane k: row 4q + k's four partial sums
  for (int q = 0; q < 4; ++q) {
    const __m512i a = v[2 * q], b = v[2 * q + 1];
    s[q] = _mm512_add_epi32(_mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm512_shuffle_i32x4(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
  }
  const __m512i t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(s[0], s[1]), _mm512_unpackhi_epi32(s[0], s[1]));
  const __m512i t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(s[2], s[3]), _mm512_unpackhi_epi32(s[2], s[3]));
  return _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1));
}

// reduce16's lane order: lane 4k + j holds row 4j + k (k < 4, j < 4).
inline int lane_row(int l) { return 4 * (l % 4) + l / 4; }

// The scales of 16 rows (row r at w[r * ws]) in reduce16's lane order, by sixteen independent
// loads (a gather waits on all of its 16 before anything uses it).
template <typename Block>
inline __m512 lane_scales(const Block* w, int64_t ws) {
  alignas(32) uint16_t h[16];
  for (int l = 0; l < 16; ++l) h[l] = w[lane_row(l) * ws].d;
  return _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(h)));
}

// acc (reduce16's lane order) stored as out[0..16) in row order.
inline void store_rows(__m512 acc, float* out) {
  const __m512i unpermute = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  _mm512_storeu_ps(out, _mm512_permutexvar_ps(unpermute, acc));
}

// Block b's share of the next 16 rows' bytes (share per block, whole lines) into L2.
inline void prefetch_share(const char* next, int64_t share, int64_t b) {
  for (int64_t o = b * share; o < (b + 1) * share; o += 64) _mm_prefetch(next + o, _MM_HINT_T1);
}

// Per (token, block) i < m: the activation block's scale as a float, and the exact correction of
// an unsigned weight operand stored with `offset` added: -offset * (sum of the block's quants).
inline void activation_terms(const BlockQ8_0* x, size_t m, int32_t offset, std::vector<float>& dx,
                             std::vector<int32_t>& corr) {
  dx.resize(m), corr.resize(m);
  for (size_t i = 0; i < m; ++i) {
    int32_t sum = 0;
    for (int k = 0; k < 32; ++k) sum += x[i].qs[k];
    dx[i] = _cvtsh_ss(x[i].d);
    corr[i] = -offset * sum;
  }
}

// Weight bytes of rows i and j of one block as dpbusd's unsigned operand, and the correction
// that makes the dot exact: Q8_0 enters as w + 128 (w ^ 0x80), corrected by -128 * sum(x);
// Q4_0 as its nibbles n (value n - 8), corrected by -8 * sum(x).
struct Q8Gemv {
  static constexpr int kOffset = 128;
  static __m512i bytes2(const BlockQ8_0& i, const BlockQ8_0& j) {
    const __m512i w = _mm512_inserti64x4(
        _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(i.qs))),
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(j.qs)), 1);
    return _mm512_xor_si512(w, _mm512_set1_epi8(char(0x80)));
  }
};
struct Q4Gemv {
  static constexpr int kOffset = 8;
  static __m512i bytes2(const BlockQ4_0& i, const BlockQ4_0& j) { return nibbles2(i.qs, j.qs); }
};
struct Q4GemvGfni {
  static constexpr int kOffset = 8;
  static __m512i bytes2(const BlockQ4_0& i, const BlockQ4_0& j) { return nibbles2_gfni(i.qs, j.qs); }
};
// Q5_0 as its 5-bit q (value q - 16): the nibbles with bit k of qh as bit 4 of value k.
template <bool kGfni>
struct Q5Gemv {
  static constexpr int kOffset = 16;
  static __m512i bytes2(const BlockQ5_0& i, const BlockQ5_0& j) {
    uint32_t hi, hj;
    std::memcpy(&hi, i.qh, 4);
    std::memcpy(&hj, j.qh, 4);
    const __m512i high = _mm512_maskz_mov_epi8(__mmask64(hi) | (__mmask64(hj) << 32), _mm512_set1_epi8(0x10));
    return _mm512_or_si512(kGfni ? nibbles2_gfni(i.qs, j.qs) : nibbles2(i.qs, j.qs), high);
  }
};

// The float step of one block: cpu/3's fma, or ggml's loop form for Q5_0 (dot_kquants.hpp).
struct GemvFma {
  static __m512 apply(__m512 d, __m512 isum, __m512 acc) { return _mm512_fmadd_ps(d, isum, acc); }
};
struct GemvMulAdd {
  static __m512 apply(__m512 d, __m512 isum, __m512 acc) { return _mm512_add_ps(acc, _mm512_mul_ps(d, isum)); }
};

// T (1..kGemvTokens) tokens, token t's blocks at x + t * nb: the weight bytes of a block are
// prepared once for all of them, each token then has its own dpbusd, tree and float step.
template <typename P, typename Step, int T, typename Block>
void gemv_t(const Block* w, int64_t ws, int64_t nr, const BlockQ8_0* x, int64_t nb, float* out, int64_t os) {
  // Per (token, block): the activation in both halves, its scale, and the correction.
  thread_local std::vector<Line64> xs;
  thread_local std::vector<float> dx;
  thread_local std::vector<int32_t> corr;
  const size_t m = size_t(T * nb);
  xs.resize(m);
  activation_terms(x, m, P::kOffset, dx, corr);
  for (size_t i = 0; i < m; ++i) {  // i = t * nb + b
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[i].qs));
    _mm512_store_si512(xs[i].v, _mm512_broadcast_i64x4(q));
  }
  const int64_t rb = ws * int64_t(sizeof(Block));
  // lane 4k + j holds row 4j + k (reduce16): the scales are read in that order, and the
  // results put back in row order once per 16 rows
  const int64_t share = (16 * rb + 64 * nb - 1) / (64 * nb) * 64;  // next rows' bytes per block
  for (int64_t r0 = 0; r0 + 16 <= nr; r0 += 16) {
    const Block* wt = w + r0 * ws;
    const char* next = r0 + 32 <= nr ? reinterpret_cast<const char*>(wt + 16 * ws) : nullptr;
    __m512 acc[T];
    for (auto& a : acc) a = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      if (next)
        prefetch_share(next, share, b);
      __m512i wb[8];
      for (int p = 0; p < 8; ++p) wb[p] = P::bytes2(wt[2 * p * ws + b], wt[(2 * p + 1) * ws + b]);
      const __m512 dw = lane_scales(wt + b, ws);
      for (int t = 0; t < T; ++t) {
        const size_t i = size_t(t * nb + b);
        const __m512i xq = _mm512_load_si512(xs[i].v);
        __m512i v[8];
        for (int p = 0; p < 8; ++p) v[p] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wb[p], xq);
        const __m512i isum = _mm512_add_epi32(reduce16(v), _mm512_set1_epi32(corr[i]));
        const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(dx[i]));
        acc[t] = Step::apply(d, _mm512_cvtepi32_ps(isum), acc[t]);
      }
    }
    for (int t = 0; t < T; ++t) store_rows(acc[t], out + t * os + r0);
  }
}

// Q4_0 with four rows per register, where the pairs above spend more shuffles than the data is
// worth: 128-bit lane group i holds row 4q + i's 16 packed bytes, whose low nibbles are values
// 0..15 and high nibbles 16..31, so two dpbusd (against the activation's values 0..15, then
// 16..31, each repeated in the four groups) leave every row's partial sums in its own group.
// Four such registers fold to the 16 rows' totals in two shuffle levels, row 4q + i in lane
// 4i + q (reduce16's order). Bitwise the same sums as gemv_t<Q4Gemv...>.
template <int T, bool kGfni>
void gemv_q4_t(const BlockQ4_0* w, int64_t ws, int64_t nr, const BlockQ8_0* x, int64_t nb, float* out, int64_t os) {
  thread_local std::vector<Line64> xlo, xhi;
  thread_local std::vector<float> dx;
  thread_local std::vector<int32_t> corr;
  const size_t m = size_t(T * nb);
  xlo.resize(m), xhi.resize(m);
  activation_terms(x, m, 8, dx, corr);
  for (size_t i = 0; i < m; ++i) {  // i = t * nb + b
    _mm512_store_si512(xlo[i].v, _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].qs))));
    _mm512_store_si512(xhi[i].v, _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].qs + 16))));
  }
  const int64_t rb = ws * int64_t(sizeof(BlockQ4_0));
  const int64_t share = (16 * rb + 64 * nb - 1) / (64 * nb) * 64;
  for (int64_t r0 = 0; r0 + 16 <= nr; r0 += 16) {
    const BlockQ4_0* wt = w + r0 * ws;
    const char* next = r0 + 32 <= nr ? reinterpret_cast<const char*>(wt + 16 * ws) : nullptr;
    __m512 acc[T];
    for (auto& a : acc) a = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      if (next)
        prefetch_share(next, share, b);
      __m512i lo[4], hi[4];
      for (int q = 0; q < 4; ++q) {
        const BlockQ4_0* r = wt + 4 * q * ws + b;
        __m512i raw = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r->qs)));
        raw = _mm512_inserti32x4(raw, _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[ws].qs)), 1);
        raw = _mm512_inserti32x4(raw, _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[2 * ws].qs)), 2);
        raw = _mm512_inserti32x4(raw, _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[3 * ws].qs)), 3);
        lo[q] = kGfni ? low_nibbles_gfni(raw) : low_nibbles(raw);
        hi[q] = kGfni ? high_nibbles_gfni(raw) : high_nibbles(raw);
      }
      const __m512 dw = lane_scales(wt + b, ws);
      for (int t = 0; t < T; ++t) {
        const size_t i = size_t(t * nb + b);
        const __m512i xl = _mm512_load_si512(xlo[i].v), xh = _mm512_load_si512(xhi[i].v);
        __m512i v[4];
        for (int q = 0; q < 4; ++q)
          v[q] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[q], xl), hi[q], xh);
        const __m512i t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[0], v[1]), _mm512_unpackhi_epi32(v[0], v[1]));
        const __m512i t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2], v[3]), _mm512_unpackhi_epi32(v[2], v[3]));
        const __m512i tot = _mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1));
        const __m512i isum = _mm512_add_epi32(tot, _mm512_set1_epi32(corr[i]));
        const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(dx[i]));
        acc[t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(isum), acc[t]);
      }
    }
    for (int t = 0; t < T; ++t) store_rows(acc[t], out + t * os + r0);
  }
}

// Layout::Interleaved16 (formats.hpp): lane r of every register is row r of the group, so a
// block's eight dpbusd (each against one broadcast dword of the activation) leave the 16 rows'
// exact sums in their own lanes: no shuffles at all, and the weights are one contiguous run that
// a prefetch 4 KB ahead keeps streaming. The unsigned operands, as above: Q8_0 w ^ 0x80 (w + 128),
// Q4_0 the nibbles (value + 8), corrected by -128 or -8 * sum(x). Bitwise the q8_0/q4_0 kernels.
template <typename Unit, int T, bool kGfni>
void gemv_x16_t(const Unit* w, int64_t groups, const BlockQ8_0* x, int64_t nb, float* out, int64_t os) {
  constexpr bool kQ4 = std::is_same_v<Unit, BlockQ4_0x16>;
  thread_local std::vector<float> dx;
  thread_local std::vector<int32_t> corr;
  activation_terms(x, size_t(T * nb), kQ4 ? 8 : 128, dx, corr);
  for (int64_t g = 0; g < groups; ++g) {
    const Unit* wg = w + g * nb;
    __m512 acc[T];
    for (auto& a : acc) a = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      const Unit& u = wg[b];
      // The weights 4 KB ahead into L2: the hardware prefetcher alone leaves Q4_0 decode at 36
      // tok/s (Qwen2.5-0.5B, 1 thread, here), with this 47; nearer or into L1 is slower.
      const char* ahead = reinterpret_cast<const char*>(&u) + 4096;
      for (size_t o = 0; o < sizeof(Unit); o += 64) _mm_prefetch(ahead + o, _MM_HINT_T1);
      _mm_prefetch(ahead + sizeof(Unit) - 1, _MM_HINT_T1);  // a unit is not whole lines
      __m512i ops[8];  // ops[k]: against the activation's dword k (its values 4k..4k+3)
      if constexpr (kQ4) {
        for (int q = 0; q < 4; ++q) {
          const __m512i raw = _mm512_loadu_si512(u.qs + 64 * q);
          ops[q] = kGfni ? low_nibbles_gfni(raw) : low_nibbles(raw);
          ops[4 + q] = kGfni ? high_nibbles_gfni(raw) : high_nibbles(raw);
        }
      } else {
        for (int k = 0; k < 8; ++k) ops[k] = _mm512_xor_si512(_mm512_loadu_si512(u.qs + 64 * k), _mm512_set1_epi8(char(0x80)));
      }
      const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(u.d)));
      for (int t = 0; t < T; ++t) {
        const size_t i = size_t(t * nb + b);
        const int8_t* xq = x[i].qs;
        __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();  // two chains: half the latency
        for (int k = 0; k < 4; ++k) {
          int32_t xl, xh;
          std::memcpy(&xl, xq + 4 * k, 4);
          std::memcpy(&xh, xq + 16 + 4 * k, 4);
          s0 = _mm512_dpbusd_epi32(s0, ops[k], _mm512_set1_epi32(xl));
          s1 = _mm512_dpbusd_epi32(s1, ops[4 + k], _mm512_set1_epi32(xh));
        }
        const __m512i isum = _mm512_add_epi32(_mm512_add_epi32(s0, s1), _mm512_set1_epi32(corr[i]));
        const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(dx[i]));
        acc[t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(isum), acc[t]);
      }
    }
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(out + t * os + 16 * g, acc[t]);
  }
}

template <typename Unit, bool kGfni>
void gemv_x16(const Unit* w, int64_t groups, const BlockQ8_0* x, int n, int64_t nb, float* out, int64_t os) {
  switch (n) {
    case 1: return gemv_x16_t<Unit, 1, kGfni>(w, groups, x, nb, out, os);
    case 2: return gemv_x16_t<Unit, 2, kGfni>(w, groups, x, nb, out, os);
    case 3: return gemv_x16_t<Unit, 3, kGfni>(w, groups, x, nb, out, os);
    default: return gemv_x16_t<Unit, 4, kGfni>(w, groups, x, nb, out, os);
  }
}

template <bool kGfni>
void gemv_q4(const BlockQ4_0* w, int64_t ws, int64_t nr, const BlockQ8_0* x, int n, int64_t nb, float* out,
             int64_t os) {
  switch (n) {
    case 1: return gemv_q4_t<1, kGfni>(w, ws, nr, x, nb, out, os);
    case 2: return gemv_q4_t<2, kGfni>(w, ws, nr, x, nb, out, os);
    case 3: return gemv_q4_t<3, kGfni>(w, ws, nr, x, nb, out, os);
    default: return gemv_q4_t<4, kGfni>(w, ws, nr, x, nb, out, os);
  }
}

template <typename P, typename Step, typename Block>
void gemv(const Block* w, int64_t ws, int64_t nr, const BlockQ8_0* x, int n, int64_t nb, float* out, int64_t os) {
  switch (n) {
    case 1: return gemv_t<P, Step, 1>(w, ws, nr, x, nb, out, os);
    case 2: return gemv_t<P, Step, 2>(w, ws, nr, x, nb, out, os);
    case 3: return gemv_t<P, Step, 3>(w, ws, nr, x, nb, out, os);
    default: return gemv_t<P, Step, 4>(w, ws, nr, x, nb, out, os);
  }
}

void q8_0_gemv(const BlockQ8_0* w, int64_t ws, int64_t nr, const BlockQ8_0* x, int n, int64_t nb, float* out,
               int64_t os) {
  gemv<Q8Gemv, GemvFma>(w, ws, nr, x, n, nb, out, os);
}
void q4_0_gemv(const BlockQ4_0* w, int64_t ws, int64_t nr, const BlockQ8_0* x, int n, int64_t nb, float* out,
               int64_t os) {
  gemv_q4<false>(w, ws, nr, x, n, nb, out, os);
}
void q5_0_gemv(const BlockQ5_0* w, int64_t ws, int64_t nr, const BlockQ8_0* x, int n, int64_t nb, float* out,
               int64_t os) {
  gemv<Q5Gemv<false>, GemvMulAdd>(w, ws, nr, x, n, nb, out, os);
}
void q4_0x16_gemv(const BlockQ4_0x16* w, int64_t groups, const BlockQ8_0* x, int n, int64_t nb, float* out,
                  int64_t os) {
  gemv_x16<BlockQ4_0x16, false>(w, groups, x, n, nb, out, os);
}
void q4_0x16_gemv_gfni(const BlockQ4_0x16* w, int64_t groups, const BlockQ8_0* x, int n, int64_t nb, float* out,
                       int64_t os) {
  gemv_x16<BlockQ4_0x16, true>(w, groups, x, n, nb, out, os);
}
void q8_0x16_gemv(const BlockQ8_0x16* w, int64_t groups, const BlockQ8_0* x, int n, int64_t nb, float* out,
                  int64_t os) {
  gemv_x16<BlockQ8_0x16, false>(w, groups, x, n, nb, out, os);
}
void q4_0_gemv_gfni(const BlockQ4_0* w, int64_t ws, int64_t nr, const BlockQ8_0* x, int n, int64_t nb, float* out,
                    int64_t os) {
  gemv_q4<true>(w, ws, nr, x, n, nb, out, os);
}
void q5_0_gemv_gfni(const BlockQ5_0* w, int64_t ws, int64_t nr, const BlockQ8_0* x, int n, int64_t nb, float* out,
                    int64_t os) {
  gemv<Q5Gemv<true>, GemvMulAdd>(w, ws, nr, x, n, nb, out, os);
}

}  // namespace
}  // namespace ig::kernels::cpu

#pragma GCC pop_options
