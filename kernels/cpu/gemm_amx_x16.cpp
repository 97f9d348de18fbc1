// Q4_0 and Q8_0 prefill on AMX-INT8 tiles for Layout::Interleaved16 (formats.hpp), numerics
// cpu/3: bitwise the q4_0 / q8_0 kernels. Compiled and called as gemm_amx.cpp (AMX-INT8, GFNI,
// the AVX-512 flags).
//
// gemm_amx.cpp puts the weights in A and the tokens in B. A regrouped unit is already the other
// way round: dword i of its chunk q is row i's values 4q..4q+3, which is B's VNNI row q for 16
// output columns. So here the weights are B (Q8_0: a unit's chunks as they are; Q4_0: its low
// nibbles as B rows 0..3, its high nibbles rows 4..7, with no rearranging) and the tokens' Q8_0
// quants are A (TokenRows, one contiguous block per token group):
//   C[token][row] = sum_k A[token][k] * B[k][row]   (TDPBSSD; Q4_0 TDPBSUD: unsigned B)
// Q4_0's nibbles n stand for n - 8: the exact correction -8 * sum(x) of each token rides in the
// same product, as four digits after its quants (A columns 32..35, TokenRows) times a constant
// ninth row of B (128, 128, 128, 8); Q8_0 has none (A's tile is 32 bytes wide there). Then per
// (token, row), in block order, acc = fma(dw * dx, float(C), acc), each token's accumulator a
// vector over the 16 rows.
#include "kernels/cpu/intrinsics.hpp"  // <immintrin.h>, GCC 12 warnings silenced

#include <algorithm>
#include <type_traits>
#include <vector>

#include "kernels/cpu/amx_tiles.hpp"
#include "kernels/cpu/dot.hpp"
#include "kernels/cpu/nibbles_x86.hpp"

namespace ig::kernels::cpu {
namespace {

// Q4_0's B rows per block: the 8 of nibbles and the correction row; its A rows: 32 quants and
// the correction's 4 digits. Q8_0 reads B straight from the units (8 rows) and A without them.
constexpr int kBRows = kTokenRowBytes / 4;
template <bool kQ8> constexpr int kARowBytes = kQ8 ? 32 : kTokenRowBytes;
template <bool kQ8> constexpr int kBTileRows = kARowBytes<kQ8> / 4;

// For m (1..16) tokens: tiles 0/1 hold C of blocks b and b+1 (m tokens x 16 rows int32), 2/3 A
// (m tokens x kARowBytes), 4/5 B (kBTileRows x 64 bytes), so one product runs while the other's
// results go through the float step.
template <bool kQ8>
void configure(int m) {
  amx::TileConfig c;
  for (int t = 0; t < 2; ++t) {
    c.rows[t] = uint8_t(m), c.colsb[t] = 64;
    c.rows[2 + t] = uint8_t(m), c.colsb[2 + t] = kARowBytes<kQ8>;
    c.rows[4 + t] = kBTileRows<kQ8>, c.colsb[4 + t] = 64;
  }
  amx::use_layout(c);
}

// The next group's unit b into L2, a unit per block of the current group's first pass: the groups
// lie one after another, and this group's products give the loads time to land.
template <typename Unit>
inline void prefetch_unit(const Unit* next) {
  const char* p = reinterpret_cast<const char*>(next);
  for (size_t o = 0; o < sizeof(Unit); o += 64) _mm_prefetch(p + o, _MM_HINT_T1);
  _mm_prefetch(p + sizeof(Unit) - 1, _MM_HINT_T1);  // a unit is not whole lines
}

// Q4_0: one group's nb units as B tiles (v[b * kBRows + k]: B row k of block b), prefetching the
// next group as it goes. (Q8_0's B is the units themselves.)
void prepare_group(const BlockQ4_0x16* u, int64_t nb, Line64* v) {
  for (int64_t b = 0; b < nb; ++b) {
    prefetch_unit(u + nb + b);
    Line64* vb = v + b * kBRows;
    for (int q = 0; q < 4; ++q) {
      const __m512i raw = _mm512_loadu_si512(u[b].qs + 64 * q);
      _mm512_store_si512(vb[q].v, low_nibbles_gfni(raw));
      _mm512_store_si512(vb[4 + q].v, high_nibbles_gfni(raw));
    }
    _mm512_store_si512(vb[8].v, _mm512_set1_epi32(0x08808080));  // bytes 128, 128, 128, 8
  }
}

// Where the products read one weight group: B of block b, and its 16 row scales.
template <typename Unit>
struct GroupB {
  static constexpr bool kQ8 = std::is_same_v<Unit, BlockQ8_0x16>;
  const Unit* u;
  const Line64* v;  // prepare_group's B rows (Q4_0)
  const void* b_rows(int64_t b) const {
    if constexpr (kQ8) return u[b].qs;
    else return v[b * kBRows].v;
  }
  // Q8_0's products stream the units, so they prefetch the next group (its first pass only).
  bool prefetch_next = kQ8;
  void prefetch(int64_t b, int64_t nb) const {
    if (prefetch_next) prefetch_unit(u + nb + b);
  }
  __m512 scales(int64_t b) const { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(u[b].d))); }
};

