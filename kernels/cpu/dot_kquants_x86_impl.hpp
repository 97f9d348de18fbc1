// x86 K-quant kernels, included by dot_kquants_avx2.cpp (IG_KQ_VNNI 0), dot_kquants_avxvnni.cpp
// (IG_KQ_VNNI 1) and dot_kquants_avx512.cpp (IG_KQ_AVX512 1), each compiled with the -m flags of
// its dot_*.cpp sibling and only called after the matching run-time CPU check.
//
// Each weight super-block is unpacked once into unsigned quant bytes and reused for every token of
// the tile. The integer sums are exact (maddubs pairs stay below 2*63*127 < 2^15; every int32 stays
// far below 2^31), so the lane order does not matter; the float steps per super-block are the
// scalar ones of dot_kquants.hpp, so every variant gives the bits of the scalar kernel.
#pragma once

#include "kernels/cpu/intrinsics.hpp"  // <immintrin.h>, GCC 12 warnings silenced

#include <cstring>
#include <type_traits>

#include "kernels/cpu/dot_kquants.hpp"

#ifndef IG_KQ_VNNI
#error "define IG_KQ_VNNI before including dot_kquants_x86_impl.hpp"
#endif
#ifndef IG_KQ_AVX512
#define IG_KQ_AVX512 0
#endif

// vpdpbusd on 256-bit registers: AVX512-VNNI+VL's EVEX form or AVX-VNNI's VEX form (the same
// exact int32 lanes).
#if IG_KQ_AVX512
#define IG_KQ_DPBUSD _mm256_dpbusd_epi32
#elif IG_KQ_VNNI
#define IG_KQ_DPBUSD _mm256_dpbusd_avx_epi32
#endif

namespace ig::kernels::cpu {
namespace {

inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// One super-block of weights, unpacked: q[j] holds the unsigned quants of values 32j..32j+31,
// scale[j] the int16 multipliers of their 16 maddubs pairs (one 6-bit scale for Q4_K/Q5_K; two
// int8 scales, one per 16 values, for Q6_K).
struct Unpacked {
  __m256i q[8];
  __m256i scale[8];
  __m256i mins;     // Q4_K/Q5_K: the 6-bit mins as int16, each twice (m0 m0 m1 m1 .. m7 m7)
};

inline int32_t block_isum256(const Unpacked& u, const BlockQ8_K& x) {
  __m256i acc = _mm256_setzero_si256();
  for (int j = 0; j < 8; ++j) {
    const __m256i p = _mm256_maddubs_epi16(u.q[j], load32(x.qs + 32 * j));
#if IG_KQ_AVX512
    acc = _mm256_dpwssd_epi32(acc, p, u.scale[j]);  // AVX512-VNNI + VL
#elif IG_KQ_VNNI
    acc = _mm256_dpwssd_avx_epi32(acc, p, u.scale[j]);
#else
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, u.scale[j]));
#endif
  }
  return hsum_i32(acc);
}

#if IG_KQ_AVX512
// Two sub-blocks per 512-bit step: 32 maddubs pairs (AVX512-BW) times their multipliers into 16
// int32 lanes (vpdpwssd). Used for tiles of two or more tokens; single tokens (decode) run
// block_isum256. Both give the same exact integer.
inline int32_t block_isum512(const Unpacked& u, const BlockQ8_K& x) {
  __m512i acc = _mm512_setzero_si512();
  for (int k = 0; k < 4; ++k) {
    const __m512i wq = _mm512_inserti64x4(_mm512_castsi256_si512(u.q[2 * k]), u.q[2 * k + 1], 1);
    const __m512i sc = _mm512_inserti64x4(_mm512_castsi256_si512(u.scale[2 * k]), u.scale[2 * k + 1], 1);
    const __m512i p = _mm512_maddubs_epi16(wq, _mm512_loadu_si512(x.qs + 64 * k));
    acc = _mm512_dpwssd_epi32(acc, p, sc);
  }
  return _mm512_reduce_add_epi32(acc);
}

