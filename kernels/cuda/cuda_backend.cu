// CUDA backend behind the host-buffer Backend interface. Weights are uploaded
// once (keyed by their host address, which stays valid for the life of the
// memory-mapped model). The buffers the graph binds (Backend::bind: its activations and each
// KV cache) live on the device between ops (kernels/residency.hpp): an op reads and writes their
// device copies, the KV rows and the output head's rows move device to device (copy), and only
// the logits the host reads come down (to_host). Norm and bias vectors go up once per address
// and are reused while their bytes match a host copy (param); the positions go up when they
// differ from the last ones (device_positions). Other unbound pointers (a test's arrays) are copied
// per call.
//
// Every op and weight type of the CPU backends runs here: matmul on device for F32, F16, Q8_0,
// Q4_0, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K (the last five dequantized on the fly exactly as the
// reference, dequant_units.cuh), RoPE with freq_scale, attn_factor and rope_freqs (uploaded once
// per address, like a weight). get_rows dequantizes on the host with the reference's
// dequantizer, so it covers every type: a step reads a few rows of the token embedding, and
// keeping that table in host memory (as llama.cpp does) spares vocab x dim of device memory
// (295 MB for a Llama-3-8B Q4_K_M) for an upload of dim floats per token. Compiled for sm_80/sm_90 but
// not yet run on hardware: the kernels' results are checked on a device by
// tests/kernels/kernels_cuda_test.cpp, and their dequantization and per-lane order on the CPU by
// tests/kernels/cuda_dequant_test.cpp.
#include <cuda_runtime.h>

#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/cuda_entry.hpp"
#include "kernels/cuda/device_kernels.cuh"
#include "kernels/interleave.hpp"
#include "kernels/reference/scalar_ops.hpp"
#include "kernels/residency.hpp"

namespace ig::kernels {
namespace {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), size_(o.size_) { o.ptr_ = nullptr; o.size_ = 0; }
  ~DeviceBuffer() { if (ptr_) cudaFree(ptr_); }
  cudaError_t reserve(size_t bytes) {
    if (bytes <= size_) return cudaSuccess;
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    size_ = 0;
    cudaError_t e = cudaMalloc(&ptr_, bytes);
    if (e == cudaSuccess) size_ = bytes;
    return e;
  }
  template <typename T> T* as() const { return static_cast<T*>(ptr_); }

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

// Residency's memory policy: device buffers and transfers on the backend's stream (a download
// waits for it: the host reads right after).
struct CudaMemory {
  using Buffer = DeviceBuffer;
  cudaStream_t* stream;
  bool alloc(Buffer& b, size_t n) { return b.reserve(n * sizeof(float)) == cudaSuccess; }
  float* data(const Buffer& b) { return b.as<float>(); }
  bool upload(float* dev, const float* host, size_t n) {
    return cudaMemcpyAsync(dev, host, n * sizeof(float), cudaMemcpyHostToDevice, *stream) == cudaSuccess;
  }
  bool download(float* host, const float* dev, size_t n) {
    return cudaMemcpyAsync(host, dev, n * sizeof(float), cudaMemcpyDeviceToHost, *stream) == cudaSuccess &&
           cudaStreamSynchronize(*stream) == cudaSuccess;
  }
};

class CudaBackend final : public Backend {
 public:
  CudaBackend() { check(cudaStreamCreate(&stream_), "cudaStreamCreate"); }
  ~CudaBackend() override { if (stream_) cudaStreamDestroy(stream_); }

  BackendKind kind() const override { return BackendKind::Cuda; }
  std::string description() const override {
    cudaDeviceProp p{};
    int dev = 0;
    cudaGetDevice(&dev);
    cudaGetDeviceProperties(&p, dev);
    return std::string("cuda (") + p.name + ")";
  }
  // One tag for every device: the kernels use explicit __fmaf_rn, IEEE division/sqrt (nvcc's
  // defaults) and fixed-order reductions, so the bits should not depend on the architecture
  // the code was compiled for. Not yet compared across two GPU models: if they differ, the
  // tag must name the architecture (kernels.hpp).
  std::string numerics() const override { return kNumericsCuda; }
  Status status() const override {
    if (error_.empty()) return {};
    return fail("kernels.cuda_error", error_);
  }

  void matmul(const Weight& w, const float* x, int n_tokens, float* y) override {
    const void* dw = weight(w);
    if (!dw) return;
    const size_t nx = size_t(n_tokens) * w.cols, ny = size_t(n_tokens) * w.rows;
    const float* dx = in(x, nx, a_);
    float* dy = out(y, ny, b_, false);
    if (!dx || !dy) return;
    cuda::launch_matmul(w.type, dw, row_bytes(w.type, w.cols), w.rows, w.cols, dx, n_tokens, dy, stream_);
    done(y, ny, b_);
  }

