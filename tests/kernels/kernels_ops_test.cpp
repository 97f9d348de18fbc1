// Fast CPU backend against the reference backend, and the batch/thread
// invariance the engine's bitwise guarantees rest on.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <thread>

#include "inference/gguf/quant.hpp"
#include "kernels/cpu/dot.hpp"
#include "kernels/cpu/thread_pool.hpp"
#include "kernels/formats.hpp"
#include "kernels/kernels.hpp"
#include "weights.hpp"

namespace ig::kernels {
namespace {

using testing::kAllTypes;
using testing::make_weight;
using testing::random_floats;

std::unique_ptr<Backend> backend(BackendKind k, int threads = 1) {
  auto b = make_backend({k, threads});
  EXPECT_TRUE(b) << b.error().to_string();
  return std::move(*b);
}

// |fast - ref| <= tol * sum_c |w_rc x_c|: a bound scaled to the dot's own size.
double matmul_bound(const Weight& w, const float* x, int64_t r) {
  std::vector<float> row(size_t(w.cols));
  backend(BackendKind::Reference)->get_rows(w, std::vector<int32_t>{int32_t(r)}.data(), 1, row.data());
  double s = 0;
  for (int64_t c = 0; c < w.cols; ++c) s += std::fabs(double(row[c]) * x[c]);
  return s;
}

double tolerance_for(DType t) {
  // dense: float32 rounding; quantized: the activation is quantized to Q8_0
  // (relative error ~1/254 per element) on the fast path only.
  return (t == DType::F32 || t == DType::F16) ? 1e-5 : 1.5e-2;
}

TEST(KernelsFp16, ConversionMatchesGgufReferenceForEveryHalf) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float a = fp16_to_fp32(uint16_t(h)), b = gguf::fp16_to_fp32(uint16_t(h));
    if (std::isnan(b)) { EXPECT_TRUE(std::isnan(a)); continue; }
    ASSERT_EQ(fp32_to_bits(a), fp32_to_bits(b)) << h;
    ASSERT_EQ(fp32_to_fp16(a), uint16_t(h)) << h;  // round trip of every non-NaN half
  }
  EXPECT_EQ(fp32_to_fp16(65520.f), 0x7c00);  // rounds to inf
  EXPECT_EQ(fp32_to_fp16(1.0f + 1.0f / 4096), 0x3c00);  // tie to even
}

TEST(KernelsTypes, RowBytesAndShapeChecks) {
  EXPECT_EQ(row_bytes(DType::F32, 64), 256u);
  EXPECT_EQ(row_bytes(DType::F16, 64), 128u);
  EXPECT_EQ(row_bytes(DType::Q8_0, 64), 68u);
  EXPECT_EQ(row_bytes(DType::Q4_0, 64), 36u);
  EXPECT_FALSE(row_shape_valid(DType::Q4_0, 48));
  EXPECT_TRUE(row_shape_valid(DType::F16, 172));
  EXPECT_FALSE(dtype_supported(10));  // Q2_K (Q4_K/Q5_K/Q6_K: kquants_test.cpp)
  EXPECT_FALSE(make_backend({BackendKind::Cpu, -1}));
  EXPECT_FALSE(parse_backend_kind("tpu"));
}

TEST(KernelsDequant, ReferenceRowsMatchGgufDequantizer) {
  for (DType t : kAllTypes) {
    auto w = make_weight(t, 3, 64, 7);
    std::vector<float> a(64), b(64);
    for (int32_t r = 0; r < 3; ++r) {
      backend(BackendKind::Reference)->get_rows(w.view, &r, 1, a.data());
      ASSERT_TRUE(gguf::dequantize_row(gguf::TensorType(uint32_t(t)),
                                       w.bytes.data() + r * row_bytes(t, 64), b.data(), 64));
      for (int i = 0; i < 64; ++i) ASSERT_EQ(a[i], b[i]) << dtype_name(t);
    }
  }
}

class KernelsMatmul : public ::testing::TestWithParam<DType> {};

