// The plain reference backend: scalar loops, double accumulators, weights
// dequantized one row at a time. Slow on purpose; it is the yardstick the fast
// backends are tested against.
#pragma once

#include "kernels/kernels.hpp"

namespace ig::kernels {

class ReferenceBackend final : public Backend {
 public:
  BackendKind kind() const override { return BackendKind::Reference; }
  std::string description() const override { return "reference (scalar, double accumulation)"; }
  std::string numerics() const override { return kNumericsReference; }
  void matmul(const Weight& w, const float* x, int n_tokens, float* y) override;
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
};

}  // namespace ig::kernels
