// Q4_K, Q5_K and Q6_K matmuls on AMX-INT8 tiles for prefill (5 tokens or more), bitwise the K-quant
// kernels of dot_kquants.hpp. Q4_K (Q6_K below, with 16-value groups) takes per super-block the
// exact integers
//   isum = sum_j sc_j * s_j,  s_j = sum over sub-block j (32 values) of q * a,
//   msum = sum_j m_j * (bsum_2j + bsum_2j+1),
// then acc = acc + (dx*d) * float(isum); acc = acc - (dx*dmin) * float(msum), separately
// rounded, in super-block order. One tile product gives s_j for 16 rows x 16 tokens (A: the rows'
// nibbles of sub-block j, unpacked once per 16-row tile; B: the tokens' quants of sub-block j in
// the VNNI layout); the row scales multiply them in int32 lanes (one lane per token), the mins
// go through vpmaddwd on the tokens' paired 16-value sums, and the float steps run over 16
// lanes. Compiled with the AMX and AVX-512 flags of gemm_amx.cpp; only called when
// cpu_has_amx() and cpu_has_gfni().
#include "kernels/cpu/intrinsics.hpp"  // <immintrin.h>, GCC 12 warnings silenced

#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/cpu/amx_tiles.hpp"
#include "kernels/cpu/dot.hpp"

namespace ig::kernels::cpu {

void pack_k_token_tiles(const BlockQ8_K* x, int n, int64_t nb, KTokenTile* out) {
  const int groups = (n + kTileTokens - 1) / kTileTokens;
  for (int g = 0; g < groups; ++g)
    for (int64_t b = 0; b < nb; ++b) {
      KTokenTile& o = out[g * nb + b];
      std::memset(&o, 0, sizeof o);
      for (int t = 0; t < kTileTokens && g * kTileTokens + t < n; ++t) {
        const BlockQ8_K& xb = x[int64_t(g * kTileTokens + t) * nb + b];
        for (int j = 0; j < 8; ++j) {
          for (int k = 0; k < 8; ++k)
            for (int i = 0; i < 4; ++i) o.qs[j][k][4 * t + i] = xb.qs[32 * j + 4 * k + i];
          const int32_t pair = int32_t(xb.bsums[2 * j]) + xb.bsums[2 * j + 1];  // |pair| <= 32 * 127
          o.bsum[j / 2][2 * t + j % 2] = int16_t(pair);
          o.bsum16[j][2 * t] = xb.bsums[2 * j];
          o.bsum16[j][2 * t + 1] = xb.bsums[2 * j + 1];
        }
        o.d[t] = xb.d;
      }
    }
}

namespace {

// Tiles: 0 C (16 rows x n int32), 1 A (16 rows x 32 bytes), 2 B (8 rows x 4n bytes).
void configure_k(int n) {
  amx::TileConfig c;
  c.rows[0] = 16, c.colsb[0] = uint16_t(4 * n);
  c.rows[1] = 16, c.colsb[1] = 32;
  c.rows[2] = 8, c.colsb[2] = uint16_t(4 * n);
  amx::use_layout(c);
}

// Row r's part of super-block b that Q4_K and Q5_K tiles share: the mins as int16 pairs
// (m[b*4 + p][r] = m_2p | m_2p+1 << 16, for vpmaddwd), d and dmin as floats.
template <typename Block>
inline void unpack_mins(const Block& blk, const uint8_t (&mn)[8], int64_t b, int r, std::vector<Line64>& m,
                        std::vector<Line64>& d, std::vector<Line64>& dmin) {
  for (int p = 0; p < 4; ++p)
    reinterpret_cast<int32_t*>(m[size_t(b * 4 + p)].v)[r] = int32_t(mn[2 * p]) | (int32_t(mn[2 * p + 1]) << 16);
  d[size_t(b)].v[r] = _cvtsh_ss(blk.d);
  dmin[size_t(b)].v[r] = _cvtsh_ss(blk.dmin);
}

// One 16-row tile's weights, per super-block: the eight sub-blocks' nibbles as unsigned bytes
// (u[(b*8 + j)*512 + 32*r + k]), the scales (sc[b*8 + j][r], int32 for vpmulld), the mins as
// int16 pairs (m[b*4 + p][r] = m_2p | m_2p+1 << 16, for vpmaddwd) and d, dmin as floats.
// Q5_K the same, with bit j of its qh bytes as bit 4 of sub-block j's values.
struct Q4KTile {
  std::vector<Line64> u, sc, m, d, dmin;  // Line64: 16 lanes, one per row
  template <typename Block>
  void unpack(const Block* w, int64_t ws, int64_t nb) {
    u.resize(size_t(nb) * 64), sc.resize(size_t(nb) * 8), m.resize(size_t(nb) * 4), d.resize(size_t(nb)),
        dmin.resize(size_t(nb));
    const __m256i low = _mm256_set1_epi8(0x0f);
    for (int64_t b = 0; b < nb; ++b)
      for (int r = 0; r < 16; ++r) {
        const Block& blk = w[r * ws + b];
        auto* ub = reinterpret_cast<uint8_t*>(u.data()) + size_t(b) * 8 * 512 + 32 * r;
        for (int p = 0; p < 4; ++p) {
          const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs + 32 * p));
          __m256i lo = _mm256_and_si256(q, low), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low);
          if constexpr (std::is_same_v<Block, BlockQ5_K>) {
            const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qh));
            const __m256i one = _mm256_set1_epi8(1);
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * p), one), 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * p + 1), one), 4));
          }
          _mm256_store_si256(reinterpret_cast<__m256i*>(ub + (2 * p) * 512), lo);
          _mm256_store_si256(reinterpret_cast<__m256i*>(ub + (2 * p + 1) * 512), hi);
        }
        uint8_t s[8], mn[8];
        for (int j = 0; j < 8; ++j) kquant_scale_min(j, blk.scales, s[j], mn[j]);
        for (int j = 0; j < 8; ++j) reinterpret_cast<int32_t*>(sc[size_t(b * 8 + j)].v)[r] = s[j];
        unpack_mins(blk, mn, b, r, m, d, dmin);
      }
  }
};

