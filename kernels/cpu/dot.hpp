// Row-times-activations dot kernels of the fast CPU backend, chosen once at
// run time (AVX2/FMA/F16C or portable scalar).
//
// Each kernel multiplies ONE weight row with n activation rows (1..kDenseTokens
// for f32/f16, 1..kQuantTokens for q8_0/q4_0). Every x86 variant (AVX2,
// AVX-VNNI, AVX-512) gives bitwise the same results, so exact verification
// works across any x86 machine with AVX2.
// For every activation row the sequence of floating-point operations is the
// same whatever n is: the n-token form only shares the weight loads. This is
// what makes a prefill batch bitwise equal to token-by-token evaluation.
#pragma once

#include <cstdint>

#include "kernels/formats.hpp"

namespace ig::kernels::cpu {

inline constexpr int kDenseTokens = 4;
inline constexpr int kQuantTokens = 4;
inline constexpr int kQuantRows = 2;

// Two tokens' Q8_0 activations for one block, packed for 512-bit lanes:
// token 2p in the low half, 2p+1 in the high half (see pack_pairs).
struct alignas(64) PairBlock {
  int8_t qs[64];
  int32_t init[16];  // -8 * lane sums (q8_lane_sums) of each token
  float d[16];       // each token's scale, repeated over its half
};
inline constexpr int kQuantPairs = 2;
// 64 bytes of floats on a cache line: the gemm kernels' scratch and activation copies, whose
// 512-bit loads would otherwise each split over two lines.
struct alignas(64) Line64 {
  float v[16];
};  // token pairs per q4_0_pairs call

struct DotTable {
  const char* name;
  // out[t*os] = dot(w[0..cols), x[t*xs + 0..cols)) for t < n
  void (*f32)(const float* w, const float* x, int64_t xs, int n, int64_t cols, float* out,
              int64_t os);
  void (*f16)(const uint16_t* w, const float* x, int64_t xs, int n, int64_t cols, float* out,
              int64_t os);
  // Quantized weights: nr (1..kQuantRows) rows, ws blocks apart, times n
  // activation rows quantized to Q8_0 (xs blocks apart, nb blocks each).
  // out[t*os + r] for row r, token t. xsum: per token and block, 8 int32
  // lanes of -8 * (sum of 4 consecutive quants) (q8_lane_sums), same layout
  // as x; used by the Q4_0 VNNI path only.
  void (*q8_0)(const BlockQ8_0* w, int64_t ws, int nr, const BlockQ8_0* x, const int32_t* xsum,
               int64_t xs, int n, int64_t nb, float* out, int64_t os);
  void (*q4_0)(const BlockQ4_0* w, int64_t ws, int nr, const BlockQ8_0* x, const int32_t* xsum,
               int64_t xs, int n, int64_t nb, float* out, int64_t os);
  // Optional (null when the CPU lacks AVX-512 VNNI): Q4_0 rows times np
  // (1..kQuantPairs) packed token pairs, xs pairs' stride in blocks. Bitwise
  // the same as q4_0 on the two tokens separately.
  void (*q4_0_pairs)(const BlockQ4_0* w, int64_t ws, int nr, const PairBlock* x, int64_t xs,
                     int np, int64_t nb, float* out, int64_t os);
  // The same for Q8_0 weights (bitwise equal to q8_0).
  void (*q8_0_pairs)(const BlockQ8_0* w, int64_t ws, int nr, const PairBlock* x, int64_t xs,
                     int np, int64_t nb, float* out, int64_t os);
  // Optional (null without AVX-512 VNNI): the multi-token matmul of nr rows (ws blocks apart)
  // times np packed token pairs (pair p at x + p*nb, packed with the init shift of
  // gemm_init_shift), out[t*os + r]. Bitwise the same as q4_0/q8_0 on each token.
  void (*q4_0_gemm)(const BlockQ4_0* w, int64_t ws, int64_t nr, const PairBlock* x, int np, int64_t nb,
                    float* out, int64_t os);
  void (*q8_0_gemm)(const BlockQ8_0* w, int64_t ws, int64_t nr, const PairBlock* x, int np, int64_t nb,
                    float* out, int64_t os);
  // Optional (null without AVX-512 VNNI): nr rows (contiguous, nb blocks each) times ONE token
  // packed by pack_block_pairs (with gemm_init_shift), out[r]. Bitwise the same as q4_0/q8_0.
  void (*q4_0_gemv)(const BlockQ4_0* w, int64_t nr, const PairBlock* x, int64_t nb, float* out);
  void (*q8_0_gemv)(const BlockQ8_0* w, int64_t nr, const PairBlock* x, int64_t nb, float* out);
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
};

const DotTable& scalar_table();
const DotTable& avx2_table();     // only valid when cpu_has_avx2()
const DotTable& avxvnni_table();  // only valid when cpu_has_avx2() and cpu_has_avxvnni()
const DotTable& avx512_table();   // only valid when cpu_has_avx2() and cpu_has_avx512()
bool cpu_has_avxvnni();
bool cpu_has_avx512f();
bool cpu_has_avx512vnni();
bool cpu_has_gfni();  // GF2P8AFFINEQB: the avx512 table's Q4_0 gemm uses it where present
// AVX-512F, BW, VL and AVX512-VNNI: what the avx512 table needs (not AVX-VNNI, whose VEX
// dpbusd it replaces by the EVEX one).
bool cpu_has_avx512();
const DotTable& best_table();

// Activation quantization as in llama.cpp (ggml's quantize_row_q8_0_ref): d = max|x|/127,
// id = 1/d (0 when d is 0), q = lroundf(x*id) (half away from zero), d stored as fp16.
void quantize_row_q8_0(const float* x, int64_t cols, BlockQ8_0* out);
// out[8*b + i] = -8 * (qs[4i] + qs[4i+1] + qs[4i+2] + qs[4i+3]) of block b.
void q8_lane_sums(const BlockQ8_0* x, int64_t nb, int32_t* out);
// Packs tokens 2p, 2p+1 (x and xsum laid out as for q4_0, nb blocks per token)
// into out[p*nb + b] for p < n_pairs, each init lane shifted left by init_shift.
void pack_pairs(const BlockQ8_0* x, const int32_t* xsum, int64_t nb, int n_pairs, PairBlock* out,
                int init_shift = 0);
// One token's blocks 2j, 2j+1 (x and xsum as for q4_0) into out[j], j < (nb+1)/2, block 2j in
// the low half; a last odd block's pair has a zero high half. Init lanes shifted by init_shift.
void pack_block_pairs(const BlockQ8_0* x, const int32_t* xsum, int64_t nb, PairBlock* out, int init_shift);
// The init shift the gemm kernels expect: Q8_0 weights enter dpbusd as w + 128, so their
// correction is -128 * sum(x) = 16 * (-8 * sum(x)); Q4_0's is -8 * sum(x) itself.
inline int gemm_init_shift(bool q4) { return q4 ? 0 : 4; }

}  // namespace ig::kernels::cpu