// A super-block's quants and multipliers two sub-blocks per register, built once for all the
// tokens of a tile.
struct Wide {
  __m512i q[4], scale[4];
};
inline Wide widen(const Unpacked& u) {
  Wide v;
  for (int k = 0; k < 4; ++k) {
    v.q[k] = _mm512_inserti64x4(_mm512_castsi256_si512(u.q[2 * k]), u.q[2 * k + 1], 1);
    v.scale[k] = _mm512_inserti64x4(_mm512_castsi256_si512(u.scale[2 * k]), u.scale[2 * k + 1], 1);
  }
  return v;
}
// block_isum512's lanes before the final sum, folded to 8 (exact).
inline __m256i block_lanes512(const Wide& v, const BlockQ8_K& x) {
  __m512i acc = _mm512_setzero_si512();
  for (int k = 0; k < 4; ++k)
    acc = _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(v.q[k], _mm512_loadu_si512(x.qs + 64 * k)), v.scale[k]);
  return _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
}
// out[t] = the sum of v[t]'s 8 lanes for t < N <= 4, by one hadd tree for all of them (exact).
template <int N>
inline void lane_totals(const __m256i (&v)[N], int32_t* out) {
  __m256i p[4];
  for (int t = 0; t < 4; ++t) p[t] = t < N ? v[t] : _mm256_setzero_si256();
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
  alignas(16) int32_t tot[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(tot), _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
  for (int t = 0; t < N; ++t) out[t] = tot[t];
}
#endif

template <int N>
inline int32_t block_isum(const Unpacked& u, const BlockQ8_K& x) {
#if IG_KQ_AVX512
  if constexpr (N > 1) return block_isum512(u, x);
#endif
  return block_isum256(u, x);
}

// sum_j m_j * (bsum_{2j} + bsum_{2j+1}): one madd of the 16 bsums with the paired mins (exact:
// |m| < 64, |bsum| <= 16 * 127).
inline int32_t block_msum(const Unpacked& u, const BlockQ8_K& x) {
  return hsum_i32(_mm256_madd_epi16(load32(x.bsums), u.mins));
}

// The eight 6-bit scales and mins of kquant_scale_min, four at a time in 32-bit words: bytes
// 0-3 of the 12 hold scales 0-3 (low 6 bits) and the top 2 bits of scales 4-7, bytes 4-7 the
// same for the mins, bytes 8-11 the low 4 bits of scales 4-7 (low nibble) and mins 4-7 (high).
template <typename Block>
void unpack_scales_mins(const Block& b, Unpacked& u) {
  uint32_t w[3];
  std::memcpy(w, b.scales, sizeof w);
  constexpr uint32_t low6 = 0x3f3f3f3f, low4 = 0x0f0f0f0f, top2 = 0x03030303;
  const uint32_t sc[2] = {w[0] & low6, (w[2] & low4) | (((w[0] >> 6) & top2) << 4)};
  const uint32_t m[2] = {w[1] & low6, ((w[2] >> 4) & low4) | (((w[1] >> 6) & top2) << 4)};
  for (int j = 0; j < 8; ++j) u.scale[j] = _mm256_set1_epi16(int16_t((sc[j / 4] >> (8 * (j % 4))) & 0xff));
  const __m128i m8 = _mm_setr_epi32(int(m[0]), int(m[1]), 0, 0);
  u.mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
}

inline void unpack(const BlockQ4_K& b, Unpacked& u) {
  const __m256i lo4 = _mm256_set1_epi8(0x0f);
  for (int i = 0; i < 4; ++i) {
    const __m256i raw = load32(b.qs + 32 * i);
    u.q[2 * i] = _mm256_and_si256(raw, lo4);
    u.q[2 * i + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), lo4);
  }
  unpack_scales_mins(b, u);
}

inline void unpack(const BlockQ5_K& b, Unpacked& u) {
  const __m256i lo4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
  const __m256i qh = load32(b.qh);
  for (int i = 0; i < 4; ++i) {
    const __m256i raw = load32(b.qs + 32 * i);
    const __m256i h0 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * i), one);
    const __m256i h1 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * i + 1), one);
    u.q[2 * i] = _mm256_or_si256(_mm256_and_si256(raw, lo4), _mm256_slli_epi16(h0, 4));
    u.q[2 * i + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw, 4), lo4), _mm256_slli_epi16(h1, 4));
  }
  unpack_scales_mins(b, u);
}