// Super-block b's float step for 16 rows (lanes: tokens), from its exact isum: the mins' sum
// (vpmaddwd on the tokens' paired 16-value sums), then acc = acc + (dx*d) * float(isum) and
// acc = acc - (dx*dmin) * float(msum), separately rounded (the K-quant kernels' order).
template <typename Tile>
inline void q4_k_float_step(const Tile& w, const KTokenTile& xt, int64_t b, const __m512i (&isum)[16], __m512 (&acc)[16]) {
  const __m512 dx = _mm512_load_ps(xt.d);
  for (int r = 0; r < 16; ++r) {
    __m512i msum = _mm512_setzero_si512();
    for (int p = 0; p < 4; ++p)
      msum = _mm512_add_epi32(msum, _mm512_madd_epi16(_mm512_set1_epi32(reinterpret_cast<const int32_t*>(w.m[size_t(b * 4 + p)].v)[r]),
                                                      _mm512_load_si512(xt.bsum[p])));
    const __m512 dd = _mm512_mul_ps(dx, _mm512_set1_ps(w.d[size_t(b)].v[r]));
    const __m512 dm = _mm512_mul_ps(dx, _mm512_set1_ps(w.dmin[size_t(b)].v[r]));
    acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(dd, _mm512_cvtepi32_ps(isum[r])));
    acc[r] = _mm512_sub_ps(acc[r], _mm512_mul_ps(dm, _mm512_cvtepi32_ps(msum)));
  }
}

// 16 rows x one group of n (1..16) tokens; lanes are tokens, one accumulator per row.
void q4_k_group(const Q4KTile& w, const KTokenTile* x, int n, int64_t nb, float* out, int64_t os,
                const amx::Prefetch& pf) {
  configure_k(n);
  alignas(64) int32_t c[16][16];
  __m512 acc[16];
  for (auto& a : acc) a = _mm512_setzero_ps();
  const auto* u = reinterpret_cast<const uint8_t*>(w.u.data());
  for (int64_t b = 0; b < nb; ++b) {
    pf.block(b);
    const KTokenTile& xt = x[b];
    __m512i isum[16];
    for (auto& v : isum) v = _mm512_setzero_si512();
    for (int j = 0; j < 8; ++j) {
      _tile_zero(0);
      IG_TILE_LOADD(1, u + (b * 8 + j) * 512, 32);
      IG_TILE_LOADD(2, xt.qs[j], 64);
      _tile_dpbusd(0, 1, 2);
      _tile_stored(0, c, 64);
      const int32_t* scj = reinterpret_cast<const int32_t*>(w.sc[size_t(b * 8 + j)].v);
      for (int r = 0; r < 16; ++r)
        isum[r] = _mm512_add_epi32(isum[r], _mm512_mullo_epi32(_mm512_set1_epi32(scj[r]), _mm512_load_si512(c[r])));
    }
    q4_k_float_step(w, xt, b, isum, acc);
  }
  amx::store_by_token(acc, n, out, os);
}

