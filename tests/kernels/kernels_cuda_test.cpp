// CUDA backend against the reference backend; skipped without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "kernels/cuda/dequant_units.cuh"
#include "kernels/kernels.hpp"
#include "weights.hpp"

namespace ig::kernels {
namespace {

using testing::kAllTypes;
using testing::make_weight;
using testing::random_floats;

TEST(KernelsCuda, MatmulMatchesReferenceAndIsBatchInvariant) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  auto gpu = make_backend({BackendKind::Cuda, 1});
  ASSERT_TRUE(gpu) << gpu.error().to_string();
  auto ref = make_backend({BackendKind::Reference, 1});
  for (DType t : kAllTypes) {
    auto w = make_weight(t, 45, 128, 5);
    const int T = 9;
    auto x = random_floats(size_t(T * 128), 6);
    std::vector<float> a(size_t(T * 45)), b(a.size()), c(a.size());
    (*ref)->matmul(w.view, x.data(), T, a.data());
    (*gpu)->matmul(w.view, x.data(), T, b.data());
    for (int tk = 0; tk < T; ++tk) (*gpu)->matmul(w.view, x.data() + tk * 128, 1, c.data() + tk * 45);
    ASSERT_TRUE((*gpu)->status());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-3 * (1 + std::fabs(a[i])));
    EXPECT_EQ(0, std::memcmp(b.data(), c.data(), b.size() * 4)) << dtype_name(t);
  }
}

TEST(KernelsCuda, AttentionNormRopeMatchReference) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  auto gpu = make_backend({BackendKind::Cuda, 1});
  ASSERT_TRUE(gpu) << gpu.error().to_string();
  auto ref = make_backend({BackendKind::Reference, 1});
  const int ctx = 7;
  AttentionShape s{4, 2, 16};
  auto q = random_floats(size_t(ctx * 64), 1), k = random_floats(size_t(ctx * 32), 2),
       v = random_floats(size_t(ctx * 32), 3);
  std::vector<int32_t> pos(ctx);
  for (int i = 0; i < ctx; ++i) pos[i] = i;
  std::vector<float> a(q.size()), b(q.size());
  (*ref)->attention(q.data(), k.data(), v.data(), ctx, pos.data(), s, a.data());
  (*gpu)->attention(q.data(), k.data(), v.data(), ctx, pos.data(), s, b.data());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4);
  auto w = random_floats(64, 4);
  (*ref)->rmsnorm(q.data(), w.data(), ctx, 64, 1e-5f, a.data());
  (*gpu)->rmsnorm(q.data(), w.data(), ctx, 64, 1e-5f, b.data());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4 * (1 + std::fabs(a[i])));
  auto q2 = q;
  (*ref)->rope(q.data(), ctx, 4, 16, pos.data(), RopeParams{16, 10000.f, true});
  (*gpu)->rope(q2.data(), ctx, 4, 16, pos.data(), RopeParams{16, 10000.f, true});
  for (size_t i = 0; i < q.size(); ++i) ASSERT_NEAR(q[i], q2[i], 1e-5);
  ASSERT_TRUE((*gpu)->status());
}

// The matmul kernel's result for one row and token as computed on the host by the same unit
// decoders and lane order (dequant_units.cuh): the device must give exactly these bits.
float host_row_dot(const testing::OwnedWeight& w, int64_t r, const float* x) {
  const uint8_t* row = w.bytes.data() + size_t(r) * row_bytes(w.view.type, w.view.cols);
  const int64_t cols = w.view.cols;
  switch (w.view.type) {
    case DType::Q4_K: return cuda::warp_dot_on_host(reinterpret_cast<const BlockQ4_K*>(row), cols, x);
    case DType::Q5_K: return cuda::warp_dot_on_host(reinterpret_cast<const BlockQ5_K*>(row), cols, x);
    case DType::Q6_K: return cuda::warp_dot_on_host(reinterpret_cast<const BlockQ6_K*>(row), cols, x);
    case DType::Q5_0: return cuda::warp_dot_on_host(reinterpret_cast<const BlockQ5_0*>(row), cols, x);
    case DType::Q5_1: return cuda::warp_dot_on_host(reinterpret_cast<const BlockQ5_1*>(row), cols, x);
    default: ADD_FAILURE() << "no host form of " << dtype_name(w.view.type); return 0.f;
  }
}