// Q6_K: q[4h+k] = values 128h+32k..+31 (unsigned 0..63); the -32 offset is applied through the
// activation's 16-value sums (q6_offset).
inline void unpack(const BlockQ6_K& b, Unpacked& u) {
  const __m256i lo4 = _mm256_set1_epi8(0x0f), three = _mm256_set1_epi8(3);
  for (int h = 0; h < 2; ++h) {
    const __m256i a = load32(b.ql + 64 * h), c = load32(b.ql + 64 * h + 32), hb = load32(b.qh + 32 * h);
    const __m256i lows[4] = {_mm256_and_si256(a, lo4), _mm256_and_si256(c, lo4),
                             _mm256_and_si256(_mm256_srli_epi16(a, 4), lo4),
                             _mm256_and_si256(_mm256_srli_epi16(c, 4), lo4)};
    for (int k = 0; k < 4; ++k) {
      const __m256i high = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * k), three);
      u.q[4 * h + k] = _mm256_or_si256(lows[k], _mm256_slli_epi16(high, 4));
      const int g = 8 * h + 2 * k;
      u.scale[4 * h + k] = _mm256_setr_m128i(_mm_set1_epi16(b.scales[g]), _mm_set1_epi16(b.scales[g + 1]));
    }
  }
}

// 32 * sum_g sc_g * bsum_g: what the unsigned Q6_K quants over-count.
// One madd of the 16 int8 scales (widened) with the 16 bsums: exact (|sc| <= 128,
// |bsum| <= 16 * 127).
inline int32_t q6_offset(const BlockQ6_K& b, const BlockQ8_K& x) {
  const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
  return 32 * hsum_i32(_mm256_madd_epi16(sc, load32(x.bsums)));
}

// In decode a row's super-blocks stream in from memory once per token, and the kernels spend so
// many instructions per block that the out-of-order window spans too few blocks to keep enough
// lines in flight: the block kAheadBlocks on (past a row's end, the next row's first ones: rows
// are contiguous) is asked into L2 meanwhile. Llama-3.1-8B-shaped Q4_K_M decode: 1.19 -> 1.50
// tok/s on one thread, 2.23 -> 2.7-3.3 on two.
inline constexpr int64_t kAheadBlocks = 16;  // 2.3-3.4 KiB; 8 was slower on 2 threads
// (Addresses as integers: the lines asked for may lie past the matrix, which a prefetch
// tolerates and pointer arithmetic does not.)
template <typename Block>
inline void prefetch_bytes(const Block* from, int64_t blocks_ahead, size_t bytes) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(from) + uintptr_t(blocks_ahead) * sizeof(Block);
  for (size_t o = 0; o < bytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(a + o), _MM_HINT_T2);
}

template <int N, typename Block>
void min_tile(const Block* w, const BlockQ8_K* x, int64_t xs, int64_t nb, float* out, int64_t os) {
  float acc[N];
  for (int t = 0; t < N; ++t) acc[t] = 0;
  Unpacked u;
  for (int64_t b = 0; b < nb; ++b) {
    prefetch_bytes(w + b, kAheadBlocks, sizeof(w[b]));
    unpack(w[b], u);
    const float d = _cvtsh_ss(w[b].d), dmin = _cvtsh_ss(w[b].dmin);
#if IG_KQ_AVX512
    if constexpr (N > 1) {  // the tokens' integer sums side by side, then the scalar float steps
      const Wide v = widen(u);
      __m256i il[N], ml[N];
      for (int t = 0; t < N; ++t) {
        il[t] = block_lanes512(v, x[t * xs + b]);
        ml[t] = _mm256_madd_epi16(load32(x[t * xs + b].bsums), u.mins);
      }
      int32_t isum[N], msum[N];
      lane_totals<N>(il, isum);
      lane_totals<N>(ml, msum);
      for (int t = 0; t < N; ++t) {
        const float xd = x[t * xs + b].d;
        acc[t] = acc[t] + (xd * d) * float(isum[t]);
        acc[t] = acc[t] - (xd * dmin) * float(msum[t]);
      }
      continue;
    }
#endif
    for (int t = 0; t < N; ++t) {
      const BlockQ8_K& xb = x[t * xs + b];
      const int32_t isum = block_isum<N>(u, xb), msum = block_msum(u, xb);
      acc[t] = acc[t] + (xb.d * d) * float(isum);
      acc[t] = acc[t] - (xb.d * dmin) * float(msum);
    }
  }
  for (int t = 0; t < N; ++t) out[t * os] = acc[t];
}

