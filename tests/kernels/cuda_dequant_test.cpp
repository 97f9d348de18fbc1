// The CUDA matmul's dequantization and per-lane order (kernels/cuda/dequant_units.cuh, the same
// __host__ __device__ lines the device kernels run), checked on the CPU: needs no GPU and no
// CUDA, so a block-layout or index mistake in the device kernels shows here, on every build.
//   - every value of random blocks (every bit of quants, high bits and packed scales) equals the
//     reference backend's dequantization bit for bit;
//   - each lane's partial is the FMA chain over its units of the reference's values, in order;
//   - the warp's sum matches the reference matmul within the CUDA tests' tolerance.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cuda/dequant_units.cuh"
#include "kernels/kernels.hpp"
#include "weights.hpp"

namespace ig::kernels {
namespace {

using testing::make_weight;
using testing::random_floats;

std::unique_ptr<Backend> reference() {
  auto b = make_backend({BackendKind::Reference, 1});
  EXPECT_TRUE(b) << b.error().to_string();
  return std::move(*b);
}

// Random bytes, then fp16 scales drawn from normal magnitudes of both signs plus fp16
// subnormals (the exact conversions must agree there too); no inf/nan.
uint16_t random_scale(std::mt19937& rng) {
  const uint32_t pick = rng() % 8;
  if (pick == 0) return uint16_t((rng() & 0x03ff) | ((rng() & 1) << 15));  // subnormal or zero
  std::uniform_real_distribution<float> u(0.0005f, 0.2f);
  const float v = u(rng);
  return fp32_to_fp16(pick < 3 ? -v : v);
}

template <typename Block>
std::vector<Block> random_blocks(size_t n, uint32_t seed) {
  std::vector<Block> v(n);
  std::mt19937 rng(seed);
  std::vector<uint8_t> bytes(n * sizeof(Block));
  for (auto& b : bytes) b = uint8_t(rng());
  std::memcpy(v.data(), bytes.data(), bytes.size());
  for (auto& b : v) {
    b.d = random_scale(rng);
    if constexpr (requires { b.dmin; }) b.dmin = random_scale(rng);
    if constexpr (requires { b.m; }) b.m = random_scale(rng);
  }
  return v;
}

template <typename Block> constexpr DType kTypeOf = DType::F32;
template <> constexpr DType kTypeOf<BlockQ4_K> = DType::Q4_K;
template <> constexpr DType kTypeOf<BlockQ5_K> = DType::Q5_K;
template <> constexpr DType kTypeOf<BlockQ6_K> = DType::Q6_K;
template <> constexpr DType kTypeOf<BlockQ5_0> = DType::Q5_0;
template <> constexpr DType kTypeOf<BlockQ5_1> = DType::Q5_1;

template <typename Block> constexpr int64_t kValuesPerBlock = kQK_K;
template <> constexpr int64_t kValuesPerBlock<BlockQ5_0> = kBlock;
template <> constexpr int64_t kValuesPerBlock<BlockQ5_1> = kBlock;

uint32_t bits(float f) { return fp32_to_bits(f); }

template <typename Block>
void check_dequant(int64_t rows, int64_t cols, uint32_t seed) {
  const int64_t per_row = cols / kValuesPerBlock<Block>;
  auto blocks = random_blocks<Block>(size_t(rows * per_row), seed);
  const Weight w{kTypeOf<Block>, blocks.data(), rows, cols};
  ASSERT_EQ(row_bytes(w.type, cols), size_t(per_row) * sizeof(Block));
  std::vector<int32_t> ids(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) ids[size_t(r)] = int32_t(r);
  std::vector<float> want(static_cast<size_t>(rows * cols));
  reference()->get_rows(w, ids.data(), int(rows), want.data());
  for (int64_t r = 0; r < rows; ++r) {
    const Block* row = blocks.data() + r * per_row;
    for (int64_t u = 0; u < cols / cuda::kUnit; ++u) {
      const auto dec = cuda::row_unit(row, u);
      for (int l = 0; l < cuda::kUnit; ++l) {
        const float ref = want[size_t(r * cols + u * cuda::kUnit + l)];
        ASSERT_EQ(bits(dec(l)), bits(ref))
            << dtype_name(w.type) << " row " << r << " unit " << u << " value " << l << ": "
            << dec(l) << " vs " << ref;
      }
    }
  }
}

TEST(CudaDequantOnHost, UnitsEqualReferenceBitwise) {
  check_dequant<BlockQ4_K>(7, 1024, 1);
  check_dequant<BlockQ5_K>(7, 1024, 2);
  check_dequant<BlockQ6_K>(7, 1024, 3);
  check_dequant<BlockQ5_0>(7, 1024, 4);
  check_dequant<BlockQ5_1>(7, 1024, 5);
  // 22-byte Q5_0 blocks at odd indices (qh not 4-byte aligned), a one-block row
  check_dequant<BlockQ5_0>(5, 32, 6);
  check_dequant<BlockQ6_K>(3, 256, 7);
}

// Each lane: units lane, lane+32, ... of the reference's values, one fmaf each, in value order;
// then the warp's sum against the reference matmul (double sums) within the CUDA test's bound.
template <typename Block>
void check_dot(int64_t cols, uint32_t seed) {
  const DType t = kTypeOf<Block>;
  SCOPED_TRACE(std::string(dtype_name(t)) + " cols " + std::to_string(cols));
  const int64_t rows = 3;
  auto w = make_weight(t, rows, cols, seed);
  auto x = random_floats(size_t(cols), seed + 100);
  std::vector<float> want(static_cast<size_t>(rows)), deq(static_cast<size_t>(cols));
  auto ref = reference();
  ref->matmul(w.view, x.data(), 1, want.data());
  const size_t rb = row_bytes(t, cols);
  for (int64_t r = 0; r < rows; ++r) {
    const auto* row = reinterpret_cast<const Block*>(w.bytes.data() + size_t(r) * rb);
    const int32_t id = int32_t(r);
    ref->get_rows(w.view, &id, 1, deq.data());
    for (int lane = 0; lane < 32; ++lane) {
      float acc = 0.f;
      for (int64_t u = lane; u < cols / 32; u += 32)
        for (int64_t c = u * 32; c < u * 32 + 32; ++c) acc = std::fma(deq[size_t(c)], x[size_t(c)], acc);
      ASSERT_EQ(bits(cuda::unit_lane_dot(row, cols, x.data(), lane)), bits(acc)) << "lane " << lane;
    }
    const float got = cuda::warp_dot_on_host(row, cols, x.data());
    EXPECT_NEAR(got, want[size_t(r)], 1e-3 * (1 + std::fabs(want[size_t(r)]))) << "row " << r;
  }
}

TEST(CudaDequantOnHost, LaneOrderAndWarpSumMatchReference) {
  // 256: a few lanes busy; 1536: lanes 0..15 take two units; 8192: eight units per lane.
  for (int64_t cols : {256, 1536, 8192}) {
    check_dot<BlockQ4_K>(cols, 11);
    check_dot<BlockQ5_K>(cols, 12);
    check_dot<BlockQ6_K>(cols, 13);
  }
  for (int64_t cols : {32, 96, 1344, 4864}) {
    check_dot<BlockQ5_0>(cols, 14);
    check_dot<BlockQ5_1>(cols, 15);
  }
}

}  // namespace
}  // namespace ig::kernels