// The float step of one block for the first m tokens of a group. (Unrolled, so that each
// accumulator stays in its register; a verifier's last, short pass pays for its m tokens only.)
inline void step(const int32_t (*c)[16], __m512 dw, const TokenRows& x, int m, __m512 (&acc)[16]) {
#pragma GCC unroll 16
  for (int t = 0; t < 16; ++t) {
    if (t == m) break;
    const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(x.d[t]));
    acc[t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(_mm512_load_si512(c[t])), acc[t]);
  }
}

// Q4_0's B is unsigned (nibbles), Q8_0's signed.
#define IG_X16_DP(C, A, B) \
  if constexpr (kQ8) _tile_dpbssd(C, A, B); else _tile_dpbsud(C, A, B)
#define IG_X16_PRODUCT(C, A, B, blk)                       \
  _tile_zero(C);                                           \
  IG_TILE_LOADD(A, x[blk].qs, 64);             \
  IG_TILE_LOADD(B, w.b_rows(blk), 64);                     \
  IG_X16_DP(C, A, B)

// m (1..16) tokens (x: their group's nb blocks) times one weight group: out[t*os + i].
template <typename Unit>
void tile_group(const GroupB<Unit>& w, const TokenRows* x, int m, int64_t nb, float* out, int64_t os) {
  constexpr bool kQ8 = GroupB<Unit>::kQ8;
  configure<kQ8>(m);
  alignas(64) int32_t c0[16][16], c1[16][16];
  __m512 acc[16];
  for (auto& a : acc) a = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    w.prefetch(b, nb), w.prefetch(b + 1, nb);
    IG_X16_PRODUCT(0, 2, 4, b);
    IG_X16_PRODUCT(1, 3, 5, b + 1);
    _tile_stored(0, c0, 64);
    _tile_stored(1, c1, 64);
    step(c0, w.scales(b), x[b], m, acc);
    step(c1, w.scales(b + 1), x[b + 1], m, acc);
  }
  if (b < nb) {
    w.prefetch(b, nb);
    IG_X16_PRODUCT(0, 2, 4, b);
    _tile_stored(0, c0, 64);
    step(c0, w.scales(b), x[b], m, acc);
  }
  for (int t = 0; t < m; ++t) _mm512_storeu_ps(out + t * os, acc[t]);
}