template <int N>
void q6_tile(const BlockQ6_K* w, const BlockQ8_K* x, int64_t xs, int64_t nb, float* out, int64_t os) {
  float acc[N];
  for (int t = 0; t < N; ++t) acc[t] = 0;
  Unpacked u;
  for (int64_t b = 0; b < nb; ++b) {
    prefetch_bytes(w + b, kAheadBlocks, sizeof(w[b]));
    unpack(w[b], u);
    const float d = _cvtsh_ss(w[b].d);
#if IG_KQ_AVX512
    if constexpr (N > 1) {
      const Wide v = widen(u);
      const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].scales)));
      __m256i il[N];
      for (int t = 0; t < N; ++t)  // lanes of isum - q6_offset: 32 x the scaled bsums off
        il[t] = _mm256_sub_epi32(block_lanes512(v, x[t * xs + b]),
                                 _mm256_slli_epi32(_mm256_madd_epi16(sc, load32(x[t * xs + b].bsums)), 5));
      int32_t isum[N];
      lane_totals<N>(il, isum);
      for (int t = 0; t < N; ++t) acc[t] = acc[t] + (x[t * xs + b].d * d) * float(isum[t]);
      continue;
    }
#endif
    for (int t = 0; t < N; ++t) {
      const BlockQ8_K& xb = x[t * xs + b];
      const int32_t isum = block_isum<N>(u, xb) - q6_offset(w[b], xb);
      acc[t] = acc[t] + (xb.d * d) * float(isum);
    }
  }
  for (int t = 0; t < N; ++t) out[t * os] = acc[t];
}

// tile(std::integral_constant<int, N>) for n tokens (1..kKQuantTokens): the tiles take their
// token count at compile time.
template <typename Tile>
inline void for_tokens(int n, const Tile& tile) {
  static_assert(kKQuantTokens == 4);
  switch (n) {
    case 1: return tile(std::integral_constant<int, 1>{});
    case 2: return tile(std::integral_constant<int, 2>{});
    case 3: return tile(std::integral_constant<int, 3>{});
    default: return tile(std::integral_constant<int, 4>{});
  }
}

template <typename Block>
void min_kernel(const Block* w, const BlockQ8_K* x, int64_t xs, int n, int64_t nb, float* out, int64_t os) {
  for_tokens(n, [&](auto N) { min_tile<N>(w, x, xs, nb, out, os); });
}

void q4_k(const BlockQ4_K* w, const BlockQ8_K* x, int64_t xs, int n, int64_t nb, float* out, int64_t os) {
  min_kernel(w, x, xs, n, nb, out, os);
}
void q5_k(const BlockQ5_K* w, const BlockQ8_K* x, int64_t xs, int n, int64_t nb, float* out, int64_t os) {
  min_kernel(w, x, xs, n, nb, out, os);
}
void q6_k(const BlockQ6_K* w, const BlockQ8_K* x, int64_t xs, int n, int64_t nb, float* out, int64_t os) {
  for_tokens(n, [&](auto N) { q6_tile<N>(w, x, xs, nb, out, os); });
}

// Q5_0/Q5_1: byte i of the result is 0xff when bit i of the block's qh is set (the 32 high bits
// spread over 32 bytes).
inline __m256i q5_high_bytes(const uint8_t* qh4) {
  uint32_t bits;
  std::memcpy(&bits, qh4, 4);
  __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(int(bits)),
                                  _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101,
                                                     0x0202020202020202, 0x0303030303030303));
  v = _mm256_or_si256(v, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));  // every bit but bit i%8
  return _mm256_cmpeq_epi8(v, _mm256_set1_epi64x(-1));
}

// Unsigned 5-bit quants of a Q5_0/Q5_1 block, value i in byte i.
template <typename Block>
inline __m256i q5_quants(const Block& b) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
  const __m256i nib = _mm256_and_si256(_mm256_setr_m128i(raw, _mm_srli_epi16(raw, 4)), _mm256_set1_epi8(0x0f));
  return _mm256_or_si256(nib, _mm256_and_si256(q5_high_bytes(b.qh), _mm256_set1_epi8(0x10)));
}

// Exact sum of unsigned w (0..31) times signed x over 32 bytes.
inline int32_t udot32(__m256i w, __m256i x) {
  return hsum_i32(_mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1)));
}

