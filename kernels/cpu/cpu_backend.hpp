// The fast CPU backend: AVX2/FMA/F16C dot kernels (scalar fallback) and a
// thread pool splitting work over output rows, tokens or heads.
#pragma once

#include <vector>

#include "kernels/cpu/dot.hpp"
#include "kernels/cpu/dot_kquants.hpp"
#include "kernels/kquants.hpp"
#include "kernels/cpu/thread_pool.hpp"
#include "kernels/kernels.hpp"

namespace ig::kernels {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads);
  // A given dot-kernel table (BackendOptions::cpu_variant); the caller checked the CPU runs it.
  CpuBackend(int threads, const cpu::DotTable& table);
  BackendKind kind() const override { return BackendKind::Cpu; }
  std::string description() const override;
  int threads() const override { return pool_.size(); }
  // AVX2, AVX-VNNI and AVX-512 tables give the same bits (dot.hpp); the scalar one does not.
  std::string numerics() const override;

  void matmul(const Weight& w, const float* x, int n_tokens, float* y) override;
  // The activations quantized and packed once, for the first matrix that needs each form.
  void matmul_shared(const Weight* const* ws, int count, const float* x, int n_tokens, float* const* ys) override;
  void get_rows(const Weight& w, const int32_t* ids, int n, float* out) override;
  void rmsnorm(const float* x, const float* weight, int n_tokens, int dim, float eps,
               float* out) override;
  void rope(float* x, int n_tokens, int n_heads, int head_dim, const int32_t* positions,
            const RopeParams& p) override;
  void attention(const float* q, const float* k_cache, const float* v_cache, int n_tokens,
                 const int32_t* positions, const AttentionShape& s, float* out) override;
  void swiglu(const float* gate, const float* up, size_t n, float* out) override;
  void add_bias(float* x, const float* bias, int n_tokens, int dim) override;
  void add(float* x, const float* y, size_t n) override;

 private:
  void run(int64_t n, int64_t work_per_item, const cpu::ThreadPool::Fn& fn);
  void matmul_dense(const Weight& w, const float* x, int n_tokens, float* y);
  void matmul_quant(const Weight& w, const float* x, int n_tokens, float* y);
  void row_tiles(const uint8_t* rows, int64_t nr, int n_tokens, bool amx, float* y, const Weight& w);
  void matmul_kquant(const Weight& w, const float* x, int n_tokens, float* y);  // Q4_K/Q5_K/Q6_K, Q5_0/Q5_1
  void matmul_q5(const cpu::KQuantTable& kq, const Weight& w, const float* x, int n_tokens, float* y);

  // The buffers below that already hold the current activations. Only within matmul_shared
  // (sharing_), for its x, n_tokens and columns: prepared(what, ...) answers whether buffer
  // `what` holds them and, if not, records that the caller fills it now.
  enum Buffer : uint32_t { kXq = 1, kTiles = 2, kTokenRows = 4, kXk = 8, kKTiles = 16, kX5 = 32, kTiles5 = 64 };
  struct Activations {
    const float* x = nullptr;
    int n_tokens = 0;
    int64_t cols = 0;
    uint32_t held = 0;  // Buffer bits
  };
  bool prepared(Buffer what, const float* x, int n_tokens, int64_t cols);

  const cpu::DotTable& dot_;
  cpu::ThreadPool pool_;
  std::vector<cpu::Line64> xa_;  // activations on aligned rows for DotTable::f16_gemm/f32_gemm
  std::vector<BlockQ8_0> xq_;  // activations quantized for Q8_0/Q4_0 weights
  std::vector<cpu::TokenTile> tiles_;  // ... packed for DotTable::q8_0_gemm/q4_0_gemm (AMX)
  std::vector<cpu::TokenRows> token_rows_;  // ... and for DotTable::q4_0x16_gemm
  std::vector<BlockQ8_K> xk_;  // activations quantized to Q8_K for the K-quant weights
  std::vector<cpu::KTokenTile> ktiles_;  // ... packed for DotTable::q4_k_gemm (AMX)
  std::vector<BlockQ8_0> x5_;  // ... and to Q8_0 for Q5_0/Q5_1 weights
  std::vector<int32_t> x5sum_;  // their q8_lane_sums (Q5_0)
  std::vector<cpu::TokenTile> tiles5_;  // ... packed for DotTable::q5_0_gemm (AMX)
  bool sharing_ = false;
  Activations acts_;
};

}  // namespace ig::kernels
