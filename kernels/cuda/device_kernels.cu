#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "kernels/cuda/dequant_units.cuh"
#include "kernels/cuda/device_kernels.cuh"
#include "kernels/formats.hpp"

namespace ig::kernels::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kTokensPerBlock = 4;

__device__ inline float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Lane-strided partial dot of one weight row with one activation row. F32/F16: lane c of
// each 32 values; Q8_0/Q4_0: whole blocks per lane, the block's integer-valued products summed
// and then scaled once; the other quantized types: dequant_units.cuh's unit_lane_dot.
template <DType T>
__device__ float lane_dot(const uint8_t* row, int64_t cols, const float* x, int lane) {
  float acc = 0.f;
  if constexpr (T == DType::F32) {
    const float* w = reinterpret_cast<const float*>(row);
    for (int64_t c = lane; c < cols; c += kWarp) acc = __fmaf_rn(w[c], x[c], acc);
  } else if constexpr (T == DType::F16) {
    const uint16_t* w = reinterpret_cast<const uint16_t*>(row);
    for (int64_t c = lane; c < cols; c += kWarp) acc = __fmaf_rn(h2f(w[c]), x[c], acc);
  } else if constexpr (T == DType::Q8_0) {
    const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(row);
    for (int64_t k = lane; k < cols / kBlock; k += kWarp) {
      const float* xb = x + k * kBlock;
      float s = 0.f;
      for (int i = 0; i < kBlock; ++i) s = __fmaf_rn(float(b[k].qs[i]), xb[i], s);
      acc = __fmaf_rn(h2f(b[k].d), s, acc);
    }
  } else if constexpr (T == DType::Q4_0) {
    const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(row);
    for (int64_t k = lane; k < cols / kBlock; k += kWarp) {
      const float* xb = x + k * kBlock;
      float s = 0.f;
      for (int i = 0; i < kBlock / 2; ++i) {
        s = __fmaf_rn(float(int(b[k].qs[i] & 0x0f) - 8), xb[i], s);
        s = __fmaf_rn(float(int(b[k].qs[i] >> 4) - 8), xb[i + kBlock / 2], s);
      }
      acc = __fmaf_rn(h2f(b[k].d), s, acc);
    }
  } else if constexpr (T == DType::Q4_K) {
    acc = unit_lane_dot(reinterpret_cast<const BlockQ4_K*>(row), cols, x, lane);
  } else if constexpr (T == DType::Q5_K) {
    acc = unit_lane_dot(reinterpret_cast<const BlockQ5_K*>(row), cols, x, lane);
  } else if constexpr (T == DType::Q6_K) {
    acc = unit_lane_dot(reinterpret_cast<const BlockQ6_K*>(row), cols, x, lane);
  } else if constexpr (T == DType::Q5_0) {
    acc = unit_lane_dot(reinterpret_cast<const BlockQ5_0*>(row), cols, x, lane);
  } else {
    static_assert(T == DType::Q5_1, "a weight type without a device kernel");
    acc = unit_lane_dot(reinterpret_cast<const BlockQ5_1*>(row), cols, x, lane);
  }
  return acc;
}

// grid: (rows, token groups); one warp computes one row for up to 4 tokens.
template <DType T>
__global__ void matmul_kernel(const uint8_t* w, size_t row_bytes, int64_t rows, int64_t cols,
                              const float* x, int n_tokens, float* y) {
  const int64_t r = blockIdx.x;
  const int lane = threadIdx.x;
  const uint8_t* row = w + r * row_bytes;
  for (int i = 0; i < kTokensPerBlock; ++i) {
    const int t = blockIdx.y * kTokensPerBlock + i;
    if (t >= n_tokens) break;
    const float v = warp_sum(lane_dot<T>(row, cols, x + int64_t(t) * cols, lane));
    if (lane == 0) y[int64_t(t) * rows + r] = v;
  }
}

template <DType T>
void launch_matmul_t(const void* w, size_t row_bytes, int64_t rows, int64_t cols,
                     const float* x, int n_tokens, float* y, cudaStream_t s) {
  dim3 grid(unsigned(rows), unsigned((n_tokens + kTokensPerBlock - 1) / kTokensPerBlock));
  matmul_kernel<T><<<grid, kWarp, 0, s>>>(static_cast<const uint8_t*>(w), row_bytes, rows, cols,
                                          x, n_tokens, y);
}