TEST_P(KernelsMatmul, FastMatchesReferenceWithinTolerance) {
  const DType t = GetParam();
  const int64_t cols = (t == DType::F32 || t == DType::F16) ? 172 : 160;  // 172: a ragged tail
  auto w = make_weight(t, 37, cols, 11);
  const int T = 6;
  const auto x = random_floats(size_t(T * cols), 12);
  std::vector<float> ref(size_t(T * 37)), fast(ref.size());
  backend(BackendKind::Reference)->matmul(w.view, x.data(), T, ref.data());
  backend(BackendKind::Cpu, 2)->matmul(w.view, x.data(), T, fast.data());
  for (int tk = 0; tk < T; ++tk)
    for (int64_t r = 0; r < 37; ++r) {
      const double bound = tolerance_for(t) * matmul_bound(w.view, x.data() + tk * cols, r);
      ASSERT_LE(std::fabs(fast[tk * 37 + r] - ref[tk * 37 + r]), bound)
          << dtype_name(t) << " token " << tk << " row " << r;
    }
}

TEST_P(KernelsMatmul, BatchAndThreadInvariantBitwise) {
  const DType t = GetParam();
  const int64_t cols = (t == DType::F32 || t == DType::F16) ? 200 : 192;
  const int64_t rows = 53;
  auto w = make_weight(t, rows, cols, 21);
  const int T = 11;
  const auto x = random_floats(size_t(T * cols), 22);
  std::vector<float> batch(size_t(T * rows)), single(batch.size()), two(batch.size());
  auto b1 = backend(BackendKind::Cpu, 1);
  b1->matmul(w.view, x.data(), T, batch.data());
  for (int tk = 0; tk < T; ++tk) b1->matmul(w.view, x.data() + tk * cols, 1, single.data() + tk * rows);
  backend(BackendKind::Cpu, 2)->matmul(w.view, x.data(), T, two.data());
  EXPECT_EQ(0, std::memcmp(batch.data(), single.data(), batch.size() * 4)) << dtype_name(t);
  EXPECT_EQ(0, std::memcmp(batch.data(), two.data(), batch.size() * 4)) << dtype_name(t);
}

TEST_P(KernelsMatmul, ScalarFallbackAgreesWithAvx2) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  const DType t = GetParam();
  const int64_t cols = 128;
  auto w = make_weight(t, 5, cols, 31);
  auto x = random_floats(size_t(2 * cols), 32);
  float a[2], b[2];
  const auto& s = cpu::scalar_table();
  const auto& v = cpu::avx2_table();
  if (t == DType::F32 || t == DType::F16) {
    if (t == DType::F32) {
      s.f32(static_cast<const float*>(w.view.data), x.data(), cols, 2, cols, a, 1);
      v.f32(static_cast<const float*>(w.view.data), x.data(), cols, 2, cols, b, 1);
    } else {
      s.f16(static_cast<const uint16_t*>(w.view.data), x.data(), cols, 2, cols, a, 1);
      v.f16(static_cast<const uint16_t*>(w.view.data), x.data(), cols, 2, cols, b, 1);
    }
  } else {
    std::vector<BlockQ8_0> xq(8);
    cpu::quantize_row_q8_0(x.data(), cols, xq.data());
    cpu::quantize_row_q8_0(x.data() + cols, cols, xq.data() + 4);
    // two weight rows x two tokens; out[t*2 + r]
    float a4[4], b4[4], c4[4];
    auto call = [&](const cpu::DotTable& tab, float* out, int nr) {
      if (t == DType::Q8_0)
        tab.q8_0(static_cast<const BlockQ8_0*>(w.view.data), 4, nr, xq.data(), 4, 2, 4, out, 2);
      else
        tab.q4_0(static_cast<const BlockQ4_0*>(w.view.data), 4, nr, xq.data(), 4, 2, 4, out, 2);
    };
    call(s, a4, 2);
    call(v, b4, 2);
    // cpu/3: the scalar kernels are the plain form of the vector ones, bit for bit
    EXPECT_EQ(0, std::memcmp(a4, b4, sizeof a4)) << dtype_name(t);
    call(v, c4, 1);  // one row at a time gives the same bits as two
    EXPECT_EQ(fp32_to_bits(c4[0]), fp32_to_bits(b4[0]));
    EXPECT_EQ(fp32_to_bits(c4[2]), fp32_to_bits(b4[2]));
    // the VNNI variants' exact integer dots give bitwise the AVX2 results
    if (cpu::cpu_has_avxvnni()) {
      float d4[4];
      call(cpu::avxvnni_table(), d4, 2);
      EXPECT_EQ(0, std::memcmp(b4, d4, sizeof b4)) << dtype_name(t);
    }
    if (cpu::cpu_has_avx512()) {
      float d4[4];
      call(cpu::avx512_table(), d4, 2);
      EXPECT_EQ(0, std::memcmp(b4, d4, sizeof b4)) << dtype_name(t);
    }
    a[0] = a4[0]; a[1] = a4[2]; b[0] = b4[0]; b[1] = b4[2];
  }
  for (int i = 0; i < 2; ++i) EXPECT_NEAR(a[i], b[i], 1e-4 * (1 + std::fabs(a[i]))) << dtype_name(t);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, KernelsMatmul, ::testing::ValuesIn(kAllTypes),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// Every x86 variant the CPU supports gives the AVX2 bits, so exact