// Q4_K with each sub-block's 6-bit scale folded into the weights, so that a super-block's
// isum = sum_j sc_j * s_j comes out of two tile products over all 256 values (four 64-value K
// steps each) instead of eight 32-value products each stored and scaled in int32 lanes
// (vpmulld). With sc = 8 * hi + lo (0..7 each), q * lo and q * hi (q 0..15) are unsigned bytes
// (at most 105) and
//   isum = 8 * sum_k (q_k * hi_j(k)) * a_k + sum_k (q_k * lo_j(k)) * a_k,
// exact in int32 (|isum| <= 256 * 945 * 127 < 2^25): the same integer, so the same bits. The
// products are looked up (vpshufb on the table q -> q * s). Q5_K (q up to 31) keeps Q4KTile.
struct Q4KScaledTile {
  // lo[(b*4 + p)*16 + r]: row r's values 64p..64p+63 of super-block b (sub-blocks 2p, 2p+1) times
  // their lo; hi likewise; m, d, dmin as Q4KTile's.
  std::vector<Line64> lo, hi, m, d, dmin;
  void unpack(const BlockQ4_K* w, int64_t ws, int64_t nb) {
    lo.resize(size_t(nb) * 64), hi.resize(size_t(nb) * 64), m.resize(size_t(nb) * 4), d.resize(size_t(nb)),
        dmin.resize(size_t(nb));
    const __m256i low = _mm256_set1_epi8(0x0f);
    for (int64_t b = 0; b < nb; ++b)
      for (int r = 0; r < 16; ++r) {
        const BlockQ4_K& blk = w[r * ws + b];
        uint8_t s[8], mn[8];
        for (int j = 0; j < 8; ++j) kquant_scale_min(j, blk.scales, s[j], mn[j]);
        for (int p = 0; p < 4; ++p) {
          const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qs + 32 * p));
          const __m256i qa = _mm256_and_si256(q, low), qb = _mm256_and_si256(_mm256_srli_epi16(q, 4), low);
          auto* l = reinterpret_cast<__m256i*>(lo[size_t((b * 4 + p) * 16 + r)].v);
          auto* h = reinterpret_cast<__m256i*>(hi[size_t((b * 4 + p) * 16 + r)].v);
          _mm256_store_si256(l, _mm256_shuffle_epi8(times(s[2 * p] & 7), qa));
          _mm256_store_si256(l + 1, _mm256_shuffle_epi8(times(s[2 * p + 1] & 7), qb));
          _mm256_store_si256(h, _mm256_shuffle_epi8(times(s[2 * p] >> 3), qa));
          _mm256_store_si256(h + 1, _mm256_shuffle_epi8(times(s[2 * p + 1] >> 3), qb));
        }
        unpack_mins(blk, mn, b, r, m, d, dmin);
      }
  }
  // The table q -> q * s for q in 0..15, in both 128-bit lanes (s in 0..7).
  static __m256i times(int s) {
    static const auto tables = [] {
      std::array<std::array<uint8_t, 32>, 8> t{};
      for (int v = 0; v < 8; ++v)
        for (int i = 0; i < 32; ++i) t[size_t(v)][size_t(i)] = uint8_t((i % 16) * v);
      return t;
    }();
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tables[size_t(s)].data()));
  }
};

// Tiles: 0 C of the lo products, 1 C of the hi ones (16 rows x n int32), 2 A (16 rows x 64
// bytes), 3 B (16 rows x 4n bytes: sub-blocks 2p and 2p + 1 of the KTokenTile, which lie one
// after the other).
void configure_k_scaled(int n) {
  amx::TileConfig c;
  c.rows[0] = c.rows[1] = 16, c.colsb[0] = c.colsb[1] = uint16_t(4 * n);
  c.rows[2] = 16, c.colsb[2] = 64;
  c.rows[3] = 16, c.colsb[3] = uint16_t(4 * n);
  amx::use_layout(c);
}

