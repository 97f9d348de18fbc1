#include "kernels/reference/scalar_ops.hpp"

#include <cmath>
#include <vector>

#include "kernels/formats.hpp"
#include "kernels/interleave.hpp"
#include "kernels/kquants.hpp"
#include "kernels/q5_formats.hpp"

namespace ig::kernels::scalar {

void dequantize_row(const Weight& w, int64_t r, float* out) {
  const uint8_t* base = static_cast<const uint8_t*>(w.data) + size_t(r) * row_bytes(w.type, w.cols);
  thread_local std::vector<uint8_t> regrouped;
  if (w.layout != Layout::Rows) {  // the row gathered back from its group
    regrouped.resize(row_bytes(w.type, w.cols));
    gguf_row(w, r, regrouped.data());
    base = regrouped.data();
  }
  switch (w.type) {
    case DType::F32: {
      const auto* p = reinterpret_cast<const float*>(base);
      for (int64_t i = 0; i < w.cols; ++i) out[i] = p[i];
      return;
    }
    case DType::F16: {
      const auto* p = reinterpret_cast<const uint16_t*>(base);
      for (int64_t i = 0; i < w.cols; ++i) out[i] = fp16_to_fp32(p[i]);
      return;
    }
    case DType::Q8_0: {
      const auto* b = reinterpret_cast<const BlockQ8_0*>(base);
      for (int64_t k = 0; k < w.cols / kBlock; ++k) {
        float d = fp16_to_fp32(b[k].d);
        for (int i = 0; i < kBlock; ++i) out[k * kBlock + i] = d * float(b[k].qs[i]);
      }
      return;
    }
    case DType::Q4_0: {
      const auto* b = reinterpret_cast<const BlockQ4_0*>(base);
      for (int64_t k = 0; k < w.cols / kBlock; ++k) {
        float d = fp16_to_fp32(b[k].d);
        for (int i = 0; i < kBlock / 2; ++i) {
          out[k * kBlock + i] = d * float(int(b[k].qs[i] & 0x0f) - 8);
          out[k * kBlock + i + kBlock / 2] = d * float(int(b[k].qs[i] >> 4) - 8);
        }
      }
      return;
    }
    case DType::Q5_0: return dequantize_row_q5_0(reinterpret_cast<const BlockQ5_0*>(base), out, w.cols);
    case DType::Q5_1: return dequantize_row_q5_1(reinterpret_cast<const BlockQ5_1*>(base), out, w.cols);
    case DType::Q4_K: return dequantize_row_q4_k(reinterpret_cast<const BlockQ4_K*>(base), out, w.cols);
    case DType::Q5_K: return dequantize_row_q5_k(reinterpret_cast<const BlockQ5_K*>(base), out, w.cols);
    case DType::Q6_K: return dequantize_row_q6_k(reinterpret_cast<const BlockQ6_K*>(base), out, w.cols);
  }
}

// theta_i = pos * freq_scale * base^(-2i/rope_dim) / freq_factors[i], computed in double
// so every backend that shares this routine rotates identically (with no scaling and no
// factors, exactly the bits of the plain formula).
void rope(float* x, int n_tokens, int n_heads, int head_dim, const int32_t* positions,
          const RopeParams& p) {
  const int half = p.rope_dim / 2;
  const bool scaled = p.freq_scale != 1.f || p.freq_factors != nullptr;
  for (int t = 0; t < n_tokens; ++t) {
    for (int i = 0; i < half; ++i) {
      double theta = double(positions[t]) * std::pow(double(p.freq_base), -2.0 * i / p.rope_dim);
      if (scaled) {
        const double ff = p.freq_factors ? double(p.freq_factors[i]) : 1.0;
        theta = theta * double(p.freq_scale) / ff;
      }
      float c = float(std::cos(theta)), s = float(std::sin(theta));
      if (p.attn_factor != 1.f) {
        c *= p.attn_factor;
        s *= p.attn_factor;
      }
      for (int h = 0; h < n_heads; ++h) {
        float* v = x + (size_t(t) * n_heads + h) * head_dim;
        int a = p.neox ? i : 2 * i;
        int b = p.neox ? i + half : 2 * i + 1;
        float x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
      }
    }
  }
}

void swiglu(const float* gate, const float* up, size_t n, float* out) {
  for (size_t i = 0; i < n; ++i) {
    float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void add_bias(float* x, const float* bias, int n_tokens, int dim) {
  for (int t = 0; t < n_tokens; ++t)
    for (int i = 0; i < dim; ++i) x[size_t(t) * dim + i] += bias[i];
}

void add(float* x, const float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace ig::kernels::scalar
