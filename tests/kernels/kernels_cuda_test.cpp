// CUDA backend against the reference backend; skipped without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

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

TEST(KernelsCuda, FactoryReportsAbsentDeviceAsError) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is present";
  auto gpu = make_backend({BackendKind::Cuda, 1});
  ASSERT_FALSE(gpu);
  EXPECT_FALSE(gpu.error().message.empty());
}

}  // namespace
}  // namespace ig::kernels
