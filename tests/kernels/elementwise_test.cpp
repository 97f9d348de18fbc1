// The elementwise kernels of every CPU table against their scalar definitions, bit for bit. The
// vectorized expf (kernels/cpu/expf_x86.hpp) against the C library's: numerics cpu/3 computed
// SwiGLU and the softmax numerators with std::exp, so the vector forms must give its bits on
// every input. In CI: every 61st of the 2^32 bit patterns, every 7th float where results turn
// subnormal (-87 to -104), every float within 2^20 patterns of 1, -1 and the largest finite
// input, the inputs where glibc's fused operations decide the rounding, and the edges. With
// IG_EXHAUSTIVE set (any value): all 2^32 (about a minute for all tables). The reference is the
// C library's expf, so run this on glibc (2.28 or later). SwiGLU against scalar::swiglu, axpy
// against its loop.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/dot.hpp"
#include "kernels/kernels.hpp"
#include "kernels/reference/scalar_ops.hpp"
#include "weights.hpp"

namespace ig::kernels {
namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Runs each table's exp_f32 over `in` in pieces of varying length (so that every tail length of
// the vector loops is taken) and counts, per table, the results whose bits differ from
// std::exp's, keeping the first.
struct Tally {
  std::vector<int64_t> bad;
  std::vector<std::string> first;
};
void check(const std::vector<const cpu::DotTable*>& ts, const std::vector<float>& in, Tally& tally) {
  std::vector<uint32_t> want(in.size());
  for (size_t k = 0; k < in.size(); ++k) want[k] = bits(std::exp(in[k]));
  tally.bad.resize(ts.size()), tally.first.resize(ts.size());
  std::vector<float> got;
  for (size_t j = 0; j < ts.size(); ++j) {
    got = in;
    size_t piece = 1;
    for (size_t i = 0; i < got.size(); piece = piece < 40 ? piece + 1 : 1) {
      const size_t n = std::min(piece < 40 ? piece : size_t(5000), got.size() - i);
      ts[j]->exp_f32(got.data() + i, int64_t(n));
      i += n;
    }
    for (size_t k = 0; k < in.size(); ++k)
      if (bits(got[k]) != want[k] && tally.bad[j]++ == 0) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "expf(%a) = %a, C library %a", double(in[k]), double(got[k]),
                      double(from_bits(want[k])));
        tally.first[j] = buf;
      }
  }
}

// Bit patterns [begin, end) in steps of stride, in chunks, through check().
void check_patterns(const std::vector<const cpu::DotTable*>& ts, uint64_t begin, uint64_t end, uint64_t stride,
                    Tally& tally) {
  std::vector<float> chunk;
  chunk.reserve(1 << 20);
  for (uint64_t u = begin; u < end; u += stride) {
    chunk.push_back(from_bits(uint32_t(u)));
    if (chunk.size() == chunk.capacity()) check(ts, chunk, tally), chunk.clear();
  }
  if (!chunk.empty()) check(ts, chunk, tally);
}

TEST(KernelsElementwise, EveryTableGivesTheCLibrarysBits) {
  const auto ts = testing::cpu_tables();
  Tally tally;
  if (std::getenv("IG_EXHAUSTIVE")) {
    check_patterns(ts, 0, uint64_t(1) << 32, 1, tally);
  } else {
    check_patterns(ts, 0, uint64_t(1) << 32, 61, tally);  // every 61st pattern: 70 million
    // where results turn subnormal (x from -87.3 to -104), every 7th
    check_patterns(ts, bits(-87.0f), bits(-104.0f), 7, tally);
    // every float within 2^20 patterns of 1 and of the results' largest finite inputs
    for (float x : {1.0f, -1.0f, 0x1.62e42ep6f})
      check_patterns(ts, bits(x) - (1u << 20), bits(x) + (1u << 20), 1, tally);
    // the two inputs where glibc's fused operations (its FMA build) decide the rounding
    check(ts, {0x1.04845ep+5f, -0x1.f8cbb2p+5f}, tally);
  }
  // the edges: signed zeros, infinities, NaNs, the thresholds and their neighbours
  std::vector<float> edges = {0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                              -std::numeric_limits<float>::quiet_NaN(), from_bits(0x7f800001u), from_bits(0xffc00001u),
                              std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::denorm_min(),
                              std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()};
  for (float x : {0x1.62e42ep6f, -0x1.9fe368p6f, -0x1.9d1d9ep6f, 88.0f, -88.0f})
    for (int d = -3; d <= 3; ++d) edges.push_back(from_bits(uint32_t(int64_t(bits(x)) + d)));
  check(ts, edges, tally);
  for (size_t j = 0; j < ts.size(); ++j)
    EXPECT_EQ(tally.bad[j], 0) << ts[j]->name << ", first: " << tally.first[j];
}

TEST(KernelsElementwise, SwigluOfEveryTableIsTheScalarOpBitwise) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> wide(-120.f, 120.f), narrow(-6.f, 6.f);
  for (const auto* t : testing::cpu_tables()) {
    SCOPED_TRACE(t->name);
    for (int n = 0; n <= 70; ++n) {
      std::vector<float> g(size_t(n) + 1), u(size_t(n) + 1);
      for (int i = 0; i < n; ++i) {
        g[size_t(i)] = (i % 3 == 0) ? wide(rng) : narrow(rng);
        u[size_t(i)] = narrow(rng);
      }
      if (n > 4) {  // the edges, somewhere in the vector or its tail
        g[size_t(n - 1)] = std::numeric_limits<float>::infinity();
        g[size_t(n - 2)] = -std::numeric_limits<float>::infinity();
        g[size_t(n - 3)] = std::numeric_limits<float>::quiet_NaN();
        g[size_t(n - 4)] = -0.0f;
      }
      const float sentinel = 12345.f;
      std::vector<float> want(size_t(n) + 1, sentinel), got(size_t(n) + 1, sentinel);
      scalar::swiglu(g.data(), u.data(), size_t(n), want.data());
      t->swiglu(g.data(), u.data(), n, got.data());
      for (size_t i = 0; i <= size_t(n); ++i)
        ASSERT_EQ(bits(got[i]), bits(want[i])) << "n " << n << " i " << i << " g " << g[i] << " u " << u[i];
    }
  }
}

TEST(KernelsElementwise, AxpyOfEveryTableIsTheLoopBitwise) {
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.f, 3.f);
  for (const auto* t : testing::cpu_tables()) {
    SCOPED_TRACE(t->name);
    for (int n = 0; n <= 70; ++n) {
      std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n) + 1);
      for (auto& v : x) v = d(rng);
      for (auto& v : y) v = d(rng);
      const float a = d(rng);
      std::vector<float> want = y, got = y;
      for (int i = 0; i < n; ++i) {
        volatile float product = a * x[size_t(i)];  // rounded before the sum, as the contract says
        want[size_t(i)] = want[size_t(i)] + product;
      }
      t->axpy(a, x.data(), n, got.data());
      for (size_t i = 0; i <= size_t(n); ++i) ASSERT_EQ(bits(got[i]), bits(want[i])) << "n " << n << " i " << i;
    }
  }
}

}  // namespace
}  // namespace ig::kernels