// K-quants and Q5_0/Q5_1: against the reference within the tolerance above, bitwise equal to the
// host-side form of the kernel, and batch-invariant bitwise (9 tokens: three token groups).
TEST(KernelsCuda, KQuantAndQ5MatmulMatchReferenceAndIsBatchInvariant) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  auto gpu = make_backend({BackendKind::Cuda, 1});
  ASSERT_TRUE(gpu) << gpu.error().to_string();
  auto ref = make_backend({BackendKind::Reference, 1});
  constexpr DType kTypes[] = {DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q5_0, DType::Q5_1};
  // 1536: lanes 0..15 reduce two units (48 of 32 values), the rest one; 256: only 8 lanes busy.
  for (const int64_t cols : {int64_t(1536), int64_t(256)}) {
    for (DType t : kTypes) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " cols " + std::to_string(cols));
      const int64_t rows = 45;
      auto w = make_weight(t, rows, cols, 17);
      const int T = 9;
      auto x = random_floats(size_t(T * cols), 18);
      std::vector<float> a(size_t(T * rows)), b(a.size()), c(a.size());
      (*ref)->matmul(w.view, x.data(), T, a.data());
      (*gpu)->matmul(w.view, x.data(), T, b.data());
      for (int tk = 0; tk < T; ++tk)
        (*gpu)->matmul(w.view, x.data() + tk * cols, 1, c.data() + tk * rows);
      ASSERT_TRUE((*gpu)->status()) << (*gpu)->status().error().to_string();
      for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-3 * (1 + std::fabs(a[i]))) << i;
      EXPECT_EQ(0, std::memcmp(b.data(), c.data(), b.size() * 4));
      for (int tk = 0; tk < T; ++tk)
        for (int64_t r = 0; r < rows; ++r)
          ASSERT_EQ(fp32_to_bits(b[size_t(tk * rows + r)]),
                    fp32_to_bits(host_row_dot(w, r, x.data() + tk * cols)))
              << "token " << tk << " row " << r;
      // get_rows: the reference's dequantizer, every type
      const int32_t ids[3] = {44, 0, 7};
      std::vector<float> ga(size_t(3 * cols)), gb(ga.size());
      (*ref)->get_rows(w.view, ids, 3, ga.data());
      (*gpu)->get_rows(w.view, ids, 3, gb.data());
      EXPECT_EQ(0, std::memcmp(ga.data(), gb.data(), ga.size() * 4));
    }
  }
}

// RoPE with linear scaling, attn_factor and per-dimension factors (Llama 3.1's rope_freqs), both
// pair layouts and a partial rotation: against the reference, and bitwise batch-invariant.
TEST(KernelsCuda, RopeScalingMatchesReferenceAndIsBatchInvariant) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  auto gpu = make_backend({BackendKind::Cuda, 1});
  ASSERT_TRUE(gpu) << gpu.error().to_string();
  auto ref = make_backend({BackendKind::Reference, 1});
  const int T = 6, heads = 3, head_dim = 32;
  const std::vector<int32_t> pos = {0, 1, 37, 500, 4095, 131071};
  std::vector<float> factors(16);
  for (size_t i = 0; i < factors.size(); ++i) factors[i] = 1.f + 7.f * float(i) / 15.f;
  const auto x = random_floats(size_t(T * heads * head_dim), 21);
  struct Case { int rope_dim; bool neox; float scale, attn; const float* ff; };
  const Case cases[] = {{32, false, 0.25f, 1.f, nullptr}, {32, true, 1.f, 1.2f, nullptr},
                        {32, false, 1.f, 1.f, factors.data()}, {32, true, 0.5f, 0.9f, factors.data()},
                        {16, true, 0.125f, 1.1f, factors.data()}, {16, false, 1.f, 1.f, factors.data()}};
  for (const Case& k : cases) {
    SCOPED_TRACE("rope_dim " + std::to_string(k.rope_dim) + (k.neox ? " neox" : " normal"));
    const RopeParams p{k.rope_dim, 500000.f, k.neox, k.scale, k.attn, k.ff};
    auto a = x, b = x, c = x;
    (*ref)->rope(a.data(), T, heads, head_dim, pos.data(), p);
    (*gpu)->rope(b.data(), T, heads, head_dim, pos.data(), p);
    for (int t = 0; t < T; ++t)
      (*gpu)->rope(c.data() + size_t(t) * heads * head_dim, 1, heads, head_dim, pos.data() + t, p);
    ASSERT_TRUE((*gpu)->status()) << (*gpu)->status().error().to_string();
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5 * (1 + std::fabs(a[i]))) << i;
    EXPECT_EQ(0, std::memcmp(b.data(), c.data(), b.size() * 4));
  }
}

TEST(KernelsCuda, FactoryReportsAbsentDeviceAsError) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is present";
  auto gpu = make_backend({BackendKind::Cuda, 1});
  ASSERT_FALSE(gpu);
  EXPECT_FALSE(gpu.error().message.empty());
}

}  // namespace
}  // namespace ig::kernels