// Fixed shared-memory tree over blockDim.x (a power of two) partial values.
__device__ float block_sum(float v, float* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int o = blockDim.x / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) sh[threadIdx.x] += sh[threadIdx.x + o];
    __syncthreads();
  }
  float r = sh[0];
  __syncthreads();
  return r;
}

__device__ float block_max(float v, float* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int o = blockDim.x / 2; o > 0; o >>= 1) {
    if (threadIdx.x < o) sh[threadIdx.x] = fmaxf(sh[threadIdx.x], sh[threadIdx.x + o]);
    __syncthreads();
  }
  float r = sh[0];
  __syncthreads();
  return r;
}

constexpr int kBlockThreads = 128;

__global__ void rmsnorm_kernel(const float* x, const float* w, int dim, float eps, float* out) {
  __shared__ float sh[kBlockThreads];
  const float* xt = x + int64_t(blockIdx.x) * dim;
  float part = 0.f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) part = __fmaf_rn(xt[i], xt[i], part);
  const float ss = block_sum(part, sh);
  const float scale = 1.0f / sqrtf(ss / float(dim) + eps);
  for (int i = threadIdx.x; i < dim; i += blockDim.x)
    out[int64_t(blockIdx.x) * dim + i] = xt[i] * scale * w[i];
}

// theta and the scaling as the reference (scalar_ops.cpp rope): the angle in double, then
// theta * freq_scale / freq_factors[i] when scaled, cos/sin rounded to float and multiplied by
// attn_factor. Unscaled, the bits are those of the plain formula. freq_factors: device copy or
// null.
__global__ void rope_kernel(float* x, int n_heads, int head_dim, const int32_t* pos, int rope_dim,
                            float base, bool neox, float freq_scale, float attn_factor,
                            const float* freq_factors) {
  const int t = blockIdx.x;
  const int half = rope_dim / 2;
  const bool scaled = freq_scale != 1.f || freq_factors != nullptr;
  for (int idx = threadIdx.x; idx < n_heads * half; idx += blockDim.x) {
    const int h = idx / half, i = idx % half;
    double theta = double(pos[t]) * pow(double(base), -2.0 * i / rope_dim);
    if (scaled) {
      const double ff = freq_factors ? double(freq_factors[i]) : 1.0;
      theta = theta * double(freq_scale) / ff;
    }
    float c = float(cos(theta)), s = float(sin(theta));
    if (attn_factor != 1.f) {
      c = __fmul_rn(c, attn_factor);
      s = __fmul_rn(s, attn_factor);
    }
    float* v = x + (int64_t(t) * n_heads + h) * head_dim;
    const int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
    const float x0 = v[a], x1 = v[b];
    v[a] = x0 * c - x1 * s;
    v[b] = x0 * s + x1 * c;
  }
}

// grid: n_tokens * n_heads blocks; scores in global scratch [item][max_keys].
__global__ void attention_kernel(const float* q, const float* k, const float* v,
                                 const int32_t* pos, int n_heads, int n_kv_heads, int head_dim,
                                 float* scores, int max_keys, float* out) {
  __shared__ float sh[kBlockThreads];
  const int item = blockIdx.x;
  const int t = item / n_heads, h = item % n_heads;
  const int n_keys = pos[t] + 1;
  const int kv_dim = n_kv_heads * head_dim;
  const int kv_off = (h / (n_heads / n_kv_heads)) * head_dim;
  const float* qh = q + int64_t(item) * head_dim;
  float* sc = scores + int64_t(item) * max_keys;
  const float scale = 1.0f / sqrtf(float(head_dim));
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < n_keys; j += blockDim.x) {
    const float* kj = k + int64_t(j) * kv_dim + kv_off;
    float d = 0.f;
    for (int i = 0; i < head_dim; ++i) d = __fmaf_rn(qh[i], kj[i], d);
    sc[j] = d * scale;
    mx = fmaxf(mx, sc[j]);
  }
  mx = block_max(mx, sh);
  float part = 0.f;
  for (int j = threadIdx.x; j < n_keys; j += blockDim.x) {
    sc[j] = expf(sc[j] - mx);
    part += sc[j];
  }
  const float sum = block_sum(part, sh);
  __syncthreads();
  for (int i = threadIdx.x; i < head_dim; i += blockDim.x) {
    float acc = 0.f;
    for (int j = 0; j < n_keys; ++j) acc = __fmaf_rn(sc[j], v[int64_t(j) * kv_dim + kv_off + i], acc);
    out[int64_t(item) * head_dim + i] = acc / sum;
  }
}

