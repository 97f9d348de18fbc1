// Q8_0/Q4_0 matmul on AMX-INT8 tiles (Sapphire Rapids and later), numerics cpu/3: bitwise the
// q8_0/q4_0 kernels of every x86 variant (dot_x86_impl.hpp) and the scalar form (dot_scalar.cpp).
// Compiled with -mamx-tile -mamx-int8, -mgfni and the AVX-512 flags; only called when
// cpu_has_amx() and cpu_has_gfni() (every AMX CPU so far has GFNI).
//
// One tile product gives what cpu/3 needs, the exact int32 dot of each 32-block: for 16 weight
// rows and up to 16 tokens of one block b,
//   C[row][token] = sum_k A[row][k] * B[k][token]   (TDPBSSD; Q4_0: TDPBUSD)
// with A = the 16 rows' 32 quants of block b (Q8_0: loaded straight from the GGUF blocks with
// the row stride; Q4_0: its nibbles unpacked once per row tile) and B = the tokens' quants of
// block b in the VNNI layout (TokenTile, packed once per matmul). Q4_0's values are nibble - 8:
// C starts from -8 * sum(x) of each token (TokenTile::corr), the exact correction. Then per
// (row, token), in block order, acc = fma(dw * dx, float(C), acc): the same float operations as
// every other cpu/3 kernel, vectorized over tokens (or over rows for one token).
//
// Intel's AMX reference: Intel 64 and IA-32 Architectures Software Developer's Manual, vol. 1
// ch. 18 ("Programming with Intel AMX"), and the TDPBSSD/TDPBUSD/TILELOADD entries of vol. 2.
#include "kernels/cpu/intrinsics.hpp"  // <immintrin.h>, GCC 12 warnings silenced

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/cpu/amx_tiles.hpp"
#include "kernels/cpu/dot.hpp"
#include "kernels/cpu/nibbles_x86.hpp"

namespace ig::kernels::cpu {
namespace {

// Two tile layouts. For one group of n (1..16) tokens (tile_group): tiles 0/1 hold C of blocks
// b and b+1 (16 rows x n int32), 2/3 A (16 rows x 32 bytes), 4/5 B (8 rows x 4n bytes), so one
// tile product runs while the other's results go through the float step. For 2..4 full groups
// (kGroups, tile_groups): 0..3 hold C of each group for one block, 4 the block's A, 5/6 the
// groups' B in turn.
constexpr int kGroups = 0;
void configure(int layout) {
  amx::TileConfig c;
  if (layout == kGroups) {
    for (int t = 0; t < 4; ++t) c.rows[t] = 16, c.colsb[t] = 64;
    c.rows[4] = 16, c.colsb[4] = 32;
    c.rows[5] = c.rows[6] = 8, c.colsb[5] = c.colsb[6] = 64;
  } else {
    const int n = layout;
    for (int t = 0; t < 2; ++t) {
      c.rows[t] = 16, c.colsb[t] = uint16_t(4 * n);
      c.rows[2 + t] = 16, c.colsb[2 + t] = 32;
      c.rows[4 + t] = 8, c.colsb[4 + t] = uint16_t(4 * n);
    }
  }
  amx::use_layout(c);
}

// The 16 rows' scales of every block as floats, dw[b * 16 + i] for row i: sixteen independent
// 2-byte loads per block (a tile load and store per block, tried first, serialized on the one
// tile register; a gather waits on its 16 loads), then one conversion.
template <typename Block>
void row_scales(const Block* w, int64_t ws, int64_t nb, float* dw) {
  alignas(32) uint16_t h[16];
  for (int64_t b = 0; b < nb; ++b) {
    for (int i = 0; i < 16; ++i) h[i] = w[i * ws + b].d;
    _mm512_store_ps(dw + b * 16, _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(h))));
  }
}

// Q4_0 nibbles of 16 rows as the unsigned A operand, u[b * 512 + 32 * i + k] = value k of row
// i in block b, plus 8 (low nibbles are values 0..15, high ones 16..31).
void unpack_q4(const BlockQ4_0* w, int64_t ws, int64_t nb, uint8_t* u) {
  for (int64_t b = 0; b < nb; ++b)
    for (int i = 0; i < 16; i += 2)
      _mm512_store_si512(u + b * 512 + 32 * i, nibbles2_gfni(w[i * ws + b].qs, w[(i + 1) * ws + b].qs));
}

// GCC's tile intrinsics paste the tile number into the instruction text, so each tile set is
// spelled out with literal numbers: slot 0 uses tiles C0/A2/B4, slot 1 C1/A3/B5.
#define IG_Q8_PRODUCT(C, A, B)                                               \
  _tile_zero(C);                                                             \
  IG_TILE_LOADD(A, w[b].qs, ws * int64_t(sizeof(BlockQ8_0)));                  \
  IG_TILE_LOADD(B, x.qs, 64);                                                  \
  _tile_dpbssd(C, A, B)