// verification works between any two AVX2 machines.
TEST(KernelsVariants, AllX86TablesAgreeBitwise) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::vector<const cpu::DotTable*> tables = {&cpu::avx2_table()};
  if (cpu::cpu_has_avxvnni()) tables.push_back(&cpu::avxvnni_table());
  if (cpu::cpu_has_avx512()) tables.push_back(&cpu::avx512_table());
  if (cpu::cpu_has_avx512() && cpu::cpu_has_amx() && cpu::cpu_has_gfni()) tables.push_back(&cpu::avx512_amx_table());
  RecordProperty("variants", int(tables.size()));
  for (int64_t cols : {8, 31, 64, 100, 172, 896}) {
    auto w32 = random_floats(size_t(cols), 71);
    std::vector<uint16_t> w16(static_cast<size_t>(cols));
    for (int64_t i = 0; i < cols; ++i) w16[i] = fp32_to_fp16(w32[i]);
    auto x = random_floats(size_t(5 * cols), 72);
    std::vector<float> ref(5), got(5);
    for (bool half : {false, true}) {
      for (size_t k = 0; k < tables.size(); ++k) {
        auto& out = k == 0 ? ref : got;
        if (half) tables[k]->f16(w16.data(), x.data(), cols, 5, cols, out.data(), 1);
        else tables[k]->f32(w32.data(), x.data(), cols, 5, cols, out.data(), 1);
        if (k > 0) {
          EXPECT_EQ(0, std::memcmp(ref.data(), got.data(), 20)) << tables[k]->name << " cols " << cols;
        }
      }
      // one token at a time gives the same bits as five at once
      for (int t = 0; t < 5; ++t) {
        float one;
        if (half) tables.back()->f16(w16.data(), x.data() + t * cols, cols, 1, cols, &one, 1);
        else tables.back()->f32(w32.data(), x.data() + t * cols, cols, 1, cols, &one, 1);
        EXPECT_EQ(fp32_to_bits(one), fp32_to_bits(ref[size_t(t)]));
      }
    }
  }
}

// Whole matmuls through the backend of each variant this CPU runs: every token count (decode,
// ragged prefill tiles) and thread count gives the AVX2 variant's bits, for every type.
TEST(KernelsVariants, BackendOfEveryVariantAgreesBitwise) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::vector<std::string> variants = {"avx2"};
  if (cpu::cpu_has_avxvnni()) variants.push_back("avxvnni");
  if (cpu::cpu_has_avx512()) variants.push_back("avx512");
  if (cpu::cpu_has_avx512() && cpu::cpu_has_amx() && cpu::cpu_has_gfni()) variants.push_back("avx512-amx");
  RecordProperty("variants", int(variants.size()));
  const int64_t rows = 67;  // AMX: four 16-row tiles and 3 rows for the vector kernels
  for (DType t : kAllTypes) {
    const int64_t cols = (t == DType::F32 || t == DType::F16) ? 904 : 928;  // 29 blocks: an odd last one
    auto w = make_weight(t, rows, cols, 91);
    const int T = 19;
    const auto x = random_floats(size_t(T * cols), 92);
    std::vector<float> want(size_t(T * rows));
    {
      auto b = make_backend({BackendKind::Cpu, 1, "avx2"});
      ASSERT_TRUE(b);
      for (int tk = 0; tk < T; ++tk) (*b)->matmul(w.view, x.data() + tk * cols, 1, want.data() + tk * rows);
    }
    // cpu/3's Q8_0/Q4_0 are the scalar kernels' bits as well
    const bool q = t == DType::Q8_0 || t == DType::Q4_0;
    if (q) variants.push_back("scalar");
    for (const auto& v : variants)
      for (int threads : {1, 2})
        for (int n : {1, 2, 3, 5, 8, 19}) {
          auto b = make_backend({BackendKind::Cpu, threads, v});
          ASSERT_TRUE(b) << v;
          std::vector<float> got(size_t(T * rows));
          for (int t0 = 0; t0 < T; t0 += n) {
            const int m = std::min(n, T - t0);
            (*b)->matmul(w.view, x.data() + t0 * cols, m, got.data() + t0 * rows);
          }
          ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4))
              << dtype_name(t) << " variant " << v << " threads " << threads << " batch " << n;
        }
    if (q) variants.pop_back();
  }
}