// Eight vectors of 8 int32 lanes -> one vector whose lane j is the (exact) sum of p[j].
inline __m256i sum8(const __m256i* p) {
  const __m256i s01 = _mm256_hadd_epi32(p[0], p[1]), s23 = _mm256_hadd_epi32(p[2], p[3]);
  const __m256i s45 = _mm256_hadd_epi32(p[4], p[5]), s67 = _mm256_hadd_epi32(p[6], p[7]);
  const __m256i a = _mm256_hadd_epi32(s01, s23), b = _mm256_hadd_epi32(s45, s67);
  return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

// Eight fp16 scales (at p, stride bytes apart) as floats, exactly as _cvtsh_ss each.
inline __m256 halves8(const uint8_t* p, size_t stride) {
  alignas(16) uint16_t h[8];
  for (int j = 0; j < 8; ++j) std::memcpy(&h[j], p + j * stride, 2);
  return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h)));
}

// Likewise for Q5_0/Q5_1, by 8-block groups (Qwen2.5-0.5B-shaped Q4_K_M, mostly Q5_0: decode
// 15.7 -> 18.3 tok/s on one thread, 28.5 -> 33.3 on two).
inline constexpr int64_t kAheadGroups = 8;  // 1.4-1.5 KiB; 4 and 16 were slower

// Groups of 8 blocks: the 8 exact block sums side by side, the products (dx*d)*float(isum)
// lane by lane (the same IEEE operations as one block at a time), then added to acc in block
// order, so a group gives the bits of eight single blocks.
template <int N>
void q5_0_tile(const BlockQ5_0* w, const BlockQ8_0* x, const int32_t* xsum, int64_t xs, int64_t nb, float* out,
               int64_t os) {
  float acc[N];
  for (int t = 0; t < N; ++t) acc[t] = 0;
  const __m256i ones = _mm256_set1_epi8(1);
  int64_t b = 0;
  for (; b + 8 <= nb; b += 8) {
    prefetch_bytes(w + b, 8 * kAheadGroups, 8 * sizeof(w[b]));
#if IG_KQ_VNNI
    // The unsigned quants q straight into dpbusd, started from -16 * (4-value sums of x) (twice
    // q8_lane_sums' -8 * sums): lanes of sum (q - 16) * x, the same exact integers.
    __m256i q[8];
    for (int j = 0; j < 8; ++j) q[j] = q5_quants(w[b + j]);
#else
    __m256i ua[8], a[8];
    for (int j = 0; j < 8; ++j) {
      a[j] = _mm256_sub_epi8(q5_quants(w[b + j]), _mm256_set1_epi8(16));
      ua[j] = _mm256_sign_epi8(a[j], a[j]);
    }
#endif
    const __m256 dw = halves8(reinterpret_cast<const uint8_t*>(&w[b].d), sizeof(BlockQ5_0));
    for (int t = 0; t < N; ++t) {
      const BlockQ8_0* xb = x + t * xs + b;
      __m256i p[8];
#if IG_KQ_VNNI
      const int32_t* xl = xsum + (t * xs + b) * 8;
      for (int j = 0; j < 8; ++j)
        p[j] = IG_KQ_DPBUSD(_mm256_slli_epi32(load32(xl + 8 * j), 1), q[j], load32(xb[j].qs));
#else
      for (int j = 0; j < 8; ++j)
        p[j] = _mm256_madd_epi16(_mm256_maddubs_epi16(ua[j], _mm256_sign_epi8(load32(xb[j].qs), a[j])),
                                 _mm256_set1_epi16(1));
#endif
      const __m256 dx = halves8(reinterpret_cast<const uint8_t*>(&xb[0].d), sizeof(BlockQ8_0));
      alignas(32) float v[8];
      _mm256_store_ps(v, _mm256_mul_ps(_mm256_mul_ps(dx, dw), _mm256_cvtepi32_ps(sum8(p))));
      for (int j = 0; j < 8; ++j) acc[t] = acc[t] + v[j];
    }
  }
  for (; b < nb; ++b) {
    const __m256i q = q5_quants(w[b]);
    const float d = _cvtsh_ss(w[b].d);
    for (int t = 0; t < N; ++t) {
      const BlockQ8_0& xb = x[t * xs + b];
      const __m256i xq = load32(xb.qs);
      // sum (q - 16) * x = sum q*x - 16 * sum x, both exact
      const int32_t isum = udot32(q, xq) - 16 * udot32(ones, xq);
      acc[t] = acc[t] + (_cvtsh_ss(xb.d) * d) * float(isum);
    }
  }
  for (int t = 0; t < N; ++t) out[t * os] = acc[t];
}

