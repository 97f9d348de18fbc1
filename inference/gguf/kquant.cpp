// Reference quantizers for the K-quants (Q4_K, Q5_K, Q6_K), written after llama.cpp's
// ggml/src/ggml-quants.c quantize_row_q4_K_ref / q5_K_ref / q6_K_ref (the path llama-quantize
// takes without an importance matrix) and its helpers make_qkx2_quants and make_qx_quants:
// the same search for each sub-block's scale and min, the same 6-bit (Q4_K/Q5_K) or 8-bit
// (Q6_K) quantization of those, and the same rounding (nearest_int: half to even). The block
// layouts are ggml's (kernels/kquants.hpp), so llama.cpp reads what we write. Also Q5_0/Q5_1,
// the mixes' fallbacks for rows that are not whole super-blocks (quantize_row_q5_{0,1}_ref).
#include "inference/gguf/kquant.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "inference/gguf/quant.hpp"

namespace ig::gguf {
namespace {

using kernels::kQK_K;
using kernels::kquant_nearest_int;

// Weighted least-squares fit of x ~ scale*L + min with L in [0, nmax] and min <= 0
// (make_qkx2_quants, use_mad = false): start from the plain min/max grid, then try
// nstep+1 grids (rmin + rdelta*is + nmax)/(max-min) and keep the one of least weighted error,
// refitting scale and min in closed form for each. Returns the scale; *neg_min = -min >= 0.
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min,
                    uint8_t* Laux, float rmin, float rdelta, int nstep) {
  float lo = x[0], hi = x[0];
  float sum_w = w[0], sum_x = w[0] * x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (lo > 0) lo = 0;
  if (hi == lo) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *neg_min = -lo;
    return 0.f;
  }
  float iscale = float(nmax) / (hi - lo);
  float scale = 1 / iscale;
  float best = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(kquant_nearest_int(iscale * (x[i] - lo)), 0, nmax);
    L[i] = uint8_t(l);
    const float diff = scale * float(l) + lo - x[i];
    best += w[i] * (diff * diff);
  }
  float min = lo;
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * float(is) + float(nmax)) / (hi - lo);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(kquant_nearest_int(iscale * (x[i] - lo)), 0, nmax);
      Laux[i] = uint8_t(l);
      sum_l += w[i] * float(l);
      sum_l2 += w[i] * float(l) * float(l);
      sum_xl += w[i] * float(l) * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float err = 0;
      for (int i = 0; i < n; ++i) {
        const float diff = this_scale * float(Laux[i]) + this_min - x[i];
        err += w[i] * (diff * diff);
      }
      if (err < best) {
        std::memcpy(L, Laux, size_t(n));
        best = err;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *neg_min = -min;
  return scale;
}

