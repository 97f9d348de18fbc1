// Portable kernels for CPUs without AVX2. Same structure as the AVX2 ones:
// one accumulator sequence per activation row, independent of n. The q8_0/q4_0 kernels are
// the plain form of numerics cpu/3 (dot.hpp), which every x86 variant gives bitwise.
#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "kernels/cpu/dot.hpp"
#include "kernels/kernels.hpp"
#include "kernels/reference/scalar_ops.hpp"

namespace ig::kernels::cpu {
namespace {

void exp_f32(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}
void swiglu(const float* gate, const float* up, int64_t n, float* out) { scalar::swiglu(gate, up, size_t(n), out); }
void axpy(float a, const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

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
    acc = std::fma(fp16_to_fp32(w[b].d) * fp16_to_fp32(xt[b].d), float(s), acc);
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
    acc = std::fma(fp16_to_fp32(w[b].d) * fp16_to_fp32(xt[b].d), float(s), acc);
  }
  return acc;
}

void q8_0(const BlockQ8_0* w, int64_t ws, int nr, const BlockQ8_0* x, int64_t xs, int n, int64_t nb, float* out,
          int64_t os) {
  for (int r = 0; r < nr; ++r)
    for (int t = 0; t < n; ++t) out[t * os + r] = q8_row(w + r * ws, x + t * xs, nb);
}

void q4_0(const BlockQ4_0* w, int64_t ws, int nr, const BlockQ8_0* x, int64_t xs, int n, int64_t nb, float* out,
          int64_t os) {
  for (int r = 0; r < nr; ++r)
    for (int t = 0; t < n; ++t) out[t * os + r] = q4_row(w + r * ws, x + t * xs, nb);
}

}  // namespace

const DotTable& scalar_table() {
  static const DotTable t{"scalar", f32, f16, q8_0, q4_0, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, dot, quantize_row_q8_0,
                          q8_lane_sums, nullptr, nullptr, nullptr, nullptr, exp_f32, swiglu, axpy};
  return t;
}

const DotTable& best_table() {
  static const DotTable& t = !cpu_has_avx2()     ? scalar_table()
                             : cpu_has_avx512() && cpu_has_amx() && cpu_has_gfni() ? avx512_amx_table()
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

bool cpu_has_amx() {
#if defined(__x86_64__)
  static const bool has = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;  // CPUID.(EAX=7,ECX=0):EDX bit 24 AMX-TILE, bit 25 AMX-INT8
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)) || !(d & (1u << 25))) return false;
    // Linux hands out the 8 KB tile state only on request (ARCH_REQ_XCOMP_PERM for
    // XFEATURE_XTILEDATA, Documentation/arch/x86/xstate.rst); it holds for the whole process.
    constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return has;
#else
  return false;
#endif
}

void pack_token_tiles(const BlockQ8_0* x, int n, int64_t nb, TokenTile* out) {
  const int groups = (n + kTileTokens - 1) / kTileTokens;
  for (int g = 0; g < groups; ++g)
    for (int64_t b = 0; b < nb; ++b) {
      TokenTile& o = out[g * nb + b];
      std::memset(&o, 0, sizeof o);
      for (int j = 0; j < kTileTokens && g * kTileTokens + j < n; ++j) {
        const BlockQ8_0& xb = x[int64_t(g * kTileTokens + j) * nb + b];
        int32_t sum = 0;
        for (int k = 0; k < 8; ++k)
          for (int i = 0; i < 4; ++i) {
            o.qs[k][4 * j + i] = xb.qs[4 * k + i];
            sum += xb.qs[4 * k + i];
          }
        o.d[j] = fp16_to_fp32(xb.d);
        o.corr[j] = -8 * sum;
        o.corr5[j] = -16 * sum;
      }
    }
}

void pack_token_rows(const BlockQ8_0* x, int n, int64_t nb, int g0, int g1, TokenRows* out) {
  for (int g = g0; g < g1; ++g)
    for (int64_t b = 0; b < nb; ++b) {
      TokenRows& o = out[g * nb + b];
      std::memset(&o, 0, sizeof o);
      for (int j = 0; j < kTileTokens && g * kTileTokens + j < n; ++j) {
        const BlockQ8_0& xb = x[int64_t(g * kTileTokens + j) * nb + b];
        std::memcpy(o.qs[j], xb.qs, 32);
        int32_t sum = 0;
        for (int k = 0; k < 32; ++k) sum += xb.qs[k];
        // -8 * sum = 8 * v, v = -sum in [-4096, 4096]: v = 16 * m + c3 with c3 in 0..15, then
        // m (in [-256, 256]) spread over three int8 digits
        const int32_t v = -sum, c3 = ((v % 16) + 16) % 16, m = (v - c3) / 16;
        const int32_t c0 = std::clamp(m, -128, 127), c1 = std::clamp(m - c0, -128, 127), c2 = m - c0 - c1;
        o.qs[j][32] = int8_t(c0), o.qs[j][33] = int8_t(c1), o.qs[j][34] = int8_t(c2), o.qs[j][35] = int8_t(c3);
        o.d[j] = fp16_to_fp32(xb.d);
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
bool cpu_reads_interleaved16() { return cpu::best_table().q4_0x16_gemv != nullptr && cpu::best_table().q8_0x16_gemv != nullptr; }
}  // namespace ig::kernels