#define IG_U_PRODUCT(C, A, B, CORR)                                           \
  IG_TILE_LOADD(C, x.CORR, 0); /* every row starts from the tokens' corrections */ \
  IG_TILE_LOADD(A, u + b * 512, 32);                                           \
  IG_TILE_LOADD(B, x.qs, 64);                                                  \
  _tile_dpbusd(C, A, B)

// Q5_0 values q (0..31, value q - 16) as the unsigned A operand, laid out as unpack_q4: the
// nibbles with bit i of qh as bit 4 of value i.
void unpack_q5(const BlockQ5_0* w, int64_t ws, int64_t nb, uint8_t* u) {
  const __m512i bit4 = _mm512_set1_epi8(0x10);
  for (int64_t b = 0; b < nb; ++b)
    for (int i = 0; i < 16; i += 2) {
      const BlockQ5_0& r0 = w[i * ws + b];
      const BlockQ5_0& r1 = w[(i + 1) * ws + b];
      uint32_t h0, h1;
      std::memcpy(&h0, r0.qh, 4);
      std::memcpy(&h1, r1.qh, 4);
      const __m512i high = _mm512_maskz_mov_epi8(__mmask64(h0) | (__mmask64(h1) << 32), bit4);
      _mm512_store_si512(u + b * 512 + 32 * i, _mm512_or_si512(nibbles2_gfni(r0.qs, r1.qs), high));
    }
}

struct Q8Tiles {
  const BlockQ8_0* w;
  int64_t ws;
  void product0(const TokenTile& x, int64_t b) const { IG_Q8_PRODUCT(0, 2, 4); }
  void product1(const TokenTile& x, int64_t b) const { IG_Q8_PRODUCT(1, 3, 5); }
};
struct Q4Tiles {
  const uint8_t* u;  // unpack_q4
  void product0(const TokenTile& x, int64_t b) const { IG_U_PRODUCT(0, 2, 4, corr); }
  void product1(const TokenTile& x, int64_t b) const { IG_U_PRODUCT(1, 3, 5, corr); }
};
struct Q5Tiles {
  const uint8_t* u;  // unpack_q5
  void product0(const TokenTile& x, int64_t b) const { IG_U_PRODUCT(0, 2, 4, corr5); }
  void product1(const TokenTile& x, int64_t b) const { IG_U_PRODUCT(1, 3, 5, corr5); }
};
#undef IG_Q8_PRODUCT
#undef IG_U_PRODUCT

// The float step of one block: cpu/3's fma, or ggml's loop form for Q5_0 (a product, then an
// add: the KQuantTable's q5_0).
struct FmaStep {
  static __m512 apply(__m512 d, __m512 isum, __m512 acc) { return _mm512_fmadd_ps(d, isum, acc); }
};
struct MulAddStep {
  static __m512 apply(__m512 d, __m512 isum, __m512 acc) { return _mm512_add_ps(acc, _mm512_mul_ps(d, isum)); }
};

// One token: C (16 rows x 1) is a vector over rows.
template <typename Step>
inline void step_one(const int32_t* c, const float* dw, float dx, __m512& acc) {
  const __m512 d = _mm512_mul_ps(_mm512_load_ps(dw), _mm512_set1_ps(dx));
  acc = Step::apply(d, _mm512_cvtepi32_ps(_mm512_load_si512(c)), acc);
}
// Several tokens: row i of C is a vector over tokens.
template <typename Step>
inline void step_many(const int32_t (*c)[16], const float* dw, const float* dx, __m512 (&acc)[16]) {
  const __m512 vdx = _mm512_load_ps(dx);
  for (int i = 0; i < 16; ++i) {
    const __m512 d = _mm512_mul_ps(_mm512_set1_ps(dw[i]), vdx);
    acc[i] = Step::apply(d, _mm512_cvtepi32_ps(_mm512_load_si512(c[i])), acc[i]);
  }
}