TEST(KernelsQuantize, ActivationQ8MatchesGgufReference) {
  auto x = random_floats(256, 41, 3.0f);
  std::vector<BlockQ8_0> mine(8);
  std::vector<gguf::block_q8_0> theirs(8);
  cpu::quantize_row_q8_0(x.data(), 256, mine.data());
  gguf::quantize_row_q8_0(x.data(), theirs.data(), 256);
  EXPECT_EQ(0, std::memcmp(mine.data(), theirs.data(), 8 * sizeof(BlockQ8_0)));
}

struct AttnCase {
  AttentionShape shape{4, 2, 16};
  int ctx = 9;
  std::vector<float> q, k, v;
  std::vector<int32_t> pos;
  AttnCase() {
    q = random_floats(size_t(ctx) * 4 * 16, 51);
    k = random_floats(size_t(ctx) * 2 * 16, 52);
    v = random_floats(size_t(ctx) * 2 * 16, 53);
    for (int i = 0; i < ctx; ++i) pos.push_back(i);
  }
};

TEST(KernelsAttention, FastMatchesReference) {
  AttnCase c;
  std::vector<float> ref(c.q.size()), fast(c.q.size());
  backend(BackendKind::Reference)->attention(c.q.data(), c.k.data(), c.v.data(), c.ctx, c.pos.data(), c.shape, ref.data());
  backend(BackendKind::Cpu, 2)->attention(c.q.data(), c.k.data(), c.v.data(), c.ctx, c.pos.data(), c.shape, fast.data());
  for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(ref[i], fast[i], 1e-5) << i;
  // position 0 attends only to key 0: output equals v row 0 of the kv head
  for (int h = 0; h < 4; ++h)
    for (int i = 0; i < 16; ++i) EXPECT_NEAR(ref[h * 16 + i], c.v[(h / 2) * 16 + i], 1e-6);
}

TEST(KernelsAttention, OneQueryAtATimeEqualsBatchBitwise) {
  AttnCase c;
  auto b = backend(BackendKind::Cpu, 2);
  std::vector<float> batch(c.q.size()), single(c.q.size());
  b->attention(c.q.data(), c.k.data(), c.v.data(), c.ctx, c.pos.data(), c.shape, batch.data());
  const size_t qd = 4 * 16;
  for (int t = 0; t < c.ctx; ++t)
    backend(BackendKind::Cpu, 1)->attention(c.q.data() + t * qd, c.k.data(), c.v.data(), 1,
                                            c.pos.data() + t, c.shape, single.data() + t * qd);
  EXPECT_EQ(0, std::memcmp(batch.data(), single.data(), batch.size() * 4));
}

TEST(KernelsNorm, RmsnormAndElementwiseMatchReference) {
  const int dim = 100, T = 3;
  auto x = random_floats(size_t(dim * T), 61), w = random_floats(size_t(dim), 62);
  std::vector<float> a(x.size()), b(x.size());
  backend(BackendKind::Reference)->rmsnorm(x.data(), w.data(), T, dim, 1e-5f, a.data());
  backend(BackendKind::Cpu, 2)->rmsnorm(x.data(), w.data(), T, dim, 1e-5f, b.data());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5 * (1 + std::fabs(a[i])));
  // rms of the normalized row with unit weights is 1
  std::vector<float> ones(size_t(dim), 1.0f);
  std::vector<float> n(static_cast<size_t>(dim));
  backend(BackendKind::Cpu)->rmsnorm(x.data(), ones.data(), 1, dim, 0.0f, n.data());
  double ss = 0;
  for (float v : n) ss += double(v) * v;
  EXPECT_NEAR(ss / dim, 1.0, 1e-5);
  float g[2] = {0.0f, 2.0f}, u[2] = {3.0f, 1.0f}, o[2];
  backend(BackendKind::Cpu)->swiglu(g, u, 2, o);
  EXPECT_FLOAT_EQ(o[0], 0.0f);
  EXPECT_NEAR(o[1], 2.0f / (1.0f + std::exp(-2.0f)), 1e-6);
}