  // Dequantized on the host with the reference's dequantizer (a few rows per step; the table
  // stays in host memory, see the top of this file), then put where `out` lives.
  void get_rows(const Weight& w, const int32_t* ids, int n, float* out) override {
    const size_t total = size_t(n) * size_t(w.cols);
    if (!residency_.bound(out, total)) {
      for (int t = 0; t < n; ++t) scalar::dequantize_row(w, ids[t], out + size_t(t) * w.cols);
      return;
    }
    rows_.resize(total);
    for (int t = 0; t < n; ++t) scalar::dequantize_row(w, ids[t], rows_.data() + size_t(t) * w.cols);
    float* d = this->out(out, total, b_, false);
    if (d) check(cudaMemcpyAsync(d, rows_.data(), total * sizeof(float), cudaMemcpyHostToDevice, stream_),
                 "cudaMemcpy H2D");
  }

  void rmsnorm(const float* x, const float* weight, int n_tokens, int dim, float eps,
               float* out) override {
    const size_t n = size_t(n_tokens) * dim;
    const float* dx = in(x, n, a_);
    const float* dw = param(weight, size_t(dim));
    float* dout = this->out(out, n, b_, false);  // may be dx (in place: each row is read before it is written)
    if (!dx || !dw || !dout) return;
    cuda::launch_rmsnorm(dx, dw, n_tokens, dim, eps, dout, stream_);
    done(out, n, b_);
  }

  void rope(float* x, int n_tokens, int n_heads, int head_dim, const int32_t* positions,
            const RopeParams& p) override {
    const size_t n = size_t(n_tokens) * n_heads * head_dim;
    const float* factors = nullptr;
    if (p.freq_factors && p.rope_dim >= 2 &&
        !(factors = freq_factors(p.freq_factors, p.rope_dim / 2)))
      return;
    float* dx = out(x, n, a_, true);
    const int32_t* dpos = device_positions(positions, n_tokens);
    if (!dx || !dpos) return;
    cuda::launch_rope(dx, n_tokens, n_heads, head_dim, dpos, p.rope_dim, p.freq_base, p.neox,
                      p.freq_scale, p.attn_factor, factors, stream_);
    done(x, n, a_);
  }

  void attention(const float* q, const float* k_cache, const float* v_cache, int n_tokens,
                 const int32_t* positions, const AttentionShape& s, float* out) override {
    int max_keys = 0;
    for (int t = 0; t < n_tokens; ++t) max_keys = std::max(max_keys, positions[t] + 1);
    const size_t nq = size_t(n_tokens) * s.n_heads * s.head_dim;
    const size_t nkv = size_t(max_keys) * s.n_kv_heads * s.head_dim;
    const float* dq = in(q, nq, a_);
    const float* dk = in(k_cache, nkv, c_);
    const float* dv = in(v_cache, nkv, d_);
    float* dout = this->out(out, nq, b_, false);
    const int32_t* dpos = dq && dk && dv && dout ? device_positions(positions, n_tokens) : nullptr;
    if (!dpos || !reserve(scores_, size_t(n_tokens) * s.n_heads * max_keys)) return;
    cuda::launch_attention(dq, dk, dv, n_tokens, dpos, s.n_heads, s.n_kv_heads, s.head_dim,
                           scores_.as<float>(), max_keys, dout, stream_);
    done(out, nq, b_);
  }

  void swiglu(const float* gate, const float* up, size_t n, float* out) override {
    const float* dg = in(gate, n, a_);
    const float* du = in(up, n, c_);
    float* dout = this->out(out, n, b_, false);  // may be dg: elementwise, in place is safe
    if (!dg || !du || !dout) return;
    cuda::launch_swiglu(dg, du, n, dout, stream_);
    done(out, n, b_);
  }

  void add_bias(float* x, const float* bias, int n_tokens, int dim) override {
    const size_t n = size_t(n_tokens) * dim;
    float* dx = out(x, n, a_, true);
    const float* db = param(bias, size_t(dim));
    if (!dx || !db) return;
    cuda::launch_add_bias(dx, db, n_tokens, dim, stream_);
    done(x, n, a_);
  }

  void add(float* x, const float* y, size_t n) override {
    float* dx = out(x, n, a_, true);
    const float* dy = in(y, n, c_);
    if (!dx || !dy) return;
    cuda::launch_add(dx, dy, n, stream_);
    done(x, n, a_);
  }

  std::shared_ptr<void> bind(float* p, size_t n) override { return residency_.bind(p, n); }

