// Backend::matmul_shared: several matrices with one input, the activations quantized and packed
// once (CpuBackend) — each output bitwise what its own matmul gives, whatever the mix of types
// and layouts, the token count, the variant and the thread count.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "kernels/cpu/dot.hpp"
#include "kernels/interleave.hpp"
#include "kernels/kernels.hpp"
#include "weights.hpp"

namespace ig::kernels {
namespace {

using testing::make_weight;
using testing::OwnedWeight;
using testing::random_floats;

std::vector<std::string> variants() {
  std::vector<std::string> v = {"scalar"};
  if (cpu_has_avx2()) v.push_back("avx2");
  if (cpu_has_avx2() && cpu::cpu_has_avxvnni()) v.push_back("avxvnni");
  if (cpu_has_avx2() && cpu::cpu_has_avx512()) v.push_back("avx512");
  if (cpu_has_avx2() && cpu::cpu_has_avx512() && cpu::cpu_has_amx() && cpu::cpu_has_gfni()) v.push_back("avx512-amx");
  return v;
}

// One input's matrices as a model mixes them: every weight type (Q8_0/Q4_0 in both layouts,
// Q5_0/Q5_1, Q4_K/Q5_K/Q6_K, F16/F32), so every form the activations are prepared in, the same
// form twice apart, and row counts with partial tiles.
std::vector<OwnedWeight> mixed_matrices(int64_t cols) {
  std::vector<OwnedWeight> ws;
  ws.push_back(make_weight(DType::Q4_0, 67, cols, 1));
  ws.push_back(make_weight(DType::Q8_0, 48, cols, 2));
  interleave(DType::Q8_0, ws.back().bytes.data(), 48, cols);
  ws.back().view.layout = Layout::Interleaved16;
  ws.push_back(make_weight(DType::Q4_K, 32, cols, 3));
  ws.push_back(make_weight(DType::Q5_0, 35, cols, 4));
  ws.push_back(make_weight(DType::Q4_0, 64, cols, 5));
  interleave(DType::Q4_0, ws.back().bytes.data(), 64, cols);
  ws.back().view.layout = Layout::Interleaved16;
  ws.push_back(make_weight(DType::Q6_K, 16, cols, 6));
  ws.push_back(make_weight(DType::Q5_1, 16, cols, 7));
  ws.push_back(make_weight(DType::F16, 20, cols, 8));
  ws.push_back(make_weight(DType::Q8_0, 19, cols, 9));
  ws.push_back(make_weight(DType::Q5_0, 16, cols, 10));
  ws.push_back(make_weight(DType::Q5_K, 17, cols, 11));
  ws.push_back(make_weight(DType::F32, 18, cols, 12));
  return ws;
}

TEST(KernelsMatmulShared, EachOutputIsItsOwnMatmulBitwise) {
  const int64_t cols = 768;  // whole K-quant super-blocks
  const auto ws = mixed_matrices(cols);
  std::vector<const Weight*> views;
  for (const auto& w : ws) views.push_back(&w.view);
  for (const auto& v : variants())
    for (int threads : {1, 2}) {
      // the separate matmuls on a backend of their own, so that what they leave in its buffers
      // cannot stand in for what matmul_shared fails to prepare
      auto b = make_backend({BackendKind::Cpu, threads, v}), solo = make_backend({BackendKind::Cpu, threads, v});
      ASSERT_TRUE(b && solo) << v;
      for (int n : {1, 4, 5, 17, 64}) {
        const auto x = random_floats(size_t(n * cols), uint32_t(100 + n));
        std::vector<std::vector<float>> want(ws.size()), got(ws.size());
        std::vector<float*> outs;
        for (size_t i = 0; i < ws.size(); ++i) {
          want[i].resize(size_t(n * ws[i].view.rows));
          got[i].assign(want[i].size(), -1.f);
          (*solo)->matmul(ws[i].view, x.data(), n, want[i].data());
          outs.push_back(got[i].data());
        }
        (*b)->matmul_shared(views.data(), int(views.size()), x.data(), n, outs.data());
        for (size_t i = 0; i < ws.size(); ++i)
          ASSERT_EQ(0, std::memcmp(want[i].data(), got[i].data(), want[i].size() * 4))
              << v << " threads " << threads << " tokens " << n << " matrix " << i << " ("
              << dtype_name(ws[i].view.type) << ")";
      }
    }
}

// The prepared activations belong to one call: a second call with new values at the same
// address (the graph's buffers are reused every layer) quantizes them afresh, and so does a
// plain matmul in between.
TEST(KernelsMatmulShared, NothingCarriesOverBetweenCalls) {
  const int64_t cols = 768;
  const auto ws = mixed_matrices(cols);
  std::vector<const Weight*> views;
  for (const auto& w : ws) views.push_back(&w.view);
  auto b = make_backend({BackendKind::Cpu, 2});
  ASSERT_TRUE(b);
  const int n = 21;
  std::vector<float> x(size_t(n * cols));
  std::vector<std::vector<float>> got(ws.size());
  std::vector<float*> outs;
  for (size_t i = 0; i < ws.size(); ++i) {
    got[i].resize(size_t(n * ws[i].view.rows));
    outs.push_back(got[i].data());
  }
  for (uint32_t round = 0; round < 3; ++round) {
    const auto values = random_floats(x.size(), 200 + round);
    std::copy(values.begin(), values.end(), x.begin());
    (*b)->matmul_shared(views.data(), int(views.size()), x.data(), n, outs.data());
    for (size_t i = 0; i < ws.size(); ++i) {
      std::vector<float> want(got[i].size());
      (*b)->matmul(ws[i].view, x.data(), n, want.data());
      ASSERT_EQ(0, std::memcmp(want.data(), got[i].data(), want.size() * 4)) << "round " << round << " matrix " << i;
    }
  }
}

}  // namespace
}  // namespace ig::kernels