// 16 rows x one group of n (1..16) tokens, x = the group's nb TokenTiles.
template <typename Step, typename Tiles>
void tile_group(const Tiles& tiles, const float* dw, const TokenTile* x, int n, int64_t nb, float* out,
                int64_t os, const amx::Prefetch& pf) {
  configure(n);
  alignas(64) int32_t c0[16][16], c1[16][16];
  const int64_t cs = n == 1 ? 4 : 64;  // one token: C stored as one vector over rows
  if (n == 1) {
    __m512 acc = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
      pf.block(b), pf.block(b + 1);
      tiles.product0(x[b], b);
      tiles.product1(x[b + 1], b + 1);
      _tile_stored(0, c0, cs);
      _tile_stored(1, c1, cs);
      step_one<Step>(c0[0], dw + b * 16, x[b].d[0], acc);
      step_one<Step>(c1[0], dw + (b + 1) * 16, x[b + 1].d[0], acc);
    }
    if (b < nb) {
      pf.block(b);
      tiles.product0(x[b], b);
      _tile_stored(0, c0, cs);
      step_one<Step>(c0[0], dw + b * 16, x[b].d[0], acc);
    }
    _mm512_storeu_ps(out, acc);
    return;
  }
  __m512 acc[16];
  for (auto& a : acc) a = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    pf.block(b), pf.block(b + 1);
    tiles.product0(x[b], b);
    tiles.product1(x[b + 1], b + 1);
    _tile_stored(0, c0, cs);
    _tile_stored(1, c1, cs);
    step_many<Step>(c0, dw + b * 16, x[b].d, acc);
    step_many<Step>(c1, dw + (b + 1) * 16, x[b + 1].d, acc);
  }
  if (b < nb) {
    pf.block(b);
    tiles.product0(x[b], b);
    _tile_stored(0, c0, cs);
    step_many<Step>(c0, dw + b * 16, x[b].d, acc);
  }
  amx::store_by_token(acc, n, out, os);
}

// Several tokens, accumulators in memory (tile_groups: four groups' 16 rows do not fit the
// registers); the same operations as step_many.
template <typename Step>
inline void step_many_mem(const int32_t (*c)[16], const float* dw, const float* dx, float (*acc)[16]) {
  const __m512 vdx = _mm512_load_ps(dx);
  for (int i = 0; i < 16; ++i) {
    const __m512 d = _mm512_mul_ps(_mm512_set1_ps(dw[i]), vdx);
    _mm512_store_ps(acc[i], Step::apply(d, _mm512_cvtepi32_ps(_mm512_load_si512(c[i])), _mm512_load_ps(acc[i])));
  }
}

// 16 rows x G (2..4) full groups of 16 tokens, block by block: the block's A tile is loaded once
// for every group and the G tile products are independent, so they overlap. LOAD_A fills tile
// 4, INIT(C, x) starts C from zero or the corrections, DP(C, A, B) is the tile product.
#define IG_TILE_GROUPS(LOAD_A, INIT, DP)                                                         \
  configure(kGroups);                                                                          \
  alignas(64) int32_t c[4][16][16];                                                            \
  alignas(64) float acc[4][16][16] = {};                                                       \
  for (int64_t b = 0; b < nb; ++b) {                                                           \
    pf.block(b);                                                                               \
    LOAD_A;                                                                                    \
    INIT(0, x[b]);                                                                             \
    IG_TILE_LOADD(5, x[b].qs, 64);                                                               \
    DP(0, 4, 5);                                                                               \
    INIT(1, x[nb + b]);                                                                        \
    IG_TILE_LOADD(6, x[nb + b].qs, 64);                                                          \
    DP(1, 4, 6);                                                                               \
    if (G > 2) {                                                                               \
      INIT(2, x[2 * nb + b]);                                                                  \
      IG_TILE_LOADD(5, x[2 * nb + b].qs, 64);                                                    \
      DP(2, 4, 5);                                                                             \
    }                                                                                          \
    if (G > 3) {                                                                               \
      INIT(3, x[3 * nb + b]);                                                                  \
      IG_TILE_LOADD(6, x[3 * nb + b].qs, 64);                                                    \
      DP(3, 4, 6);                                                                             \
    }                                                                                          \
    _tile_stored(0, c[0], 64);                                                                 \
    _tile_stored(1, c[1], 64);                                                                 \
    if (G > 2) _tile_stored(2, c[2], 64);                                                      \
    if (G > 3) _tile_stored(3, c[3], 64);                                                      \
    for (int g = 0; g < G; ++g) step_many_mem<Step>(c[g], dw + b * 16, x[g * nb + b].d, acc[g]); \
  }                                                                                            \
  for (int g = 0; g < G; ++g)                                                                  \
    for (int t = 0; t < 16; ++t)                                                               \
      for (int i = 0; i < 16; ++i) out[(16 * g + t) * os + i] = acc[g][i][t]
#define IG_ZERO_C(C, xt) _tile_zero(C)
#define IG_CORR_C(C, xt) IG_TILE_LOADD(C, (xt).corr, 0)
#define IG_CORR5_C(C, xt) IG_TILE_LOADD(C, (xt).corr5, 0)