// G (2..4) groups of 16 tokens (group g's blocks at x + g * nb; n tokens in all, so the last
// group may be partial: its missing tokens' rows are zero) times one weight group, block by
// block: the block's B tile is loaded once for every token group and the G tile products are
// independent, so they overlap; the accumulators (G x 16 tokens) live in memory. Tiles 0..3: C of
// each token group, 4: B, 5/6: the groups' A in turn.
template <typename Unit>
void tile_groups(const GroupB<Unit>& w, const TokenRows* x, int G, int n, int64_t nb, float* out, int64_t os) {
  constexpr bool kQ8 = GroupB<Unit>::kQ8;
  {
    amx::TileConfig c;
    for (int t = 0; t < 4; ++t) c.rows[t] = 16, c.colsb[t] = 64;
    c.rows[4] = kBTileRows<kQ8>, c.colsb[4] = 64;
    c.rows[5] = c.rows[6] = 16, c.colsb[5] = c.colsb[6] = kARowBytes<kQ8>;
    amx::use_layout(c);
  }
  alignas(64) int32_t c[4][16][16];
  alignas(64) float acc[4][16][16] = {};
  for (int64_t b = 0; b < nb; ++b) {
    w.prefetch(b, nb);
    IG_TILE_LOADD(4, w.b_rows(b), 64);
    _tile_zero(0);
    IG_TILE_LOADD(5, x[b].qs, 64);
    IG_X16_DP(0, 5, 4);
    _tile_zero(1);
    IG_TILE_LOADD(6, x[nb + b].qs, 64);
    IG_X16_DP(1, 6, 4);
    if (G > 2) {
      _tile_zero(2);
      IG_TILE_LOADD(5, x[2 * nb + b].qs, 64);
      IG_X16_DP(2, 5, 4);
    }
    if (G > 3) {
      _tile_zero(3);
      IG_TILE_LOADD(6, x[3 * nb + b].qs, 64);
      IG_X16_DP(3, 6, 4);
    }
    _tile_stored(0, c[0], 64);
    _tile_stored(1, c[1], 64);
    if (G > 2) _tile_stored(2, c[2], 64);
    if (G > 3) _tile_stored(3, c[3], 64);
    const __m512 vdw = w.scales(b);
    for (int g = 0; g < G; ++g) {
      const TokenRows& xg = x[g * nb + b];
      for (int t = 0; t < 16; ++t) {  // step(), with the accumulators in memory
        const __m512 d = _mm512_mul_ps(vdw, _mm512_set1_ps(xg.d[t]));
        const __m512 isum = _mm512_cvtepi32_ps(_mm512_load_si512(c[g][t]));
        _mm512_store_ps(acc[g][t], _mm512_fmadd_ps(d, isum, _mm512_load_ps(acc[g][t])));
      }
    }
  }
  for (int t = 0; t < n; ++t) _mm512_storeu_ps(out + t * os, _mm512_load_ps(acc[t / 16][t % 16]));
}
#undef IG_X16_PRODUCT
#undef IG_X16_DP

template <typename Unit>
void gemm_x16(const Unit* w, int64_t groups, const TokenRows* x, int n, int64_t nb, float* out, int64_t os) {
  thread_local std::vector<Line64> v;
  v.resize(size_t(nb * kBRows));
  const int tgroups = (n + kTileTokens - 1) / kTileTokens;
  for (int64_t g = 0; g < groups; ++g) {
    GroupB<Unit> wg{w + g * nb, v.data()};
    if constexpr (!GroupB<Unit>::kQ8) prepare_group(wg.u, nb, v.data());
    // Token groups two to four at a time (a partial last one among them: a verifier's passes
    // end in one), then a last single group alone.
    int tg = 0;
    for (; tgroups - tg >= 2; tg += std::min(4, tgroups - tg)) {
      const int G = std::min(4, tgroups - tg), t0 = tg * kTileTokens;
      tile_groups(wg, x + tg * nb, G, std::min(G * kTileTokens, n - t0), nb, out + t0 * os + 16 * g, os);
      wg.prefetch_next = false;
    }
    if (tg < tgroups) {
      const int t0 = tg * kTileTokens;
      tile_group(wg, x + tg * nb, n - t0, nb, out + t0 * os + 16 * g, os);
    }
  }
}

void q4_0x16_gemm(const BlockQ4_0x16* w, int64_t groups, const TokenRows* x, int n, int64_t nb, float* out,
                  int64_t os) {
  gemm_x16(w, groups, x, n, nb, out, os);
}
void q8_0x16_gemm(const BlockQ8_0x16* w, int64_t groups, const TokenRows* x, int n, int64_t nb, float* out,
                  int64_t os) {
  gemm_x16(w, groups, x, n, nb, out, os);
}

}  // namespace

void add_x16_gemm(DotTable& t) {
  t.q4_0x16_gemm = q4_0x16_gemm;
  t.q8_0x16_gemm = q8_0x16_gemm;
}

}  // namespace ig::kernels::cpu
