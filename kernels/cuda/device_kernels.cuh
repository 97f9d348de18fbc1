// CUDA kernels of the backend. Same batch-invariance rule as the CPU: each
// output element is reduced by one warp or block in an order fixed by the
// operand shapes (lane-strided partial sums, then a fixed shuffle/shared tree),
// never by n_tokens.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.hpp"

namespace ig::kernels::cuda {

// row_bytes: kernels::row_bytes(type, cols). Every DType has a kernel.
void launch_matmul(DType type, const void* w, size_t row_bytes, int64_t rows, int64_t cols,
                   const float* x, int n_tokens, float* y, cudaStream_t s);
void launch_rmsnorm(const float* x, const float* w, int n_tokens, int dim, float eps, float* out,
                    cudaStream_t s);
void launch_rope(float* x, int n_tokens, int n_heads, int head_dim, const int32_t* pos,
                 int rope_dim, float base, bool neox, float freq_scale, float attn_factor,
                 const float* freq_factors, cudaStream_t s);
void launch_attention(const float* q, const float* k, const float* v, int n_tokens,
                      const int32_t* pos, int n_heads, int n_kv_heads, int head_dim,
                      float* scores, int max_keys, float* out, cudaStream_t s);
void launch_swiglu(const float* g, const float* u, size_t n, float* out, cudaStream_t s);
void launch_add_bias(float* x, const float* b, int n_tokens, int dim, cudaStream_t s);
void launch_add(float* x, const float* y, size_t n, cudaStream_t s);

}  // namespace ig::kernels::cuda