void q4_k_scaled_group(const Q4KScaledTile& w, const KTokenTile* x, int n, int64_t nb, float* out, int64_t os,
                       const amx::Prefetch& pf) {
  configure_k_scaled(n);
  alignas(64) int32_t c0[16][16], c1[16][16];
  __m512 acc[16];
  for (auto& a : acc) a = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    pf.block(b);
    const KTokenTile& xt = x[b];
    _tile_zero(0);
    _tile_zero(1);
    for (int p = 0; p < 4; ++p) {
      IG_TILE_LOADD(3, xt.qs[2 * p], 64);
      IG_TILE_LOADD(2, w.lo[size_t((b * 4 + p) * 16)].v, 64);
      _tile_dpbusd(0, 2, 3);
      IG_TILE_LOADD(2, w.hi[size_t((b * 4 + p) * 16)].v, 64);
      _tile_dpbusd(1, 2, 3);
    }
    _tile_stored(0, c0, 64);
    _tile_stored(1, c1, 64);
    __m512i isum[16];
    for (int r = 0; r < 16; ++r)
      isum[r] = _mm512_add_epi32(_mm512_slli_epi32(_mm512_load_si512(c1[r]), 3), _mm512_load_si512(c0[r]));
    q4_k_float_step(w, xt, b, isum, acc);
  }
  amx::store_by_token(acc, n, out, os);
}

// Q6_K: 16 groups of 16 values per super-block, each with an int8 scale; value q - 32 with q
// (0..63) from 4 low bits (ql) and 2 high bits (qh). Tiles: 0 C, 1 A (16 rows x 16 bytes), 2 B
// (4 rows x 4n bytes: half of a sub-block's TokenTile rows).
void configure_q6(int n) {
  amx::TileConfig c;
  c.rows[0] = 16, c.colsb[0] = uint16_t(4 * n);
  c.rows[1] = 16, c.colsb[1] = 16;
  c.rows[2] = 4, c.colsb[2] = uint16_t(4 * n);
  amx::use_layout(c);
}

// One 16-row tile's Q6_K weights, per super-block: the 16 groups' q as unsigned bytes
// (u[(b*16 + g)*256 + 16*r + k]), the scales as int32 (sc[b*16 + g][r], for vpmulld) and as
// int16 pairs of groups 2j, 2j + 1 (sp[b*8 + j][r], for vpmaddwd), and d.
struct Q6KTile {
  std::vector<Line64> u, sc, sp, d;
  void unpack(const BlockQ6_K* w, int64_t ws, int64_t nb) {
    u.resize(size_t(nb) * 64), sc.resize(size_t(nb) * 16), sp.resize(size_t(nb) * 8), d.resize(size_t(nb));
    const __m256i low = _mm256_set1_epi8(0x0f), two = _mm256_set1_epi8(3);
    for (int64_t b = 0; b < nb; ++b)
      for (int r = 0; r < 16; ++r) {
        const BlockQ6_K& blk = w[r * ws + b];
        auto* ub = reinterpret_cast<uint8_t*>(u.data()) + size_t(b) * 16 * 256 + 16 * r;
        for (int h = 0; h < 2; ++h) {  // q6_k_value: values 128h + 32k + l
          const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.qh + 32 * h));
          for (int k = 0; k < 4; ++k) {
            const __m256i ql = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.ql + 64 * h + 32 * (k & 1)));
            const __m256i lo = k < 2 ? _mm256_and_si256(ql, low) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), low);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), two);
            alignas(32) uint8_t q[32];
            _mm256_store_si256(reinterpret_cast<__m256i*>(q), _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4)));
            const int j = 4 * h + k;  // sub-block: groups 2j, 2j + 1
            std::memcpy(ub + (2 * j) * 256, q, 16);
            std::memcpy(ub + (2 * j + 1) * 256, q + 16, 16);
          }
        }
        for (int g = 0; g < 16; ++g) reinterpret_cast<int32_t*>(sc[size_t(b * 16 + g)].v)[r] = blk.scales[g];
        for (int j = 0; j < 8; ++j)
          reinterpret_cast<int32_t*>(sp[size_t(b * 8 + j)].v)[r] =
              int32_t(uint16_t(int16_t(blk.scales[2 * j]))) | (int32_t(uint16_t(int16_t(blk.scales[2 * j + 1]))) << 16);
        d[size_t(b)].v[r] = _cvtsh_ss(blk.d);
      }
  }
};

