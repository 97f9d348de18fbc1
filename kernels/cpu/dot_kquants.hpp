// K-quant (Q4_K, Q5_K, Q6_K) dot kernels of the fast CPU backend: weights times activations
// quantized per token to Q8_K (256 values, float scale, 16-value sums), as llama.cpp pairs them
// (ggml's vec_dot_q4_K_q8_K etc.). Per-token quantization keeps batch invariance: a token's Q8_K
// blocks depend on that token's activations only.
//
// Reduction order, fixed by the row length alone, the same in every variant:
//   per super-block b (in order), exact integers (no int16 saturation or int32 overflow can occur
//   for |activation quant| <= 127):
//     Q4_K/Q5_K: isum = sum_j sc_j * sum_{i in sub-block j} q_i * a_i,
//                msum = sum_j m_j * (bsum_{2j} + bsum_{2j+1})
//                acc = acc + (dx*d) * float(isum);  acc = acc - (dx*dmin) * float(msum)
//     Q6_K:      isum = sum_g sc_g * sum_{i in group g} (q_i - 32) * a_i
//                acc = acc + (dx*d) * float(isum)
//   Q5_0/Q5_1 (32-value blocks b, activations quantized per token to Q8_0, scale dx):
//     Q5_0:      acc = acc + (dx*d) * float(sum_i (q_i - 16) * a_i)
//     Q5_1:      acc = acc + (dx*d) * float(sum_i q_i * a_i);  acc = acc + (dx*m) * float(sum_i a_i)
//   with acc starting at 0 and every float operation a separately rounded multiply or add (no
//   FMA). The integers are exact whatever order a SIMD variant sums them in, and the float steps
//   are scalar, so the scalar, AVX2, AVX-VNNI and AVX-512 kernels give bitwise the same result.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/dot.hpp"
#include "kernels/kquants.hpp"
#include "kernels/q5_formats.hpp"

namespace ig::kernels::cpu {

inline constexpr int kKQuantTokens = 4;  // tokens per kernel call (shared weight unpacking)

struct KQuantTable {
  const char* name;
  // out[t*os] = dot(weight row w, activation row x + t*xs) for t < n (1..kKQuantTokens);
  // nb super-blocks per row, x and xs in Q8_K blocks.
  void (*q4_k)(const BlockQ4_K* w, const BlockQ8_K* x, int64_t xs, int n, int64_t nb, float* out, int64_t os);
  void (*q5_k)(const BlockQ5_K* w, const BlockQ8_K* x, int64_t xs, int n, int64_t nb, float* out, int64_t os);
  void (*q6_k)(const BlockQ6_K* w, const BlockQ8_K* x, int64_t xs, int n, int64_t nb, float* out, int64_t os);
  // Q5_0 / Q5_1 (the mixes' fallbacks) times activations quantized to Q8_0; nb 32-value blocks.
  // Q5_0 also takes x's q8_lane_sums (xsum: 8 lanes per block, laid out as x, stride xs*8): the
  // VNNI variants fold the -16 offset into their dot products with them.
  void (*q5_0)(const BlockQ5_0* w, const BlockQ8_0* x, const int32_t* xsum, int64_t xs, int n, int64_t nb,
               float* out, int64_t os);
  void (*q5_1)(const BlockQ5_1* w, const BlockQ8_0* x, int64_t xs, int n, int64_t nb, float* out, int64_t os);
};

const KQuantTable& kquant_scalar_table();
const KQuantTable& kquant_avx2_table();     // only valid when cpu_has_avx2()
const KQuantTable& kquant_avxvnni_table();  // ... and cpu_has_avxvnni()
const KQuantTable& kquant_avx512_table();   // ... and AVX-512F/BW/VL + VNNI
// The K-quant kernels of the same variant as a DotTable (scalar for scalar, and so on).
const KQuantTable& kquant_table_for(const DotTable& t);

}  // namespace ig::kernels::cpu
