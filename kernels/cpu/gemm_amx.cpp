// Q8_0/Q4_0 matmul on AMX-INT8 tiles (Sapphire Rapids and later), numerics cpu/3: bitwise the
// q8_0/q4_0 kernels of every x86 variant (dot_x86_impl.hpp) and the scalar form (dot_scalar.cpp).
// Compiled with -mamx-tile -mamx-int8 and the AVX-512 flags; only called when cpu_has_amx().
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
// GCC 12's AVX-512 headers trip its own -Wmaybe-uninitialized (GCC bug 105593, fixed in 13),
// silenced for the header only, as in dot_x86_impl.hpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/cpu/dot.hpp"
#include "kernels/cpu/nibbles_x86.hpp"

namespace ig::kernels::cpu {
namespace {

// LDTILECFG's 64-byte operand, palette 1.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// Tiles 0/1: C of blocks b and b+1 (16 rows x n int32); 2/3: A (16 rows x 32 bytes);
// 4/5: B (8 rows x 4n bytes); 7: the rows' scale words (row_scales). Two blocks in flight let
// one tile product run while the other's results go through the float step.
void configure(int n) {
  thread_local int configured = 0;  // the tile configuration is per thread
  if (configured == n) return;
  TileConfig c;
  for (int t = 0; t < 2; ++t) {
    c.rows[t] = 16, c.colsb[t] = uint16_t(4 * n);
    c.rows[2 + t] = 16, c.colsb[2 + t] = 32;
    c.rows[4 + t] = 8, c.colsb[4 + t] = uint16_t(4 * n);
  }
  c.rows[7] = 16, c.colsb[7] = 4;
  _tile_loadconfig(&c);
  configured = n;
}

// The 16 rows' scales of every block as floats, dw[b * 16 + i] for row i. Each block starts with
// its fp16 scale: tile 7 (16 rows x 4 bytes) loads those words of the 16 rows with the row
// stride in one instruction, where a gather would wait on 16 separate loads.
template <typename Block>
void row_scales(const Block* w, int64_t ws, int64_t nb, float* dw) {
  alignas(64) int32_t words[16];
  for (int64_t b = 0; b < nb; ++b) {
    _tile_loadd(7, w + b, ws * int64_t(sizeof(Block)));
    _tile_stored(7, words, 4);
    _mm512_store_ps(dw + b * 16, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_load_si512(words))));
  }
}

// Q4_0 nibbles of 16 rows as the unsigned A operand, u[b * 512 + 32 * i + k] = value k of row
// i in block b, plus 8 (low nibbles are values 0..15, high ones 16..31).
void unpack_q4(const BlockQ4_0* w, int64_t ws, int64_t nb, uint8_t* u) {
  for (int64_t b = 0; b < nb; ++b)
    for (int i = 0; i < 16; i += 2)
      _mm512_store_si512(u + b * 512 + 32 * i, nibbles2(w[i * ws + b].qs, w[(i + 1) * ws + b].qs));
}

// GCC's tile intrinsics paste the tile number into the instruction text, so each tile set is
// spelled out with literal numbers: slot 0 uses tiles C0/A2/B4, slot 1 C1/A3/B5.
#define IG_Q8_PRODUCT(C, A, B)                                               \
  _tile_zero(C);                                                             \
  _tile_loadd(A, w[b].qs, ws * int64_t(sizeof(BlockQ8_0)));                  \
  _tile_loadd(B, x.qs, 64);                                                  \
  _tile_dpbssd(C, A, B)
#define IG_U_PRODUCT(C, A, B, CORR)                                           \
  _tile_loadd(C, x.CORR, 0); /* every row starts from the tokens' corrections */ \
  _tile_loadd(A, u + b * 512, 32);                                           \
  _tile_loadd(B, x.qs, 64);                                                  \
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
      _mm512_store_si512(u + b * 512 + 32 * i, _mm512_or_si512(nibbles2(r0.qs, r1.qs), high));
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

// The next row tile's weights (one contiguous run of rows) are prefetched into L2 a share per
// block while this tile computes, so decode streams them instead of stalling at each tile.
struct Prefetch {
  const char* p = nullptr;
  int64_t share = 0;  // bytes per block, whole cache lines
  void block(int64_t b) const {
    for (int64_t o = b * share; o < (b + 1) * share; o += 64) _mm_prefetch(p + o, _MM_HINT_T1);
  }
};

// 16 rows x one group of n (1..16) tokens, x = the group's nb TokenTiles.
template <typename Step, typename Tiles>
void tile_group(const Tiles& tiles, const float* dw, const TokenTile* x, int n, int64_t nb, float* out,
                int64_t os, const Prefetch& pf) {
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
  alignas(64) float res[16][16];
  for (int i = 0; i < 16; ++i) _mm512_store_ps(res[i], acc[i]);
  for (int t = 0; t < n; ++t)
    for (int i = 0; i < 16; ++i) out[t * os + i] = res[i][t];
}

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
    configure(std::min(n, kTileTokens));
    row_scales(wt, ws, nb, dw.data()->v);
    Prefetch pf;
    if (r0 + 32 <= nr) {
      pf.p = reinterpret_cast<const char*>(wt + 16 * ws);
      pf.share = (16 * ws * int64_t(sizeof(Block)) + 64 * nb - 1) / (64 * nb) * 64;
    }
    for (int g = 0; g < groups; ++g) {
      const int ng = std::min(kTileTokens, n - g * kTileTokens);
      float* o = out + int64_t(g * kTileTokens) * os + r0;
      auto* ub = reinterpret_cast<uint8_t*>(u.data());
      if constexpr (kQ8) {
        tile_group<Step>(Tiles{wt, ws}, dw.data()->v, x + g * nb, ng, nb, o, os, pf);
      } else {
        if (g == 0) {
          if constexpr (kQ5) unpack_q5(wt, ws, nb, ub);
          else unpack_q4(wt, ws, nb, ub);
        }
        tile_group<Step>(Tiles{ub}, dw.data()->v, x + g * nb, ng, nb, o, os, pf);
      }
      pf = Prefetch{};  // the first group brought the next tile in
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
    return a;
  }();
  return t;
}

}  // namespace ig::kernels::cpu
