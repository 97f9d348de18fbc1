// Plain scalar implementations shared by the backends for cheap element-wise
// steps (whose result does not depend on batching), plus row dequantization.
#pragma once

#include "kernels/kernels.hpp"

namespace ig::kernels::scalar {

// Dequantizes row r of w into out[0..w.cols).
void dequantize_row(const Weight& w, int64_t r, float* out);

void rope(float* x, int n_tokens, int n_heads, int head_dim, const int32_t* positions,
          const RopeParams& p);
void swiglu(const float* gate, const float* up, size_t n, float* out);
void add_bias(float* x, const float* bias, int n_tokens, int dim);
void add(float* x, const float* y, size_t n);

}  // namespace ig::kernels::scalar