TEST(KernelsRope, NormalAndNeoxRotatePairsAsDocumented) {
  // head_dim 4, rope_dim 4, position 1: pair i rotates by theta_i = 10000^(-2i/4)
  float normal[4] = {1, 0, 1, 0}, neox[4] = {1, 1, 0, 0};
  int32_t pos = 1;
  auto b = backend(BackendKind::Cpu);
  b->rope(normal, 1, 1, 4, &pos, RopeParams{4, 10000.f, false});
  b->rope(neox, 1, 1, 4, &pos, RopeParams{4, 10000.f, true});
  const double t0 = 1.0, t1 = 0.01;
  EXPECT_NEAR(normal[0], std::cos(t0), 1e-6);
  EXPECT_NEAR(normal[1], std::sin(t0), 1e-6);
  EXPECT_NEAR(normal[2], std::cos(t1), 1e-6);
  EXPECT_NEAR(normal[3], std::sin(t1), 1e-6);
  EXPECT_NEAR(neox[0], std::cos(t0), 1e-6);  // pair (0,2)
  EXPECT_NEAR(neox[2], std::sin(t0), 1e-6);
  EXPECT_NEAR(neox[1], std::cos(t1), 1e-6);  // pair (1,3)
  EXPECT_NEAR(neox[3], std::sin(t1), 1e-6);
}

}  // namespace
}  // namespace ig::kernels

