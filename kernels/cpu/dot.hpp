// Row-times-activations dot kernels of the fast CPU backend, chosen once at
// run time (AVX2/FMA/F16C, AVX-VNNI, AVX-512, AMX, or portable scalar).
//
// The f32/f16 kernels multiply ONE weight row with n activation rows (1..kDenseTokens); the
// q8_0/q4_0 kernels take any number of rows and tokens. Every x86 variant (AVX2,
// AVX-VNNI, AVX-512) gives bitwise the same results, so exact verification
// works across any x86 machine with AVX2.
// For every activation row the sequence of floating-point operations is the
// same whatever n is: the n-token form only shares the weight loads. This is
// what makes a prefill batch bitwise equal to token-by-token evaluation.
#pragma once

#include <cstdint>

#include "kernels/formats.hpp"
#include "kernels/kquants.hpp"
#include "kernels/q5_formats.hpp"

namespace ig::kernels::cpu {

inline constexpr int kDenseTokens = 4;
// Up to this many tokens (a miner's batched decode) the Q8_0/Q4_0/Q5_0 matmuls take the gemv
// kernels, which stream the weights; from here on the AMX tiles (prefill).
inline constexpr int kGemvTokens = 4;

// 64 bytes of floats on a cache line: the gemm kernels' scratch and activation copies, whose
// 512-bit loads would otherwise each split over two lines.
struct alignas(64) Line64 {
  float v[16];
};

// One block of up to kTileTokens tokens' Q8_0 activations in the AMX B-operand layout
// (pack_token_tiles): qs[k][4n + j] = quant 4k + j of token n, so a tile row k holds the four
// consecutive quants of every token. Tokens past the group's end are zero.
inline constexpr int kTileTokens = 16;
struct alignas(64) TokenTile {
  int8_t qs[8][64];
  float d[kTileTokens];      // each token's scale
  int32_t corr[kTileTokens];  // -8 * (sum of the token's 32 quants): Q4_0's offset correction
  int32_t corr5[kTileTokens];  // -16 * (the same sum): Q5_0's
};
// One super-block of up to kTileTokens tokens' Q8_K activations for the AMX Q4_K kernel
// (pack_k_token_tiles): qs[j] is sub-block j in the TokenTile layout, bsum[p] holds each token's
// 32-value sums of sub-blocks 2p and 2p + 1 as an int16 pair (lane t: low half 2p), d the scales.
// bsum16[j] holds the 16-value sums of sub-block j's halves as an int16 pair (Q6_K's groups).
struct alignas(64) KTokenTile {
  int8_t qs[8][8][64];
  int16_t bsum[4][2 * kTileTokens];
  int16_t bsum16[8][2 * kTileTokens];
  float d[kTileTokens];
};

// One block of up to kTileTokens tokens' Q8_0 activations as rows (pack_token_rows): the A
// operand of the Layout::Interleaved16 tile kernels. qs[t][0..32) = token t's quants;
// qs[t][32..36) = four digits c0..c3 of its Q4_0 offset correction -8 * sum(quants) =
// 128 * (c0 + c1 + c2) + 8 * c3 (c3 in 0..15), which the Q4_0 tile product multiplies by the
// weights' constant row (128, 128, 128, 8) and so adds exactly; the rest of the row is 0. Each
// row fills a cache line (tile loads of rows split over two lines were 5% slower on Q8_0
// prefill). d[t] = its scale. Tokens past the group's end are all 0.
inline constexpr int kTokenRowBytes = 36;  // of each row, what the products read
struct alignas(64) TokenRows {
  int8_t qs[kTileTokens][64];
  float d[kTileTokens];
};

struct DotTable {
  const char* name;
  // out[t*os] = dot(w[0..cols), x[t*xs + 0..cols)) for t < n
  void (*f32)(const float* w, const float* x, int64_t xs, int n, int64_t cols, float* out,
              int64_t os);
  void (*f16)(const uint16_t* w, const float* x, int64_t xs, int n, int64_t cols, float* out,
              int64_t os);
  // Quantized weights, numerics cpu/3: nr rows (ws blocks apart) times n activation rows
  // quantized to Q8_0 (xs blocks apart, nb blocks each), out[t*os + r] for row r, token t. For
  // each (row, token): acc = 0; per block b in order, acc = fma(dw*dx, float(isum_b), acc),
  // where isum_b is the block's exact int32 dot (q8_row / q4_row in dot_scalar.cpp).
  void (*q8_0)(const BlockQ8_0* w, int64_t ws, int nr, const BlockQ8_0* x, int64_t xs, int n, int64_t nb,
               float* out, int64_t os);
  void (*q4_0)(const BlockQ4_0* w, int64_t ws, int nr, const BlockQ8_0* x, int64_t xs, int n, int64_t nb,
               float* out, int64_t os);
  // Optional (null without AMX-INT8): the same products on AMX tiles, bitwise equal to q8_0/q4_0.
  // nr rows (a multiple of 16, ws blocks apart) times n tokens packed by pack_token_tiles (group
  // g's block b at x[g*nb + b]), out[t*os + r]. Each calling thread configures its tiles.
  void (*q8_0_gemm)(const BlockQ8_0* w, int64_t ws, int64_t nr, const TokenTile* x, int n, int64_t nb,
                    float* out, int64_t os);
  void (*q4_0_gemm)(const BlockQ4_0* w, int64_t ws, int64_t nr, const TokenTile* x, int n, int64_t nb,
                    float* out, int64_t os);
  // Optional (null without AVX-512): decode, n (1..kGemvTokens) tokens, bitwise q8_0/q4_0. nr
  // rows (a multiple of 16, ws blocks apart) times x (token t's nb blocks at x + t*nb),
  // out[t*os + r].
  void (*q8_0_gemv)(const BlockQ8_0* w, int64_t ws, int64_t nr, const BlockQ8_0* x, int n, int64_t nb, float* out,
                    int64_t os);
  void (*q4_0_gemv)(const BlockQ4_0* w, int64_t ws, int64_t nr, const BlockQ8_0* x, int n, int64_t nb, float* out,
                    int64_t os);
  // Q5_0 likewise, bitwise the KQuantTable's q5_0.
  void (*q5_0_gemv)(const BlockQ5_0* w, int64_t ws, int64_t nr, const BlockQ8_0* x, int n, int64_t nb, float* out,
                    int64_t os);
  // Q5_0 (the K-quant mixes' fallback) on the same tiles, bitwise equal to the KQuantTable's
  // q5_0: per block acc = acc + (dx*dw) * float(isum), ggml's loop form (dot_kquants.hpp).
  void (*q5_0_gemm)(const BlockQ5_0* w, int64_t ws, int64_t nr, const TokenTile* x, int n, int64_t nb,
                    float* out, int64_t os);
  // Optional (null without AMX-INT8): Q4_K rows (a multiple of 16, ws super-blocks apart) times n
  // tokens packed by pack_k_token_tiles, out[t*os + r]; bitwise the KQuantTable's q4_k.
  void (*q4_k_gemm)(const BlockQ4_K* w, int64_t ws, int64_t nr, const KTokenTile* x, int n, int64_t nb,
                    float* out, int64_t os);
  // The same for Q5_K and Q6_K, bitwise the KQuantTable's q5_k / q6_k.
  void (*q5_k_gemm)(const BlockQ5_K* w, int64_t ws, int64_t nr, const KTokenTile* x, int n, int64_t nb,
                    float* out, int64_t os);
  void (*q6_k_gemm)(const BlockQ6_K* w, int64_t ws, int64_t nr, const KTokenTile* x, int n, int64_t nb,
                    float* out, int64_t os);
  // Optional (null without AVX-512): nr rows of `cols` elements (row r at w + r*cols) times n
  // tokens, out[t*os + r]; bitwise the same as f32/f16 on each row and token. Fastest with x
  // 64-byte aligned and xs a multiple of 16.
  void (*f32_gemm)(const float* w, int64_t nr, const float* x, int64_t xs, int n, int64_t cols,
                   float* out, int64_t os);
  void (*f16_gemm)(const uint16_t* w, int64_t nr, const float* x, int64_t xs, int n, int64_t cols,
                   float* out, int64_t os);
  // plain dot of two float vectors (attention scores, RMS)
  float (*dot)(const float* a, const float* b, int64_t n);
  // quantize_row_q8_0 and q8_lane_sums below, vectorized; bitwise the same results.
  void (*quantize_q8_0)(const float* x, int64_t cols, BlockQ8_0* out);
  void (*lane_sums)(const BlockQ8_0* x, int64_t nb, int32_t* out);
  // Optional (null without AVX-512): decode on Layout::Interleaved16, bitwise q4_0 / q8_0.
  // `groups` groups of 16 rows (group g's nb units at w + g*nb) times n (1..kGemvTokens) tokens
  // (token t's nb blocks at x + t*nb), out[t*os + 16g + r] for row r of group g.
  void (*q4_0x16_gemv)(const BlockQ4_0x16* w, int64_t groups, const BlockQ8_0* x, int n, int64_t nb, float* out,
                       int64_t os);
  void (*q8_0x16_gemv)(const BlockQ8_0x16* w, int64_t groups, const BlockQ8_0* x, int n, int64_t nb, float* out,
                       int64_t os);
  // Optional (null without AMX-INT8): the same for any number of tokens on AMX tiles (prefill),
  // the tokens packed by pack_token_rows (group g's block b at x[g*nb + b]).
  void (*q4_0x16_gemm)(const BlockQ4_0x16* w, int64_t groups, const TokenRows* x, int n, int64_t nb, float* out,
                       int64_t os);
  void (*q8_0x16_gemm)(const BlockQ8_0x16* w, int64_t groups, const TokenRows* x, int n, int64_t nb, float* out,
                       int64_t os);
  // Elementwise, vectorized (expf_x86.hpp) and bitwise the C library's expf (the scalar table
  // calls it): x[i] = expf(x[i]) in place; SwiGLU out[i] = g / (1 + expf(-g)) * up[i] for
  // g = gate[i], the operations of scalar::swiglu.
  void (*exp_f32)(float* x, int64_t n);
  void (*swiglu)(const float* gate, const float* up, int64_t n, float* out);
  // y[i] = y[i] + a * x[i], the product rounded before the sum (no FMA): attention's weighted
  // sum of values, element by element as the scalar loop.
  void (*axpy)(float a, const float* x, int64_t n, float* y);
};

const DotTable& scalar_table();
const DotTable& avx2_table();     // only valid when cpu_has_avx2()
const DotTable& avxvnni_table();  // only valid when cpu_has_avx2() and cpu_has_avxvnni()
const DotTable& avx512_table();   // only valid when cpu_has_avx2() and cpu_has_avx512()
// avx512_table with the shift-and-mask nibble kernels whatever the CPU (what avx512_table has on
// CPUs without GFNI), so that a CPU with GFNI tests them too.
const DotTable& avx512_table_without_gfni();
// avx512_table with the AMX-INT8 gemm kernels; only valid when cpu_has_amx() and cpu_has_gfni() too.
const DotTable& avx512_amx_table();
bool cpu_has_avxvnni();
bool cpu_has_avx512f();
bool cpu_has_avx512vnni();
bool cpu_has_gfni();  // GF2P8AFFINEQB: the avx512 table's Q4_0 gemm uses it where present
// AVX-512F, BW, VL and AVX512-VNNI: what the avx512 table needs (not AVX-VNNI, whose VEX
// dpbusd it replaces by the EVEX one).
bool cpu_has_avx512();
// AMX-TILE and AMX-INT8, and the kernel's permission to use their tile state (asked for once,
// for the whole process, with arch_prctl(ARCH_REQ_XCOMP_PERM)).
bool cpu_has_amx();
const DotTable& best_table();

// Activation quantization as in llama.cpp (ggml's quantize_row_q8_0_ref): d = max|x|/127,
// id = 1/d (0 when d is 0), q = lroundf(x*id) (half away from zero), d stored as fp16.
void quantize_row_q8_0(const float* x, int64_t cols, BlockQ8_0* out);
// out[8*b + i] = -8 * (qs[4i] + qs[4i+1] + qs[4i+2] + qs[4i+3]) of block b.
void q8_lane_sums(const BlockQ8_0* x, int64_t nb, int32_t* out);
// Packs n tokens' Q8_K activations (n rows of nb super-blocks) into ceil(n/16) groups:
// out[g*nb + b] (KTokenTile). Defined with the AMX kernels; only for the avx512-amx table.
void pack_k_token_tiles(const BlockQ8_K* x, int n, int64_t nb, KTokenTile* out);
void q4_k_gemm_amx(const BlockQ4_K* w, int64_t ws, int64_t nr, const KTokenTile* x, int n, int64_t nb, float* out,
                   int64_t os);
void q5_k_gemm_amx(const BlockQ5_K* w, int64_t ws, int64_t nr, const KTokenTile* x, int n, int64_t nb, float* out,
                   int64_t os);
void q6_k_gemm_amx(const BlockQ6_K* w, int64_t ws, int64_t nr, const KTokenTile* x, int n, int64_t nb, float* out,
                   int64_t os);

// Packs n tokens' activations (x: n rows of nb blocks) into ceil(n/16) groups of 16 tokens:
// out[g*nb + b] holds block b of tokens 16g..16g+15 (see TokenTile).
void pack_token_tiles(const BlockQ8_0* x, int n, int64_t nb, TokenTile* out);
// Packs tokens [g0*16, min(n, g1*16)) of n tokens' activations (n rows of nb blocks) as token
// groups g0..g1 of ceil(n/16): out[g*nb + b] holds block b of tokens 16g..16g+15 (TokenRows).
void pack_token_rows(const BlockQ8_0* x, int n, int64_t nb, int g0, int g1, TokenRows* out);
// Sets t.q4_0x16_gemm and t.q8_0x16_gemm (gemm_amx_x16.cpp); for the avx512-amx table.
void add_x16_gemm(DotTable& t);

}  // namespace ig::kernels::cpu
