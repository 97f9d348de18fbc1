// Portable kernels for CPUs without AVX2. Same structure as the AVX2 ones:
// one accumulator sequence per activation row, independent of n.
#include <cmath>
#include <cstring>

#include "kernels/cpu/dot.hpp"
#include "kernels/kernels.hpp"

namespace ig::kernels::cpu {
namespace {

float dot(const float* a, const float* b, int64_t n) {
  float acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void f32(const float* w, const float* x, int64_t xs, int n, int64_t cols, float* out, int64_t os) {
  for (int t = 0; t < n; ++t) out[t * os] = dot(w, x + t * xs, cols);
}

void f16(const uint16_t* w, const float* x, int64_t xs, int n, int64_t cols, float* out,
         int64_t os) {
  for (int t = 0; t < n; ++t) {
    const float* xt = x + t * xs;
    float acc = 0;
    for (int64_t i = 0; i < cols; ++i) acc += fp16_to_fp32(w[i]) * xt[i];
    out[t * os] = acc;
  }
}

float q8_row(const BlockQ8_0* w, const BlockQ8_0* xt, int64_t nb) {
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t s = 0;
    for (int i = 0; i < kBlock; ++i) s += int32_t(w[b].qs[i]) * xt[b].qs[i];
    acc += fp16_to_fp32(w[b].d) * fp16_to_fp32(xt[b].d) * float(s);
  }
  return acc;
}

float q4_row(const BlockQ4_0* w, const BlockQ8_0* xt, int64_t nb) {
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t s = 0;
    for (int i = 0; i < kBlock / 2; ++i) {
      s += (int32_t(w[b].qs[i] & 0x0f) - 8) * xt[b].qs[i];
      s += (int32_t(w[b].qs[i] >> 4) - 8) * xt[b].qs[i + kBlock / 2];
    }
    acc += fp16_to_fp32(w[b].d) * fp16_to_fp32(xt[b].d) * float(s);
  }
  return acc;
}

void q8_0(const BlockQ8_0* w, int64_t ws, int nr, const BlockQ8_0* x, const int32_t*, int64_t xs,
          int n, int64_t nb, float* out, int64_t os) {
  for (int r = 0; r < nr; ++r)
    for (int t = 0; t < n; ++t) out[t * os + r] = q8_row(w + r * ws, x + t * xs, nb);
}

void q4_0(const BlockQ4_0* w, int64_t ws, int nr, const BlockQ8_0* x, const int32_t*, int64_t xs,
          int n, int64_t nb, float* out, int64_t os) {
  for (int r = 0; r < nr; ++r)
    for (int t = 0; t < n; ++t) out[t * os + r] = q4_row(w + r * ws, x + t * xs, nb);
}

}  // namespace

const DotTable& scalar_table() {
  static const DotTable t{"scalar", f32, f16, q8_0, q4_0, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, dot, quantize_row_q8_0,
                          q8_lane_sums};
  return t;
}

const DotTable& best_table() {
  static const DotTable& t = !cpu_has_avx2()     ? scalar_table()
                             : cpu_has_avx512()  ? avx512_table()
                             : cpu_has_avxvnni() ? avxvnni_table()
                                                 : avx2_table();
  return t;
}

bool cpu_has_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}

bool cpu_has_avxvnni() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avxvnni");
#else
  return false;
#endif
}

bool cpu_has_avx512f() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

bool cpu_has_gfni() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("gfni");
#else
  return false;
#endif
}

bool cpu_has_avx512vnni() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}

void pack_pairs(const BlockQ8_0* x, const int32_t* xsum, int64_t nb, int n_pairs, PairBlock* out,
                int init_shift) {
  for (int p = 0; p < n_pairs; ++p)
    for (int64_t b = 0; b < nb; ++b) {
      PairBlock& o = out[p * nb + b];
      for (int h = 0; h < 2; ++h) {
        const int64_t t = 2 * p + h;
        const BlockQ8_0& xb = x[t * nb + b];
        std::memcpy(o.qs + 32 * h, xb.qs, 32);
        for (int i = 0; i < 8; ++i) o.init[8 * h + i] = xsum[(t * nb + b) * 8 + i] * (1 << init_shift);
        const float d = fp16_to_fp32(xb.d);
        for (int i = 0; i < 8; ++i) o.d[8 * h + i] = d;
      }
    }
}

void pack_block_pairs(const BlockQ8_0* x, const int32_t* xsum, int64_t nb, PairBlock* out, int init_shift) {
  for (int64_t j = 0; j < (nb + 1) / 2; ++j) {
    PairBlock& o = out[j];
    for (int h = 0; h < 2; ++h) {
      const int64_t b = 2 * j + h;
      const bool in = b < nb;
      for (int i = 0; i < 32; ++i) o.qs[32 * h + i] = in ? x[b].qs[i] : 0;
      for (int i = 0; i < 8; ++i) o.init[8 * h + i] = in ? xsum[b * 8 + i] * (1 << init_shift) : 0;
      const float d = in ? fp16_to_fp32(x[b].d) : 0.0f;
      for (int i = 0; i < 8; ++i) o.d[8 * h + i] = d;
    }
  }
}

void q8_lane_sums(const BlockQ8_0* x, int64_t nb, int32_t* out) {
  for (int64_t b = 0; b < nb; ++b)
    for (int i = 0; i < 8; ++i)
      out[b * 8 + i] = -8 * (int32_t(x[b].qs[4 * i]) + x[b].qs[4 * i + 1] + x[b].qs[4 * i + 2] +
                             x[b].qs[4 * i + 3]);
}

bool has_avx2_fma_f16c() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

void quantize_row_q8_0(const float* x, int64_t cols, BlockQ8_0* out) {
  for (int64_t b = 0; b < cols / kBlock; ++b) {
    const float* xb = x + b * kBlock;
    float amax = 0;
    for (int i = 0; i < kBlock; ++i) amax = std::max(amax, std::fabs(xb[i]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    out[b].d = fp32_to_fp16(d);
    for (int i = 0; i < kBlock; ++i) out[b].qs[i] = int8_t(std::lround(xb[i] * id));
  }
}

}  // namespace ig::kernels::cpu

namespace ig::kernels {
bool cpu_has_avx2() {
  static const bool has = cpu::has_avx2_fma_f16c();
  return has;
}
}  // namespace ig::kernels