__global__ void swiglu_kernel(const float* g, const float* u, size_t n, float* out) {
  size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

__global__ void add_bias_kernel(float* x, const float* b, size_t n, int dim) {
  size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] += b[i % dim];
}

__global__ void add_kernel(float* x, const float* y, size_t n) {
  size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] += y[i];
}

unsigned blocks_for(size_t n) { return unsigned((n + 255) / 256); }

}  // namespace

void launch_matmul(DType type, const void* w, size_t row_bytes, int64_t rows, int64_t cols,
                   const float* x, int n_tokens, float* y, cudaStream_t s) {
  switch (type) {
    case DType::F32: return launch_matmul_t<DType::F32>(w, row_bytes, rows, cols, x, n_tokens, y, s);
    case DType::F16: return launch_matmul_t<DType::F16>(w, row_bytes, rows, cols, x, n_tokens, y, s);
    case DType::Q8_0: return launch_matmul_t<DType::Q8_0>(w, row_bytes, rows, cols, x, n_tokens, y, s);
    case DType::Q4_0: return launch_matmul_t<DType::Q4_0>(w, row_bytes, rows, cols, x, n_tokens, y, s);
    case DType::Q5_0: return launch_matmul_t<DType::Q5_0>(w, row_bytes, rows, cols, x, n_tokens, y, s);
    case DType::Q5_1: return launch_matmul_t<DType::Q5_1>(w, row_bytes, rows, cols, x, n_tokens, y, s);
    case DType::Q4_K: return launch_matmul_t<DType::Q4_K>(w, row_bytes, rows, cols, x, n_tokens, y, s);
    case DType::Q5_K: return launch_matmul_t<DType::Q5_K>(w, row_bytes, rows, cols, x, n_tokens, y, s);
    case DType::Q6_K: return launch_matmul_t<DType::Q6_K>(w, row_bytes, rows, cols, x, n_tokens, y, s);
  }
}

void launch_rmsnorm(const float* x, const float* w, int n_tokens, int dim, float eps, float* out,
                    cudaStream_t s) {
  rmsnorm_kernel<<<n_tokens, kBlockThreads, 0, s>>>(x, w, dim, eps, out);
}

void launch_rope(float* x, int n_tokens, int n_heads, int head_dim, const int32_t* pos,
                 int rope_dim, float base, bool neox, float freq_scale, float attn_factor,
                 const float* freq_factors, cudaStream_t s) {
  rope_kernel<<<n_tokens, 128, 0, s>>>(x, n_heads, head_dim, pos, rope_dim, base, neox, freq_scale,
                                       attn_factor, freq_factors);
}

void launch_attention(const float* q, const float* k, const float* v, int n_tokens,
                      const int32_t* pos, int n_heads, int n_kv_heads, int head_dim,
                      float* scores, int max_keys, float* out, cudaStream_t s) {
  attention_kernel<<<n_tokens * n_heads, kBlockThreads, 0, s>>>(q, k, v, pos, n_heads, n_kv_heads,
                                                                head_dim, scores, max_keys, out);
}

void launch_swiglu(const float* g, const float* u, size_t n, float* out, cudaStream_t s) {
  swiglu_kernel<<<blocks_for(n), 256, 0, s>>>(g, u, n, out);
}

void launch_add_bias(float* x, const float* b, int n_tokens, int dim, cudaStream_t s) {
  size_t n = size_t(n_tokens) * dim;
  add_bias_kernel<<<blocks_for(n), 256, 0, s>>>(x, b, n, dim);
}

void launch_add(float* x, const float* y, size_t n, cudaStream_t s) {
  add_kernel<<<blocks_for(n), 256, 0, s>>>(x, y, n);
}

}  // namespace ig::kernels::cuda