template <int N>
void q5_1_tile(const BlockQ5_1* w, const BlockQ8_0* x, int64_t xs, int64_t nb, float* out, int64_t os) {
  float acc[N];
  for (int t = 0; t < N; ++t) acc[t] = 0;
  const __m256i ones = _mm256_set1_epi8(1);
#if !IG_KQ_VNNI
  const __m256i ones16 = _mm256_set1_epi16(1);
#endif
  int64_t b = 0;
  for (; b + 8 <= nb; b += 8) {
    prefetch_bytes(w + b, 8 * kAheadGroups, 8 * sizeof(w[b]));
    __m256i q[8];
    for (int j = 0; j < 8; ++j) q[j] = q5_quants(w[b + j]);
    const __m256 dw = halves8(reinterpret_cast<const uint8_t*>(&w[b].d), sizeof(BlockQ5_1));
    const __m256 mw = halves8(reinterpret_cast<const uint8_t*>(&w[b].m), sizeof(BlockQ5_1));
    for (int t = 0; t < N; ++t) {
      const BlockQ8_0* xb = x + t * xs + b;
      __m256i p[8], s[8];
      for (int j = 0; j < 8; ++j) {
        const __m256i xq = load32(xb[j].qs);
#if IG_KQ_VNNI
        p[j] = IG_KQ_DPBUSD(_mm256_setzero_si256(), q[j], xq);
        s[j] = IG_KQ_DPBUSD(_mm256_setzero_si256(), ones, xq);
#else
        p[j] = _mm256_madd_epi16(_mm256_maddubs_epi16(q[j], xq), ones16);
        s[j] = _mm256_madd_epi16(_mm256_maddubs_epi16(ones, xq), ones16);
#endif
      }
      const __m256 dx = halves8(reinterpret_cast<const uint8_t*>(&xb[0].d), sizeof(BlockQ8_0));
      alignas(32) float v[8], u[8];
      _mm256_store_ps(v, _mm256_mul_ps(_mm256_mul_ps(dx, dw), _mm256_cvtepi32_ps(sum8(p))));
      _mm256_store_ps(u, _mm256_mul_ps(_mm256_mul_ps(dx, mw), _mm256_cvtepi32_ps(sum8(s))));
      for (int j = 0; j < 8; ++j) {
        acc[t] = acc[t] + v[j];
        acc[t] = acc[t] + u[j];
      }
    }
  }
  for (; b < nb; ++b) {
    const __m256i q = q5_quants(w[b]);
    const float d = _cvtsh_ss(w[b].d), m = _cvtsh_ss(w[b].m);
    for (int t = 0; t < N; ++t) {
      const BlockQ8_0& xb = x[t * xs + b];
      const __m256i xq = load32(xb.qs);
      const int32_t isum = udot32(q, xq), xsum = udot32(ones, xq);
      const float dx = _cvtsh_ss(xb.d);
      acc[t] = acc[t] + (dx * d) * float(isum);
      acc[t] = acc[t] + (dx * m) * float(xsum);
    }
  }
  for (int t = 0; t < N; ++t) out[t * os] = acc[t];
}

void q5_0(const BlockQ5_0* w, const BlockQ8_0* x, const int32_t* xsum, int64_t xs, int n, int64_t nb, float* out,
          int64_t os) {
  for_tokens(n, [&](auto N) { q5_0_tile<N>(w, x, xsum, xs, nb, out, os); });
}
void q5_1(const BlockQ5_1* w, const BlockQ8_0* x, int64_t xs, int n, int64_t nb, float* out, int64_t os) {
  for_tokens(n, [&](auto N) { q5_1_tile<N>(w, x, xs, nb, out, os); });
}

}  // namespace

const KQuantTable& IG_KQ_TABLE_FN() {
  static const KQuantTable t{IG_KQ_TABLE_NAME, q4_k, q5_k, q6_k, q5_0, q5_1};
  return t;
}

}  // namespace ig::kernels::cpu