  void copy(const float* src, float* dst, size_t n) override {
    if (!error_.empty()) return;
    const bool src_dev = residency_.bound(src, n), dst_dev = residency_.bound(dst, n);
    if (!src_dev && !dst_dev) {
      std::memcpy(dst, src, n * sizeof(float));
      return;
    }
    if (!dst_dev) {  // device to host
      residency_.to_host(src, n);
      std::memcpy(dst, src, n * sizeof(float));
      residency_ok();
      return;
    }
    const float* s = src_dev ? residency_.read(src, n) : src;
    float* d = residency_.write(dst, n);
    if (!residency_ok() || !s || !d) return;
    check(cudaMemcpyAsync(d, s, n * sizeof(float), src_dev ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice,
                          stream_),
          "cudaMemcpy");
  }

  void to_host(const float* p, size_t n) override {
    if (!error_.empty()) return;
    if (!check(cudaGetLastError(), "kernel launch")) return;
    residency_.to_host(p, n);
    residency_ok();
  }


 private:
  bool check(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return error_.empty();
    if (error_.empty()) error_ = std::string(what) + ": " + cudaGetErrorString(e);
    return false;
  }
  bool reserve(DeviceBuffer& b, size_t floats) {
    return error_.empty() && check(b.reserve(floats * sizeof(float)), "cudaMalloc");
  }
  bool upload(DeviceBuffer& b, const float* src, size_t n) {
    return reserve(b, n) &&
           check(cudaMemcpyAsync(b.as<float>(), src, n * 4, cudaMemcpyHostToDevice, stream_),
                 "cudaMemcpy H2D");
  }
  // The device copy of an op's positions src[0..n). A pass's RoPE (all its tokens) and each
  // sequence's attention (a run of the same array) read the same host array in every layer, so
  // a run inside the last upload, with the same values (compared on the host), is served from
  // it: the positions go up once per pass.
  const int32_t* device_positions(const int32_t* src, int n) {
    if (!error_.empty()) return nullptr;
    const auto at = reinterpret_cast<uintptr_t>(src), base = reinterpret_cast<uintptr_t>(pos_src_);
    if (pos_src_ && at >= base && (at - base) % sizeof(int32_t) == 0) {
      const size_t off = (at - base) / sizeof(int32_t);
      if (off + size_t(n) <= pos_host_.size() &&
          std::memcmp(pos_host_.data() + off, src, size_t(n) * sizeof(int32_t)) == 0)
        return pos_.as<int32_t>() + off;
    }
    pos_src_ = nullptr;
    pos_host_.clear();
    if (!check(pos_.reserve(size_t(n) * sizeof(int32_t)), "cudaMalloc") ||
        !check(cudaMemcpyAsync(pos_.as<int32_t>(), src, size_t(n) * sizeof(int32_t), cudaMemcpyHostToDevice, stream_),
               "cudaMemcpy H2D"))
      return nullptr;
    pos_src_ = src;
    pos_host_.assign(src, src + n);
    return pos_.as<int32_t>();
  }
  // A norm's or a bias's vector (n floats of the mapped model): uploaded once per address and
  // reused while its bytes are unchanged, compared with a host copy (a test's vector freed and
  // another allocated at its address goes up again). Bound buffers are read where they live.
  const float* param(const float* host, size_t n) {
    if (residency_.bound(host, n)) return in(host, n, c_);
    auto it = params_.find(host);
    if (it != params_.end() && it->second.host.size() == n &&
        std::memcmp(it->second.host.data(), host, n * sizeof(float)) == 0)
      return it->second.buf.as<float>();
    if (!error_.empty()) return nullptr;
    if (params_.size() >= kMaxParams) params_.clear();  // a model has a few hundred; tests, more
    DeviceParam p{DeviceBuffer{}, std::vector<float>(host, host + n)};
    if (!check(p.buf.reserve(n * sizeof(float)), "cudaMalloc norm/bias") ||
        !check(cudaMemcpyAsync(p.buf.as<void>(), p.host.data(), n * sizeof(float), cudaMemcpyHostToDevice, stream_),
               "upload norm/bias"))
      return nullptr;
    const float* d = p.buf.as<float>();
    params_.erase(host);  // by key: `it` may be gone (the clear above)
    params_.emplace(host, std::move(p));
    return d;
  }
  bool residency_ok() {
    if (residency_.failed() && error_.empty()) error_ = "device residency: a transfer or allocation failed";
    return error_.empty();
  }
  // An op's input p[0..n): its device copy when bound, else uploaded into `scratch`.
  const float* in(const float* p, size_t n, DeviceBuffer& scratch) {
    if (!error_.empty()) return nullptr;
    if (residency_.bound(p, n)) {
      const float* d = residency_.read(p, n);
      return residency_ok() ? d : nullptr;
    }
    return upload(scratch, p, n) ? scratch.as<float>() : nullptr;
  }
  // An op's output p[0..n) (read first too when `inout`): its device copy when bound, else
  // `scratch`, which done() brings down.
  float* out(float* p, size_t n, DeviceBuffer& scratch, bool inout) {
    if (!error_.empty()) return nullptr;
    if (residency_.bound(p, n)) {
      float* d = residency_.write(p, n);
      return residency_ok() ? d : nullptr;
    }
    if (inout) return upload(scratch, p, n) ? scratch.as<float>() : nullptr;
    return reserve(scratch, n) ? scratch.as<float>() : nullptr;
  }
  void done(float* p, size_t n, const DeviceBuffer& scratch) {
    if (residency_.bound(p, n))
      check(cudaGetLastError(), "kernel launch");
    else
      download(p, scratch, n);
  }
  void download(float* dst, const DeviceBuffer& b, size_t n) {
    if (!check(cudaGetLastError(), "kernel launch")) return;
    if (!check(cudaMemcpyAsync(dst, b.as<float>(), n * 4, cudaMemcpyDeviceToHost, stream_),
               "cudaMemcpy D2H"))
      return;
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }
  // A cached copy is reused only for the same type and shape: a host address freed and reused
  // for another matrix (tests build many) must not be served another matrix's bytes. Within a
  // model the address identifies the tensor for the model's life.
  const void* weight(const Weight& w) {
    auto it = weights_.find(w.data);
    if (it != weights_.end() && it->second.type == w.type && it->second.rows == w.rows &&
        it->second.cols == w.cols && it->second.layout == w.layout)
      return it->second.buf.as<void>();
    if (!error_.empty()) return nullptr;
    const size_t bytes = row_bytes(w.type, w.cols) * size_t(w.rows);
    // The device kernels read GGUF rows: a regrouped matrix (Layout::Interleaved16) goes up in that
    // order, regrouped back on the host once.
    std::vector<uint8_t> rows;
    if (w.layout != Layout::Rows) rows = rows_layout_bytes(w);
    const void* src = w.layout != Layout::Rows ? static_cast<const void*>(rows.data()) : w.data;
    DeviceBuffer buf;
    if (!check(buf.reserve(bytes), "cudaMalloc weights") ||
        !check(cudaMemcpy(buf.as<void>(), src, bytes, cudaMemcpyHostToDevice), "upload weights"))
      return nullptr;
    const void* p = buf.as<void>();
    if (it != weights_.end()) weights_.erase(it);
    weights_.emplace(w.data, DeviceWeight{std::move(buf), w.type, w.rows, w.cols, w.layout});
    return p;
  }
  // RopeParams::freq_factors (rope_dim/2 floats): like a weight, a host pointer into the mapped
  // model, uploaded once per address (again when a longer run of it is asked for).
  const float* freq_factors(const float* host, int n) {
    auto it = factors_.find(host);
    if (it != factors_.end() && it->second.n >= n) return it->second.buf.as<float>();
    if (!error_.empty()) return nullptr;
    DeviceBuffer buf;
    if (!check(buf.reserve(size_t(n) * sizeof(float)), "cudaMalloc rope_freqs") ||
        !check(cudaMemcpy(buf.as<void>(), host, size_t(n) * sizeof(float), cudaMemcpyHostToDevice),
               "upload rope_freqs"))
      return nullptr;
    const float* p = buf.as<float>();
    if (it != factors_.end()) factors_.erase(it);
    factors_.emplace(host, DeviceFactors{std::move(buf), n});
    return p;
  }