// 16 rows x one group of n tokens: isum = sum_g sc_g * (C_g - 32 * bsum_g), exact.
void q6_k_group(const Q6KTile& w, const KTokenTile* x, int n, int64_t nb, float* out, int64_t os,
                const amx::Prefetch& pf) {
  configure_q6(n);
  alignas(64) int32_t c[16][16];
  __m512 acc[16];
  for (auto& a : acc) a = _mm512_setzero_ps();
  const auto* u = reinterpret_cast<const uint8_t*>(w.u.data());
  for (int64_t b = 0; b < nb; ++b) {
    pf.block(b);
    const KTokenTile& xt = x[b];
    __m512i isum[16];
    for (auto& v : isum) v = _mm512_setzero_si512();
    for (int g = 0; g < 16; ++g) {
      _tile_zero(0);
      IG_TILE_LOADD(1, u + (b * 16 + g) * 256, 16);
      IG_TILE_LOADD(2, xt.qs[g / 2][4 * (g % 2)], 64);
      _tile_dpbusd(0, 1, 2);
      _tile_stored(0, c, 64);
      const int32_t* scg = reinterpret_cast<const int32_t*>(w.sc[size_t(b * 16 + g)].v);
      for (int r = 0; r < 16; ++r)
        isum[r] = _mm512_add_epi32(isum[r], _mm512_mullo_epi32(_mm512_set1_epi32(scg[r]), _mm512_load_si512(c[r])));
    }
    const __m512 dx = _mm512_load_ps(xt.d);
    for (int r = 0; r < 16; ++r) {
      __m512i corr = _mm512_setzero_si512();  // sum_g sc_g * bsum_g
      for (int j = 0; j < 8; ++j)
        corr = _mm512_add_epi32(corr, _mm512_madd_epi16(_mm512_set1_epi32(reinterpret_cast<const int32_t*>(w.sp[size_t(b * 8 + j)].v)[r]),
                                                        _mm512_load_si512(xt.bsum16[j])));
      const __m512i total = _mm512_sub_epi32(isum[r], _mm512_slli_epi32(corr, 5));
      const __m512 dd = _mm512_mul_ps(dx, _mm512_set1_ps(w.d[size_t(b)].v[r]));
      acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(dd, _mm512_cvtepi32_ps(total)));
    }
  }
  amx::store_by_token(acc, n, out, os);
}

// 16-row tiles of nr rows: each tile's weights unpacked once (Tile::unpack), then every group of
// 16 tokens through group(tile, x, n, nb, out, os, prefetch).
template <typename Tile, typename Block, typename Group>
void k_gemm(const Block* w, int64_t ws, int64_t nr, const KTokenTile* x, int n, int64_t nb, float* out, int64_t os,
            Group group) {
  thread_local Tile tile;
  const int groups = (n + kTileTokens - 1) / kTileTokens;
  for (int64_t r0 = 0; r0 + 16 <= nr; r0 += 16) {
    tile.unpack(w + r0 * ws, ws, nb);
    // the first group's pass brings the next tile's weights into L2 (its unpacking stalled on
    // memory without: a third of an 8B model's prefill)
    amx::Prefetch pf = r0 + 32 <= nr ? amx::Prefetch::next_tile(w + r0 * ws, ws, nb) : amx::Prefetch{};
    for (int g = 0; g < groups; ++g, pf = amx::Prefetch{})
      group(tile, x + g * nb, std::min(kTileTokens, n - g * kTileTokens), nb, out + int64_t(g * kTileTokens) * os + r0,
            os, pf);
  }
}

}  // namespace

void q4_k_gemm_amx(const BlockQ4_K* w, int64_t ws, int64_t nr, const KTokenTile* x, int n, int64_t nb, float* out,
                   int64_t os) {
  k_gemm<Q4KScaledTile>(w, ws, nr, x, n, nb, out, os, q4_k_scaled_group);
}
void q5_k_gemm_amx(const BlockQ5_K* w, int64_t ws, int64_t nr, const KTokenTile* x, int n, int64_t nb, float* out,
                   int64_t os) {
  k_gemm<Q4KTile>(w, ws, nr, x, n, nb, out, os, q4_k_group);
}
void q6_k_gemm_amx(const BlockQ6_K* w, int64_t ws, int64_t nr, const KTokenTile* x, int n, int64_t nb, float* out,
                   int64_t os) {
  k_gemm<Q6KTile>(w, ws, nr, x, n, nb, out, os, q6_k_group);
}

}  // namespace ig::kernels::cpu