template <typename Step>
void tile_groups(const Q8Tiles& t, const float* dw, const TokenTile* x, int G, int64_t nb, float* out, int64_t os,
                 const amx::Prefetch& pf) {
  const BlockQ8_0* w = t.w;
  const int64_t stride = t.ws * int64_t(sizeof(BlockQ8_0));
  IG_TILE_GROUPS(IG_TILE_LOADD(4, w[b].qs, stride), IG_ZERO_C, _tile_dpbssd);
}
template <typename Step>
void tile_groups(const Q4Tiles& t, const float* dw, const TokenTile* x, int G, int64_t nb, float* out, int64_t os,
                 const amx::Prefetch& pf) {
  IG_TILE_GROUPS(IG_TILE_LOADD(4, t.u + b * 512, 32), IG_CORR_C, _tile_dpbusd);
}
template <typename Step>
void tile_groups(const Q5Tiles& t, const float* dw, const TokenTile* x, int G, int64_t nb, float* out, int64_t os,
                 const amx::Prefetch& pf) {
  IG_TILE_GROUPS(IG_TILE_LOADD(4, t.u + b * 512, 32), IG_CORR5_C, _tile_dpbusd);
}
#undef IG_TILE_GROUPS
#undef IG_ZERO_C
#undef IG_CORR_C
#undef IG_CORR5_C

template <typename Block>
void gemm(const Block* w, int64_t ws, int64_t nr, const TokenTile* x, int n, int64_t nb, float* out, int64_t os) {
  constexpr bool kQ8 = std::is_same_v<Block, BlockQ8_0>, kQ5 = std::is_same_v<Block, BlockQ5_0>;
  using Step = std::conditional_t<kQ5, MulAddStep, FmaStep>;
  using Tiles = std::conditional_t<kQ8, Q8Tiles, std::conditional_t<kQ5, Q5Tiles, Q4Tiles>>;
  thread_local std::vector<Line64> dw, u;
  dw.resize(size_t(nb));  // 16 floats per block
  if constexpr (!kQ8) u.resize(size_t(nb) * 8);  // 512 bytes per block
  const int groups = (n + kTileTokens - 1) / kTileTokens;
  for (int64_t r0 = 0; r0 + 16 <= nr; r0 += 16) {
    const Block* wt = w + r0 * ws;
    row_scales(wt, ws, nb, dw.data()->v);
    amx::Prefetch pf = r0 + 32 <= nr ? amx::Prefetch::next_tile(wt, ws, nb) : amx::Prefetch{};
    auto* ub = reinterpret_cast<uint8_t*>(u.data());
    Tiles tiles;
    if constexpr (kQ8) {
      tiles = Tiles{wt, ws};
    } else {
      if constexpr (kQ5) unpack_q5(wt, ws, nb, ub);
      else unpack_q4(wt, ws, nb, ub);
      tiles = Tiles{ub};
    }
    // Full groups two to four at a time, then what is left one group at a time.
    const int full = n / kTileTokens;
    int g = 0;
    for (; full - g >= 2; g += std::min(4, full - g)) {
      const int G = std::min(4, full - g);
      tile_groups<Step>(tiles, dw.data()->v, x + g * nb, G, nb, out + int64_t(g * kTileTokens) * os + r0, os, pf);
      pf = amx::Prefetch{};  // the first pass brought the next tile in
    }
    for (; g < groups; ++g) {
      const int ng = std::min(kTileTokens, n - g * kTileTokens);
      tile_group<Step>(tiles, dw.data()->v, x + g * nb, ng, nb, out + int64_t(g * kTileTokens) * os + r0, os, pf);
      pf = amx::Prefetch{};
    }
  }
}

void q8_0_gemm(const BlockQ8_0* w, int64_t ws, int64_t nr, const TokenTile* x, int n, int64_t nb, float* out,
               int64_t os) {
  gemm(w, ws, nr, x, n, nb, out, os);
}
void q4_0_gemm(const BlockQ4_0* w, int64_t ws, int64_t nr, const TokenTile* x, int n, int64_t nb, float* out,
               int64_t os) {
  gemm(w, ws, nr, x, n, nb, out, os);
}
void q5_0_gemm(const BlockQ5_0* w, int64_t ws, int64_t nr, const TokenTile* x, int n, int64_t nb, float* out,
               int64_t os) {
  gemm(w, ws, nr, x, n, nb, out, os);
}

}  // namespace

const DotTable& avx512_amx_table() {
  static const DotTable t = [] {
    DotTable a = avx512_table();
    a.name = "avx512+vnni+amx";
    a.q8_0_gemm = q8_0_gemm;
    a.q4_0_gemm = q4_0_gemm;
    a.q5_0_gemm = q5_0_gemm;
    a.q4_k_gemm = q4_k_gemm_amx;
    a.q5_k_gemm = q5_k_gemm_amx;
    a.q6_k_gemm = q6_k_gemm_amx;
    add_x16_gemm(a);
    return a;
  }();
  return t;
}

}  // namespace ig::kernels::cpu
