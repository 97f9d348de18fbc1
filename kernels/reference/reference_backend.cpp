#include "kernels/reference/reference_backend.hpp"

#include <cmath>
#include <vector>

#include "kernels/reference/scalar_ops.hpp"

namespace ig::kernels {

void ReferenceBackend::matmul(const Weight& w, const float* x, int n_tokens, float* y) {
  std::vector<float> row(size_t(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    scalar::dequantize_row(w, r, row.data());
    for (int t = 0; t < n_tokens; ++t) {
      const float* xt = x + size_t(t) * w.cols;
      double acc = 0;
      for (int64_t c = 0; c < w.cols; ++c) acc += double(row[c]) * double(xt[c]);
      y[size_t(t) * w.rows + r] = float(acc);
    }
  }
}

void ReferenceBackend::get_rows(const Weight& w, const int32_t* ids, int n, float* out) {
  for (int t = 0; t < n; ++t) scalar::dequantize_row(w, ids[t], out + size_t(t) * w.cols);
}

void ReferenceBackend::rmsnorm(const float* x, const float* weight, int n_tokens, int dim,
                               float eps, float* out) {
  for (int t = 0; t < n_tokens; ++t) {
    const float* xt = x + size_t(t) * dim;
    double ss = 0;
    for (int i = 0; i < dim; ++i) ss += double(xt[i]) * xt[i];
    double scale = 1.0 / std::sqrt(ss / dim + eps);
    for (int i = 0; i < dim; ++i) out[size_t(t) * dim + i] = float(xt[i] * scale * weight[i]);
  }
}

void ReferenceBackend::rope(float* x, int n_tokens, int n_heads, int head_dim,
                            const int32_t* positions, const RopeParams& p) {
  scalar::rope(x, n_tokens, n_heads, head_dim, positions, p);
}

void ReferenceBackend::attention(const float* q, const float* k_cache, const float* v_cache,
                                 int n_tokens, const int32_t* positions, const AttentionShape& s,
                                 float* out) {
  const int group = s.n_heads / s.n_kv_heads;
  const size_t kv_dim = size_t(s.n_kv_heads) * s.head_dim;
  const double scale = 1.0 / std::sqrt(double(s.head_dim));
  std::vector<double> scores, acc(size_t(s.head_dim));
  for (int t = 0; t < n_tokens; ++t) {
    const int n_keys = positions[t] + 1;
    scores.assign(size_t(n_keys), 0.0);
    for (int h = 0; h < s.n_heads; ++h) {
      const float* qh = q + (size_t(t) * s.n_heads + h) * s.head_dim;
      const size_t kv_off = size_t(h / group) * s.head_dim;
      double mx = -INFINITY;
      for (int j = 0; j < n_keys; ++j) {
        const float* kj = k_cache + j * kv_dim + kv_off;
        double d = 0;
        for (int i = 0; i < s.head_dim; ++i) d += double(qh[i]) * kj[i];
        scores[j] = d * scale;
        mx = std::max(mx, scores[j]);
      }
      double sum = 0;
      for (int j = 0; j < n_keys; ++j) sum += scores[j] = std::exp(scores[j] - mx);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int j = 0; j < n_keys; ++j) {
        const float* vj = v_cache + j * kv_dim + kv_off;
        for (int i = 0; i < s.head_dim; ++i) acc[i] += scores[j] * vj[i];
      }
      float* o = out + (size_t(t) * s.n_heads + h) * s.head_dim;
      for (int i = 0; i < s.head_dim; ++i) o[i] = float(acc[i] / sum);
    }
  }
}

void ReferenceBackend::swiglu(const float* gate, const float* up, size_t n, float* out) {
  scalar::swiglu(gate, up, n, out);
}
void ReferenceBackend::add_bias(float* x, const float* bias, int n_tokens, int dim) {
  scalar::add_bias(x, bias, n_tokens, dim);
}
void ReferenceBackend::add(float* x, const float* y, size_t n) { scalar::add(x, y, n); }

}  // namespace ig::kernels