// Symmetric fit x ~ scale*(L - nmax), L - nmax in [-nmax, nmax-1], weighted by x^2
// (make_qx_quants with rmse_type 1 and no importance weights): the value of largest magnitude
// maps to -nmax, then 18 nearby grids are tried and the best least-squares scale kept.
float fit_scale_symmetric(int n, int nmax, const float* x, int8_t* L) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < 1e-15f) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  auto quant = [&](float iscale, int i) { return std::clamp(kquant_nearest_int(iscale * x[i]), -nmax, nmax - 1); };
  float iscale = -float(nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = quant(iscale, i);
    L[i] = int8_t(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * float(l);
    suml2 += w * float(l) * float(l);
  }
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(float(nmax) + 0.1f * float(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = quant(iscale, i);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * float(l);
      suml2 += w * float(l) * float(l);
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = int8_t(nmax + quant(iscale, i));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Q4_K and Q5_K share everything but the quant range and the packing of the quants.
template <int kNmax>
void quantize_scales_mins(const float* x, uint16_t& d_out, uint16_t& dmin_out, uint8_t* scales,
                          uint8_t* L, float rmin, float rdelta, int nstep) {
  float sc[8], mn[8], w[32];
  uint8_t Laux[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xj = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xj[l] * xj[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(xj[l]);
    sc[j] = fit_scale_min(32, kNmax, xj, w, L + 32 * j, &mn[j], Laux, rmin, rdelta, nstep);
    max_scale = std::max(max_scale, sc[j]);
    max_min = std::max(max_min, mn[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    // ggml stores nearest_int into a uint8_t before the MIN(63, ...), so do the same.
    ls[j] = std::min<uint8_t>(63, uint8_t(kquant_nearest_int(inv_scale * sc[j])));
    lm[j] = std::min<uint8_t>(63, uint8_t(kquant_nearest_int(inv_min * mn[j])));
  }
  kernels::kquant_pack_scales(ls, lm, scales);
  d_out = fp32_to_fp16(max_scale / 63.f);
  dmin_out = fp32_to_fp16(max_min / 63.f);
  // Requantize every value with the stored (6-bit, fp16) scale and min.
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    kernels::kquant_scale_min(j, scales, s, m);
    const float d = fp16_to_fp32(d_out) * float(s);
    if (d == 0) continue;
    const float dm = fp16_to_fp32(dmin_out) * float(m);
    for (int l = 0; l < 32; ++l)
      L[32 * j + l] = uint8_t(std::clamp(kquant_nearest_int((x[32 * j + l] + dm) / d), 0, kNmax));
  }
}

}  // namespace

void quantize_row_q4_k(const float* x, kernels::BlockQ4_K* y, int64_t k) {
  uint8_t L[kQK_K];
  for (int64_t b = 0; b < k / kQK_K; ++b, x += kQK_K) {
    kernels::BlockQ4_K& o = y[b];
    quantize_scales_mins<15>(x, o.d, o.dmin, o.scales, L, -1.f, 0.1f, 20);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) o.qs[32 * c + l] = uint8_t(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
  }
}

void quantize_row_q5_k(const float* x, kernels::BlockQ5_K* y, int64_t k) {
  uint8_t L[kQK_K];
  for (int64_t b = 0; b < k / kQK_K; ++b, x += kQK_K) {
    kernels::BlockQ5_K& o = y[b];
    quantize_scales_mins<31>(x, o.d, o.dmin, o.scales, L, -0.5f, 0.1f, 15);
    std::memset(o.qh, 0, sizeof o.qh);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) {
        const int a = L[64 * c + l], h = L[64 * c + 32 + l];
        o.qs[32 * c + l] = uint8_t((a & 15) | ((h & 15) << 4));
        o.qh[l] = uint8_t(o.qh[l] | ((a >> 4) << (2 * c)) | ((h >> 4) << (2 * c + 1)));
      }
  }
}

void quantize_row_q6_k(const float* x, kernels::BlockQ6_K* y, int64_t k) {
  int8_t L[kQK_K];
  float scales[kQK_K / 16];
  for (int64_t b = 0; b < k / kQK_K; ++b, x += kQK_K) {
    kernels::BlockQ6_K& o = y[b];
    float max_scale = 0, max_abs_scale = 0;
    for (int g = 0; g < kQK_K / 16; ++g) {
      scales[g] = fit_scale_symmetric(16, 32, x + 16 * g, L + 16 * g);
      if (std::fabs(scales[g]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[g]);
        max_scale = scales[g];
      }
    }
    if (max_abs_scale < 1e-15f) {
      std::memset(&o, 0, sizeof o);
      continue;
    }
    const float iscale = -128.f / max_scale;
    o.d = fp32_to_fp16(1 / iscale);
    for (int g = 0; g < kQK_K / 16; ++g) o.scales[g] = int8_t(std::min(127, kquant_nearest_int(iscale * scales[g])));
    for (int g = 0; g < kQK_K / 16; ++g) {
      const float d = fp16_to_fp32(o.d) * float(o.scales[g]);
      if (d == 0) continue;
      for (int l = 0; l < 16; ++l)
        L[16 * g + l] = int8_t(std::clamp(kquant_nearest_int(x[16 * g + l] / d), -32, 31) + 32);
    }
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l) {
        const int q0 = L[128 * h + l], q1 = L[128 * h + 32 + l], q2 = L[128 * h + 64 + l], q3 = L[128 * h + 96 + l];
        o.ql[64 * h + l] = uint8_t((q0 & 15) | ((q2 & 15) << 4));
        o.ql[64 * h + 32 + l] = uint8_t((q1 & 15) | ((q3 & 15) << 4));
        o.qh[32 * h + l] = uint8_t((q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) | ((q3 >> 4) << 6));
      }
  }
}

// As ggml's quantize_row_q5_0_ref: the value of largest magnitude maps to -16, d = max/-16,
// q = min(31, int8(x/d + 16.5)).
void quantize_row_q5_0(const float* x, kernels::BlockQ5_0* y, int64_t k) {
  for (int64_t b = 0; b < k / 32; ++b, x += 32) {
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j)
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    const float d = max / -16;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const int q0 = std::min(31, int(int8_t(x[j] * id + 16.5f)));
      const int q1 = std::min(31, int(int8_t(x[j + 16] * id + 16.5f)));
      y[b].qs[j] = uint8_t((q0 & 0x0f) | ((q1 & 0x0f) << 4));
      qh |= uint32_t((q0 >> 4) & 1) << j;
      qh |= uint32_t((q1 >> 4) & 1) << (j + 16);
    }
    std::memcpy(y[b].qh, &qh, 4);
  }
}

// As ggml's quantize_row_q5_1_ref: d = (max - min)/31, m = min, q = uint8((x - min)/d + 0.5).
void quantize_row_q5_1(const float* x, kernels::BlockQ5_1* y, int64_t k) {
  for (int64_t b = 0; b < k / 32; ++b, x += 32) {
    float min = x[0], max = x[0];
    for (int j = 1; j < 32; ++j) {
      min = std::min(min, x[j]);
      max = std::max(max, x[j]);
    }
    const float d = (max - min) / 31;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    y[b].m = fp32_to_fp16(min);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const int q0 = std::min(31, int(uint8_t((x[j] - min) * id + 0.5f)));
      const int q1 = std::min(31, int(uint8_t((x[j + 16] - min) * id + 0.5f)));
      y[b].qs[j] = uint8_t((q0 & 0x0f) | ((q1 & 0x0f) << 4));
      qh |= uint32_t((q0 >> 4) & 1) << j;
      qh |= uint32_t((q1 >> 4) & 1) << (j + 16);
    }
    std::memcpy(y[b].qh, &qh, 4);
  }
}

}  // namespace ig::gguf