  struct DeviceWeight {
    DeviceBuffer buf;
    DType type;
    int64_t rows, cols;
    Layout layout;
  };
  struct DeviceFactors {
    DeviceBuffer buf;
    int n;
  };
  struct DeviceParam {
    DeviceBuffer buf;
    std::vector<float> host;  // the bytes uploaded (the async copy reads them, not the caller's)
  };
  static constexpr size_t kMaxParams = 4096;

  cudaStream_t stream_ = nullptr;
  std::string error_;
  CudaMemory memory_{&stream_};
  Residency<CudaMemory> residency_{memory_};
  std::vector<float> rows_;  // get_rows' host staging
  std::unordered_map<const void*, DeviceWeight> weights_;
  std::unordered_map<const float*, DeviceFactors> factors_;
  std::unordered_map<const float*, DeviceParam> params_;
  const int32_t* pos_src_ = nullptr;  // the host array pos_ was uploaded from
  std::vector<int32_t> pos_host_;     // and its values then
  DeviceBuffer a_, b_, c_, d_, pos_, scores_;
};

}  // namespace

bool cuda_available() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

Expected<std::unique_ptr<Backend>> make_cuda_backend() {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) return fail("kernels.no_gpu", std::string("no CUDA device: ") + cudaGetErrorString(e));
  if (n <= 0) return fail("kernels.no_gpu", "no CUDA device present");
  auto b = std::make_unique<CudaBackend>();
  auto st = b->status();
  if (!st) return fail(st.error());
  return std::unique_ptr<Backend>(std::move(b));
}

}  // namespace ig::kernels