namespace ig::kernels {
namespace {

// Numerics tags (kernels.hpp): what a receipt records so that exact verification is asked
// only of equal numerics. Equal tags must mean equal bits, so the CPU's tag may not depend on
// the thread count, and backends with different bits must not share one.
TEST(KernelsNumerics, EachBackendNamesItsNumerics) {
  auto cpu1 = make_backend({BackendKind::Cpu, 1});
  auto cpu2 = make_backend({BackendKind::Cpu, 2});
  auto ref = make_backend({BackendKind::Reference, 1});
  ASSERT_TRUE(cpu1 && cpu2 && ref);
  EXPECT_EQ((*cpu1)->numerics(), cpu_has_avx2() ? kNumericsCpu : kNumericsCpuScalar);
  EXPECT_EQ((*cpu1)->numerics(), (*cpu2)->numerics());
  EXPECT_EQ((*ref)->numerics(), kNumericsReference);
  EXPECT_NE((*cpu1)->numerics(), (*ref)->numerics());
  // receipts carry 1..32 bytes of [a-z0-9._/-] (common/inference_receipt.hpp)
  for (const char* tag : {kNumericsCpu, kNumericsCpuScalar, kNumericsReference, kNumericsCuda}) {
    const std::string t = tag;
    EXPECT_TRUE(!t.empty() && t.size() <= 32) << t;
    EXPECT_EQ(t.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._/-"), std::string::npos) << t;
    EXPECT_NE(t.find('/'), std::string::npos) << t;  // family/revision
  }
}

}  // namespace
}  // namespace ig::kernels

namespace ig::kernels {
namespace {

// The vectorized activation quantizer of every table gives the scalar (ggml reference) bits,
// including values that land exactly on .5 after scaling (lroundf rounds them away from zero).
TEST(KernelsQuantize, VectorizedQ8MatchesScalarBitwise) {
  std::vector<const cpu::DotTable*> tables = {&cpu::scalar_table()};
  if (cpu_has_avx2()) tables.push_back(&cpu::avx2_table());
  if (cpu::cpu_has_avxvnni()) tables.push_back(&cpu::avxvnni_table());
  if (cpu::cpu_has_avx512()) tables.push_back(&cpu::avx512_table());
  const int64_t cols = 4096, nb = cols / kBlock;
  std::vector<std::vector<float>> inputs = {random_floats(size_t(cols), 101, 3.0f),
                                            random_floats(size_t(cols), 102, 1e-3f)};
  // halves: amax 127 gives id 1, so x*id = k + 0.5 exactly
  std::vector<float> halves(static_cast<size_t>(cols));
  for (int64_t i = 0; i < cols; ++i) halves[i] = (i % kBlock == 0) ? 127.0f : float((i * 37) % 254 - 127) + 0.5f;
  inputs.push_back(halves);
  std::vector<float> tiny(static_cast<size_t>(cols), 0.0f);  // all-zero blocks: d = 0, id = 0
  for (int64_t i = 0; i < cols; i += 97) tiny[i] = -1e-30f;
  inputs.push_back(tiny);
  for (size_t k = 0; k < inputs.size(); ++k) {
    std::vector<BlockQ8_0> want(static_cast<size_t>(nb)), got(static_cast<size_t>(nb));
    std::vector<int32_t> sw(size_t(nb * 8)), sg(size_t(nb * 8));
    cpu::quantize_row_q8_0(inputs[k].data(), cols, want.data());
    cpu::q8_lane_sums(want.data(), nb, sw.data());
    for (const auto* t : tables) {
      t->quantize_q8_0(inputs[k].data(), cols, got.data());
      ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(BlockQ8_0)))
          << t->name << " input " << k;
      t->lane_sums(got.data(), nb, sg.data());
      ASSERT_EQ(sw, sg) << t->name << " input " << k;
    }
  }
}

// Every index is run exactly once per job, across many jobs, with pauses long enough for the
// workers to fall asleep between some of them (the futex path) and none between others.
TEST(KernelsThreadPool, RunsEveryIndexOnceAcrossSleeps) {
  for (int threads : {2, 3}) {
    cpu::ThreadPool pool(threads);
    for (int job = 0; job < 200; ++job) {
      const int64_t n = 1 + (job * 7919) % 500;
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.parallel_for(n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[size_t(i)].fetch_add(1);
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << "job " << job << " index " << i;
      if (job % 40 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

// Back-to-back jobs whose chunk counts differ, as a forward pass issues them: every job runs each
// index exactly once and returns only when all are done. A worker that read a finished job's last
// index together with the next job's chunk count (set up a moment before the job was published)
// used to claim a chunk that did not exist and count it done in the next job, which then returned
// a chunk early (a sum short here) or waited for ever (the watchdog). The old pool failed 9 runs
// in 10 of this loop.
TEST(KernelsThreadPool, BackToBackJobsOfDifferentSizesCountEveryChunkOnce) {
  for (int threads : {2, 3, 4}) {
    auto run = std::async(std::launch::async, [threads] {
      cpu::ThreadPool pool(threads);
      std::atomic<int64_t> sum{0};
      for (int job = 0; job < 300000; ++job) {
        const int64_t n = job % 2 ? 2 + job % 3 : 64;  // a few chunks, then all of them
        sum.store(0, std::memory_order_relaxed);
        pool.parallel_for(n, [&](int64_t b, int64_t e) { sum.fetch_add(e - b, std::memory_order_relaxed); });
        if (sum.load() != n) return "job " + std::to_string(job) + " ran " + std::to_string(sum.load()) + " of " + std::to_string(n);
      }
      return std::string();
    });
    if (run.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      std::fprintf(stderr, "threads %d: a job never returned (the pool lost a chunk's completion)\n", threads);
      std::_Exit(1);  // the hung pool cannot be joined
    }
    EXPECT_EQ(run.get(), "") << threads << " threads";
  }
}

// The elementwise ops on the pool give the one-thread bits (large enough to be split).
TEST(KernelsNorm, ElementwiseOpsOnThePoolEqualOneThreadBitwise) {
  const int T = 40, dim = 896, ffn = 4864;
  auto x = random_floats(size_t(T * dim), 111), w = random_floats(size_t(dim), 112);
  auto g = random_floats(size_t(T * ffn), 113), u = random_floats(size_t(T * ffn), 114);
  auto bias = random_floats(size_t(dim), 115);
  std::vector<int32_t> pos(T);
  for (int t = 0; t < T; ++t) pos[t] = 3 * t + 1;
  auto run = [&](int threads) {
    auto b = backend(BackendKind::Cpu, threads);
    std::vector<float> out(x.size()), s(g.size()), r = x;
    b->rmsnorm(x.data(), w.data(), T, dim, 1e-6f, out.data());
    b->swiglu(g.data(), u.data(), g.size(), s.data());
    b->rope(r.data(), T, 14, 64, pos.data(), RopeParams{64, 1e6f, true});
    b->add_bias(r.data(), bias.data(), T, dim);
    b->add(r.data(), out.data(), r.size());
    out.insert(out.end(), s.begin(), s.end());
    out.insert(out.end(), r.begin(), r.end());
    return out;
  };
  const auto one = run(1), two = run(2);
  ASSERT_EQ(one.size(), two.size());
  EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * 4));
}

}  // namespace
}  // namespace ig::kernels
