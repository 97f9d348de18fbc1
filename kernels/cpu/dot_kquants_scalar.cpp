// Portable K-quant kernels (the order of operations is the one dot_kquants.hpp fixes for every
// variant, so these give the same bits as the AVX ones), and the table lookup.
#include "kernels/cpu/dot_kquants.hpp"
#include "kernels/kernels.hpp"

namespace ig::kernels::cpu {
namespace {

// Integer part of one super-block: isum (scaled quants times activation quants) and, for
// Q4_K/Q5_K, msum (mins times the activation's 32-value sums).
template <typename Block, int (*Value)(const Block&, int)>
void scale_min_sums(const Block& w, const BlockQ8_K& x, int32_t& isum, int32_t& msum) {
  isum = 0;
  msum = 0;
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    kquant_scale_min(j, w.scales, sc, m);
    int32_t s = 0;
    for (int l = 0; l < 32; ++l) s += Value(w, 32 * j + l) * x.qs[32 * j + l];
    isum += int32_t(sc) * s;
    msum += int32_t(m) * (int32_t(x.bsums[2 * j]) + x.bsums[2 * j + 1]);
  }
}

template <typename Block, int (*Value)(const Block&, int)>
float min_row(const Block* w, const BlockQ8_K* x, int64_t nb) {
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t isum, msum;
    scale_min_sums<Block, Value>(w[b], x[b], isum, msum);
    const float dx = x[b].d;
    acc = acc + (dx * fp16_to_fp32(w[b].d)) * float(isum);
    acc = acc - (dx * fp16_to_fp32(w[b].dmin)) * float(msum);
  }
  return acc;
}

float q6_row(const BlockQ6_K* w, const BlockQ8_K* x, int64_t nb) {
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t isum = 0;
    for (int g = 0; g < kQK_K / 16; ++g) {
      int32_t s = 0;
      for (int l = 0; l < 16; ++l) s += (q6_k_value(w[b], 16 * g + l) - 32) * x[b].qs[16 * g + l];
      isum += q6_k_scale(w[b], 16 * g) * s;
    }
    acc = acc + (x[b].d * fp16_to_fp32(w[b].d)) * float(isum);
  }
  return acc;
}

void q4_k(const BlockQ4_K* w, const BlockQ8_K* x, int64_t xs, int n, int64_t nb, float* out, int64_t os) {
  for (int t = 0; t < n; ++t) out[t * os] = min_row<BlockQ4_K, q4_k_value>(w, x + t * xs, nb);
}
void q5_k(const BlockQ5_K* w, const BlockQ8_K* x, int64_t xs, int n, int64_t nb, float* out, int64_t os) {
  for (int t = 0; t < n; ++t) out[t * os] = min_row<BlockQ5_K, q5_k_value>(w, x + t * xs, nb);
}
void q6_k(const BlockQ6_K* w, const BlockQ8_K* x, int64_t xs, int n, int64_t nb, float* out, int64_t os) {
  for (int t = 0; t < n; ++t) out[t * os] = q6_row(w, x + t * xs, nb);
}

void q5_0(const BlockQ5_0* w, const BlockQ8_0* x, const int32_t*, int64_t xs, int n, int64_t nb, float* out,
          int64_t os) {
  for (int t = 0; t < n; ++t) {
    const BlockQ8_0* xt = x + t * xs;
    float acc = 0;
    for (int64_t b = 0; b < nb; ++b) {
      int32_t isum = 0;
      for (int i = 0; i < kBlock; ++i) isum += (q5_value(w[b], i) - 16) * xt[b].qs[i];
      acc = acc + (fp16_to_fp32(xt[b].d) * fp16_to_fp32(w[b].d)) * float(isum);
    }
    out[t * os] = acc;
  }
}

void q5_1(const BlockQ5_1* w, const BlockQ8_0* x, int64_t xs, int n, int64_t nb, float* out, int64_t os) {
  for (int t = 0; t < n; ++t) {
    const BlockQ8_0* xt = x + t * xs;
    float acc = 0;
    for (int64_t b = 0; b < nb; ++b) {
      int32_t isum = 0, xsum = 0;
      for (int i = 0; i < kBlock; ++i) {
        isum += q5_value(w[b], i) * xt[b].qs[i];
        xsum += xt[b].qs[i];
      }
      const float dx = fp16_to_fp32(xt[b].d);
      acc = acc + (dx * fp16_to_fp32(w[b].d)) * float(isum);
      acc = acc + (dx * fp16_to_fp32(w[b].m)) * float(xsum);
    }
    out[t * os] = acc;
  }
}

}  // namespace

const KQuantTable& kquant_scalar_table() {
  static const KQuantTable t{"scalar", q4_k, q5_k, q6_k, q5_0, q5_1};
  return t;
}

// A variant's table is only touched on a CPU that runs it (its code may use those instructions).
const KQuantTable& kquant_table_for(const DotTable& t) {
  if (&t == &scalar_table() || !cpu_has_avx2()) return kquant_scalar_table();
  if (&t == &avx2_table()) return kquant_avx2_table();
  if (cpu_has_avxvnni() && &t == &avxvnni_table()) return kquant_avxvnni_table();
  if (cpu_has_avx512() && (&t == &avx512_table() || (cpu_has_amx() && &t == &avx512_amx_table())))
    return kquant_avx512_table();
  return kquant_avx2_table();  // any other AVX table: these kernels give the same bits
}

}  // namespace ig::kernels::cpu
