// K-quants (Q4_K, Q5_K, Q6_K): the block layouts against ggml's own loop forms, the quantizers,
// the fast CPU kernels against the reference backend, and bitwise equality of every CPU variant,
// batch split and thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "inference/gguf/kquant.hpp"
#include "inference/gguf/quant.hpp"
#include "kernels/cpu/dot.hpp"
#include "kernels/cpu/dot_kquants.hpp"
#include "kernels/kernels.hpp"
#include "kernels/kquants.hpp"
#include "weights.hpp"

namespace ig::kernels {
namespace {

using testing::make_weight;
using testing::random_floats;

constexpr DType kKTypes[] = {DType::Q4_K, DType::Q5_K, DType::Q6_K};
// With the mixes' fallbacks Q5_0/Q5_1 (32-value blocks, Q8_0 activations).
constexpr DType kMatmulTypes[] = {DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q5_0, DType::Q5_1};

std::unique_ptr<Backend> backend(BackendKind k, int threads = 1, const std::string& variant = "") {
  auto b = make_backend({k, threads, variant});
  EXPECT_TRUE(b) << b.error().to_string();
  return std::move(*b);
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = uint8_t(rng());
  return v;
}

// Random block bytes with sane fp16 scales (random bytes elsewhere: every bit of the quants and
// packed scales is exercised).
template <typename Block>
std::vector<Block> random_blocks(size_t n, uint32_t seed) {
  std::vector<Block> v(n);
  auto bytes = random_bytes(n * sizeof(Block), seed);
  std::memcpy(v.data(), bytes.data(), bytes.size());
  std::mt19937 rng(seed + 1);
  std::uniform_real_distribution<float> u(0.001f, 0.05f);
  for (auto& b : v) {
    b.d = fp32_to_fp16(u(rng));
    if constexpr (requires { b.dmin; }) b.dmin = fp32_to_fp16(u(rng));
    if constexpr (requires { b.m; }) b.m = fp32_to_fp16(-u(rng));
  }
  return v;
}

// ggml's dequantize_row_q4_K / q5_K / q6_K loop forms (ggml-quants.c), written out again here
// independently of kernels/kquants.hpp's per-element indexing.
void ggml_form_q4_k(const BlockQ4_K& b, float* y) {
  const float d = fp16_to_fp32(b.d), min = fp16_to_fp32(b.dmin);
  const uint8_t* q = b.qs;
  int is = 0;
  for (int j = 0; j < 256; j += 64) {
    uint8_t sc, m;
    kquant_scale_min(is, b.scales, sc, m);
    const float d1 = d * sc, m1 = min * m;
    kquant_scale_min(is + 1, b.scales, sc, m);
    const float d2 = d * sc, m2 = min * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    q += 32;
    is += 2;
  }
}

void ggml_form_q5_k(const BlockQ5_K& b, float* y) {
  const float d = fp16_to_fp32(b.d), min = fp16_to_fp32(b.dmin);
  const uint8_t* ql = b.qs;
  int is = 0;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0; j < 256; j += 64) {
    uint8_t sc, m;
    kquant_scale_min(is, b.scales, sc, m);
    const float d1 = d * sc, m1 = min * m;
    kquant_scale_min(is + 1, b.scales, sc, m);
    const float d2 = d * sc, m2 = min * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (b.qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (b.qh[l] & u2 ? 16 : 0)) - m2;
    ql += 32;
    is += 2;
    u1 = uint8_t(u1 << 2);
    u2 = uint8_t(u2 << 2);
  }
}

void ggml_form_q6_k(const BlockQ6_K& b, float* y) {
  const float d = fp16_to_fp32(b.d);
  const uint8_t* ql = b.ql;
  const uint8_t* qh = b.qh;
  const int8_t* sc = b.scales;
  for (int n = 0; n < 256; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int8_t q1 = int8_t((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int8_t q2 = int8_t((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int8_t q3 = int8_t((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int8_t q4 = int8_t((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * sc[is] * q1;
      y[l + 32] = d * sc[is + 2] * q2;
      y[l + 64] = d * sc[is + 4] * q3;
      y[l + 96] = d * sc[is + 6] * q4;
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

// ggml's dequantize_row_q5_0 / q5_1 loop form.
template <typename Block>
void ggml_form_q5(const Block& b, float* y) {
  uint32_t qh;
  std::memcpy(&qh, b.qh, sizeof(qh));
  const float d = fp16_to_fp32(b.d);
  for (int j = 0; j < 16; ++j) {
    const uint8_t xh_0 = uint8_t(((qh >> (j + 0)) << 4) & 0x10);
    const uint8_t xh_1 = uint8_t(((qh >> (j + 12))) & 0x10);
    if constexpr (requires { b.m; }) {
      const float m = fp16_to_fp32(b.m);
      const int x0 = (b.qs[j] & 0x0F) | xh_0, x1 = (b.qs[j] >> 4) | xh_1;
      y[j] = float(x0) * d + m;
      y[j + 16] = float(x1) * d + m;
    } else {
      const int x0 = ((b.qs[j] & 0x0F) | xh_0) - 16, x1 = ((b.qs[j] >> 4) | xh_1) - 16;
      y[j] = float(x0) * d;
      y[j + 16] = float(x1) * d;
    }
  }
}

TEST(KQuantLayout, Q5FallbacksAreGgmlsLoopFormBitwise) {
  EXPECT_EQ(row_bytes(DType::Q5_0, 896), 28u * 22u);
  EXPECT_EQ(row_bytes(DType::Q5_1, 64), 48u);
  EXPECT_TRUE(row_shape_valid(DType::Q5_0, 896));
  EXPECT_FALSE(row_shape_valid(DType::Q5_1, 48));
  const auto a = random_blocks<BlockQ5_0>(7, 51);
  const auto b = random_blocks<BlockQ5_1>(7, 52);
  std::vector<float> y(7 * 32), z(7 * 32);
  dequantize_row_q5_0(a.data(), y.data(), 7 * 32);
  for (int i = 0; i < 7; ++i) ggml_form_q5(a[size_t(i)], z.data() + 32 * i);
  EXPECT_EQ(0, std::memcmp(y.data(), z.data(), y.size() * 4));
  dequantize_row_q5_1(b.data(), y.data(), 7 * 32);
  for (int i = 0; i < 7; ++i) ggml_form_q5(b[size_t(i)], z.data() + 32 * i);
  EXPECT_EQ(0, std::memcmp(y.data(), z.data(), y.size() * 4));
  // quantizers: round trip within the 5-bit step
  auto x = random_floats(32 * 20, 53, 0.5f);
  for (DType t : {DType::Q5_0, DType::Q5_1}) {
    std::vector<uint8_t> q(row_bytes(t, 640));
    ASSERT_TRUE(gguf::quantize_row(gguf::TensorType(uint32_t(t)), x.data(), q.data(), 640));
    std::vector<float> back(640);
    ASSERT_TRUE(gguf::dequantize_row(gguf::TensorType(uint32_t(t)), q.data(), back.data(), 640));
    double se = 0, sx = 0;
    for (int i = 0; i < 640; ++i) se += double(back[i] - x[i]) * (back[i] - x[i]), sx += double(x[i]) * x[i];
    EXPECT_LT(std::sqrt(se / sx), 0.05) << dtype_name(t);
  }
}

TEST(KQuantLayout, Q5KernelVariantsGiveTheScalarBits) {
  const int64_t nb = 9, cols = nb * 32;
  const auto w0 = random_blocks<BlockQ5_0>(size_t(nb), 61);
  const auto w1 = random_blocks<BlockQ5_1>(size_t(nb), 62);
  const int T = 4;
  auto x = random_floats(size_t(T * cols), 63);
  std::vector<BlockQ8_0> xq(size_t(T * nb));
  for (int tk = 0; tk < T; ++tk) cpu::quantize_row_q8_0(x.data() + tk * cols, cols, xq.data() + tk * nb);
  for (int i = 0; i < 32; ++i) xq[2].qs[i] = int8_t(i % 3 ? 127 : -127);  // extremes
  std::vector<int32_t> xs(size_t(T * nb * 8));
  cpu::q8_lane_sums(xq.data(), T * nb, xs.data());
  auto call = [&](const cpu::KQuantTable& k, bool one, int n, int t0, float* out) {
    if (one) k.q5_1(w1.data(), xq.data() + t0 * nb, nb, n, nb, out, 1);
    else k.q5_0(w0.data(), xq.data() + t0 * nb, xs.data() + t0 * nb * 8, nb, n, nb, out, 1);
  };
  std::vector<const cpu::KQuantTable*> tables;
  if (cpu_has_avx2()) tables.push_back(&cpu::kquant_avx2_table());
  if (cpu_has_avx2() && cpu::cpu_has_avxvnni()) tables.push_back(&cpu::kquant_avxvnni_table());
  if (cpu_has_avx2() && cpu::cpu_has_avx512()) tables.push_back(&cpu::kquant_avx512_table());
  for (bool one : {false, true}) {
    float want[T];
    call(cpu::kquant_scalar_table(), one, T, 0, want);
    // against a double evaluation of the dequantized weights times the quantized activations
    std::vector<float> wf(static_cast<size_t>(cols));
    if (one) dequantize_row_q5_1(w1.data(), wf.data(), cols);
    else dequantize_row_q5_0(w0.data(), wf.data(), cols);
    for (int tk = 0; tk < T; ++tk) {
      double exact = 0, mag = 0;
      for (int64_t c = 0; c < cols; ++c) {
        const BlockQ8_0& xb = xq[size_t(tk * nb + c / 32)];
        const double v = double(wf[size_t(c)]) * fp16_to_fp32(xb.d) * xb.qs[c % 32];
        exact += v;
        mag += std::fabs(v);
      }
      EXPECT_NEAR(want[tk], exact, 1e-5 * mag + 1e-6) << (one ? "Q5_1" : "Q5_0") << " token " << tk;
    }
    for (const auto* k : tables)
      for (int n = 1; n <= T; ++n)
        for (int t0 = 0; t0 + n <= T; ++t0) {
          float got[T];
          call(*k, one, n, t0, got);
          ASSERT_EQ(0, std::memcmp(got, want + t0, size_t(n) * 4)) << k->name << (one ? " Q5_1" : " Q5_0") << " n " << n;
        }
  }
}

TEST(KQuantLayout, BlockSizesAndRowShapesAreGgmls) {
  EXPECT_EQ(row_bytes(DType::Q4_K, 512), 288u);
  EXPECT_EQ(row_bytes(DType::Q5_K, 256), 176u);
  EXPECT_EQ(row_bytes(DType::Q6_K, 768), 630u);
  for (DType t : kKTypes) {
    EXPECT_TRUE(dtype_supported(uint32_t(t))) << dtype_name(t);
    EXPECT_TRUE(row_shape_valid(t, 256));
    EXPECT_FALSE(row_shape_valid(t, 128)) << dtype_name(t);
    EXPECT_FALSE(row_shape_valid(t, 896)) << dtype_name(t);
  }
  EXPECT_FALSE(dtype_supported(10));  // Q2_K
  EXPECT_FALSE(dtype_supported(15));  // Q8_K is an activation format only
  EXPECT_STREQ(dtype_name(DType::Q5_K), "Q5_K");
}

TEST(KQuantLayout, DequantizationIsGgmlsLoopFormBitwise) {
  const auto q4 = random_blocks<BlockQ4_K>(6, 1);
  const auto q5 = random_blocks<BlockQ5_K>(6, 2);
  const auto q6 = random_blocks<BlockQ6_K>(6, 3);
  std::vector<float> a(6 * 256), b(6 * 256);
  dequantize_row_q4_k(q4.data(), a.data(), 6 * 256);
  for (int i = 0; i < 6; ++i) ggml_form_q4_k(q4[size_t(i)], b.data() + 256 * i);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4));
  dequantize_row_q5_k(q5.data(), a.data(), 6 * 256);
  for (int i = 0; i < 6; ++i) ggml_form_q5_k(q5[size_t(i)], b.data() + 256 * i);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4));
  dequantize_row_q6_k(q6.data(), a.data(), 6 * 256);
  for (int i = 0; i < 6; ++i) ggml_form_q6_k(q6[size_t(i)], b.data() + 256 * i);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4));
}

TEST(KQuantLayout, PackedScalesRoundTripAndKnownBlock) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    uint8_t sc[8], m[8], packed[12];
    for (int j = 0; j < 8; ++j) sc[j] = uint8_t(rng() % 64), m[j] = uint8_t(rng() % 64);
    kquant_pack_scales(sc, m, packed);
    for (int j = 0; j < 8; ++j) {
      uint8_t s2, m2;
      kquant_scale_min(j, packed, s2, m2);
      ASSERT_EQ(s2, sc[j]);
      ASSERT_EQ(m2, m[j]);
    }
  }
  // A hand-made Q4_K block: d = 1, dmin = 0.5, sub-block j has scale j+1 and min j, and value i
  // stores the nibble i % 16. Sub-block 5 (values 160..191) is the high nibbles of qs[64..95].
  BlockQ4_K b{};
  b.d = fp32_to_fp16(1.0f);
  b.dmin = fp32_to_fp16(0.5f);
  const uint8_t sc[8] = {1, 2, 3, 4, 5, 6, 7, 8}, mn[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  kquant_pack_scales(sc, mn, b.scales);
  for (int i = 0; i < 256; ++i) {
    uint8_t& byte = b.qs[32 * (i / 64) + i % 32];
    byte = uint8_t((i % 64) < 32 ? ((byte & 0xf0) | (i % 16)) : ((byte & 0x0f) | ((i % 16) << 4)));
  }
  float y[256];
  dequantize_row_q4_k(&b, y, 256);
  for (int i = 0; i < 256; ++i) {
    const int j = i / 32;
    ASSERT_EQ(y[i], float(j + 1) * float(i % 16) - 0.5f * float(j)) << i;
  }
}

// llama.cpp's quantize_row_q8_K_ref: the value of largest magnitude maps to -127.
TEST(KQuantActivations, Q8KIsLlamaCppsQuantization) {
  auto x = random_floats(512, 9);
  x[17] = 9.0f;  // the largest magnitude, positive: iscale = -127/9
  std::vector<BlockQ8_K> q(2);
  quantize_row_q8_k(x.data(), 512, q.data());
  EXPECT_EQ(q[0].qs[17], -127);
  EXPECT_EQ(q[0].d, 1 / (-127.f / 9.0f));
  for (int b = 0; b < 2; ++b) {
    const float iscale = 1 / q[size_t(b)].d;
    for (int i = 0; i < 256; ++i) {
      const float v = iscale * x[size_t(256 * b + i)];
      EXPECT_LE(std::fabs(float(q[size_t(b)].qs[i]) - v), 0.5f + 1e-4f);
    }
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int i = 0; i < 16; ++i) s += q[size_t(b)].qs[16 * g + i];
      EXPECT_EQ(q[size_t(b)].bsums[g], s);
    }
  }
  std::vector<float> zeros(256, 0.0f);
  quantize_row_q8_k(zeros.data(), 256, q.data());
  EXPECT_EQ(q[0].d, 0.0f);
  EXPECT_EQ(q[0].bsums[3], 0);
}

// The quantizers reproduce a row within the error each format allows, and never leave a quant out
// of range (the dequantized values stay within the row's range plus one step).
TEST(KQuantQuantizers, RoundTripErrorIsSmall) {
  const int64_t k = 4096;
  auto x = random_floats(size_t(k), 13, 0.5f);
  x[100] = 3.0f;  // an outlier
  const double expect_rel_rms[] = {0.09, 0.045, 0.02};  // Q4_K, Q5_K, Q6_K on Gaussian data
  for (int ti = 0; ti < 3; ++ti) {
    const DType t = kKTypes[ti];
    std::vector<uint8_t> q(row_bytes(t, k));
    ASSERT_TRUE(gguf::quantize_row(gguf::TensorType(uint32_t(t)), x.data(), q.data(), k));
    std::vector<float> y(static_cast<size_t>(k));
    ASSERT_TRUE(gguf::dequantize_row(gguf::TensorType(uint32_t(t)), q.data(), y.data(), k));
    double se = 0, sx = 0;
    for (int64_t i = 0; i < k; ++i) {
      se += double(y[i] - x[i]) * (y[i] - x[i]);
      sx += double(x[i]) * x[i];
    }
    const double rel = std::sqrt(se / sx);
    RecordProperty(std::string("rel_rms_") + dtype_name(t), std::to_string(rel));
    EXPECT_LT(rel, expect_rel_rms[ti]) << dtype_name(t);
    EXPECT_GT(rel, 0.0) << dtype_name(t);
    EXPECT_NEAR(y[100], 3.0f, 0.35f) << dtype_name(t);
  }
  // All-zero and constant rows.
  std::vector<float> z(256, 0.0f), c(256, 0.25f), y(256);
  for (DType t : kKTypes) {
    std::vector<uint8_t> q(row_bytes(t, 256));
    ASSERT_TRUE(gguf::quantize_row(gguf::TensorType(uint32_t(t)), z.data(), q.data(), 256));
    ASSERT_TRUE(gguf::dequantize_row(gguf::TensorType(uint32_t(t)), q.data(), y.data(), 256));
    for (float v : y) ASSERT_EQ(v, 0.0f) << dtype_name(t);
    ASSERT_TRUE(gguf::quantize_row(gguf::TensorType(uint32_t(t)), c.data(), q.data(), 256));
    ASSERT_TRUE(gguf::dequantize_row(gguf::TensorType(uint32_t(t)), q.data(), y.data(), 256));
    for (float v : y) ASSERT_NEAR(v, 0.25f, 0.01f) << dtype_name(t);
  }
  // Rows that are not whole super-blocks are refused.
  std::vector<uint8_t> q(1024);
  auto st = gguf::quantize_row(gguf::TensorType::Q4_K, x.data(), q.data(), 128);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("256"), std::string::npos);
}

class KQuantMatmul : public ::testing::TestWithParam<DType> {};

// |fast - ref| <= 1.5e-2 * sum_c |w_rc x_c|: the fast path quantizes activations to Q8_K.
TEST_P(KQuantMatmul, FastMatchesReferenceWithinTolerance) {
  const DType t = GetParam();
  const int64_t cols = 768, rows = 37;
  auto w = make_weight(t, rows, cols, 11);
  const int T = 6;
  const auto x = random_floats(size_t(T * cols), 12);
  std::vector<float> ref(size_t(T * rows)), fast(ref.size());
  backend(BackendKind::Reference)->matmul(w.view, x.data(), T, ref.data());
  backend(BackendKind::Cpu, 2)->matmul(w.view, x.data(), T, fast.data());
  std::vector<float> row(static_cast<size_t>(cols));
  double worst = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t id = int32_t(r);
    backend(BackendKind::Reference)->get_rows(w.view, &id, 1, row.data());
    for (int tk = 0; tk < T; ++tk) {
      double bound = 0;
      for (int64_t c = 0; c < cols; ++c) bound += std::fabs(double(row[c]) * x[size_t(tk * cols + c)]);
      const double diff = std::fabs(double(fast[tk * rows + r]) - ref[tk * rows + r]);
      worst = std::max(worst, diff / bound);
      ASSERT_LE(diff, 1.5e-2 * bound) << dtype_name(t) << " token " << tk << " row " << r;
    }
  }
  RecordProperty("worst_relative", std::to_string(worst));
  EXPECT_GT(worst, 0.0);  // really two different computations
}

// Direct kernel calls: every variant this CPU runs gives the scalar kernel's bits, for 1..4
// tokens per call, and a token's result does not depend on the tile it is in.
TEST_P(KQuantMatmul, EveryKernelVariantGivesTheScalarBits) {
  const DType t = GetParam();
  if (dtype_is_q5(t)) GTEST_SKIP() << "Q5_0/Q5_1: Q5KernelVariantsGiveTheScalarBits";
  const int64_t nb = 5, cols = nb * 256;
  std::vector<uint8_t> wbytes;
  if (t == DType::Q4_K) {
    auto b = random_blocks<BlockQ4_K>(size_t(nb), 41);
    wbytes.assign(reinterpret_cast<uint8_t*>(b.data()), reinterpret_cast<uint8_t*>(b.data() + nb));
  } else if (t == DType::Q5_K) {
    auto b = random_blocks<BlockQ5_K>(size_t(nb), 42);
    wbytes.assign(reinterpret_cast<uint8_t*>(b.data()), reinterpret_cast<uint8_t*>(b.data() + nb));
  } else {
    auto b = random_blocks<BlockQ6_K>(size_t(nb), 43);
    for (auto& blk : b)  // include the extreme scales -128 and 127
      blk.scales[0] = -128, blk.scales[5] = 127;
    wbytes.assign(reinterpret_cast<uint8_t*>(b.data()), reinterpret_cast<uint8_t*>(b.data() + nb));
  }
  const int T = 4;
  auto x = random_floats(size_t(T * cols), 44);
  std::vector<BlockQ8_K> xq(size_t(T * nb));
  for (int tk = 0; tk < T; ++tk) quantize_row_q8_k(x.data() + tk * cols, cols, xq.data() + tk * nb);
  // Saturated activations too: -127 and 127 everywhere in one block.
  for (int i = 0; i < 256; ++i) xq[1].qs[i] = int8_t(i % 2 ? 127 : -127);
  for (int g = 0; g < 16; ++g) xq[1].bsums[g] = 0;
  auto call = [&](const cpu::KQuantTable& k, int n, int t0, float* out) {
    const BlockQ8_K* xt = xq.data() + t0 * nb;
    if (t == DType::Q4_K) k.q4_k(reinterpret_cast<const BlockQ4_K*>(wbytes.data()), xt, nb, n, nb, out, 1);
    else if (t == DType::Q5_K) k.q5_k(reinterpret_cast<const BlockQ5_K*>(wbytes.data()), xt, nb, n, nb, out, 1);
    else k.q6_k(reinterpret_cast<const BlockQ6_K*>(wbytes.data()), xt, nb, n, nb, out, 1);
  };
  float want[T];
  call(cpu::kquant_scalar_table(), T, 0, want);
  // The scalar kernel against an exact double evaluation of the dequantized dot.
  {
    std::vector<float> wf(static_cast<size_t>(cols));
    const Weight wv{t, wbytes.data(), 1, cols};
    backend(BackendKind::Reference)->get_rows(wv, std::vector<int32_t>{0}.data(), 1, wf.data());
    for (int tk = 0; tk < T; ++tk) {
      double exact = 0, mag = 0;
      for (int64_t c = 0; c < cols; ++c) {
        const double xv = double(xq[size_t(tk * nb + c / 256)].d) * xq[size_t(tk * nb + c / 256)].qs[c % 256];
        exact += double(wf[size_t(c)]) * xv;
        mag += std::fabs(double(wf[size_t(c)]) * xv);
      }
      EXPECT_NEAR(want[tk], exact, 1e-5 * mag + 1e-6) << dtype_name(t) << " token " << tk;
    }
  }
  std::vector<const cpu::KQuantTable*> tables;
  if (cpu_has_avx2()) tables.push_back(&cpu::kquant_avx2_table());
  if (cpu_has_avx2() && cpu::cpu_has_avxvnni()) tables.push_back(&cpu::kquant_avxvnni_table());
  if (cpu_has_avx2() && cpu::cpu_has_avx512()) tables.push_back(&cpu::kquant_avx512_table());
  RecordProperty("variants", int(tables.size()));
  for (const auto* k : tables) {
    for (int n = 1; n <= T; ++n)
      for (int t0 = 0; t0 + n <= T; ++t0) {
        float got[T];
        call(*k, n, t0, got);
        ASSERT_EQ(0, std::memcmp(got, want + t0, size_t(n) * 4)) << dtype_name(t) << " " << k->name << " n " << n;
      }
  }
}

// Whole matmuls through the backend of every variant this CPU runs (scalar included): every
// token count and thread count gives the bits of one token at a time on the scalar variant.
TEST_P(KQuantMatmul, BatchThreadAndVariantInvariantBitwise) {
  const DType t = GetParam();
  const int64_t cols = 512, rows = 53;
  auto w = make_weight(t, rows, cols, 21);
  const int T = 11;
  const auto x = random_floats(size_t(T * cols), 22);
  std::vector<float> want(size_t(T * rows));
  {
    auto b = backend(BackendKind::Cpu, 1, "scalar");
    for (int tk = 0; tk < T; ++tk) b->matmul(w.view, x.data() + tk * cols, 1, want.data() + tk * rows);
  }
  std::vector<std::string> variants = {"scalar"};
  if (cpu_has_avx2()) variants.push_back("avx2");
  if (cpu_has_avx2() && cpu::cpu_has_avxvnni()) variants.push_back("avxvnni");
  if (make_backend({BackendKind::Cpu, 1, "avx512"})) variants.push_back("avx512");
  if (make_backend({BackendKind::Cpu, 1, "avx512-amx"})) variants.push_back("avx512-amx");  // Q5_0 on AMX tiles
  variants.push_back("");  // the default choice
  RecordProperty("variants", int(variants.size()));
  for (const auto& v : variants)
    for (int threads : {1, 2})
      for (int n : {1, 2, 3, 4, 5, 11}) {
        auto b = backend(BackendKind::Cpu, threads, v);
        std::vector<float> got(size_t(T * rows));
        for (int t0 = 0; t0 < T; t0 += n) {
          const int m = std::min(n, T - t0);
          b->matmul(w.view, x.data() + t0 * cols, m, got.data() + t0 * rows);
        }
        ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4))
            << dtype_name(t) << " variant '" << v << "' threads " << threads << " batch " << n;
      }
}

TEST_P(KQuantMatmul, EmbeddingRowsAreTheReferenceDequantization) {
  const DType t = GetParam();
  auto w = make_weight(t, 9, 512, 31);
  const std::vector<int32_t> ids = {8, 0, 3};
  std::vector<float> a(3 * 512), b(3 * 512);
  backend(BackendKind::Cpu, 2)->get_rows(w.view, ids.data(), 3, a.data());
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(gguf::dequantize_row(gguf::TensorType(uint32_t(t)), w.bytes.data() + size_t(ids[i]) * row_bytes(t, 512),
                                     b.data() + 512 * i, 512));
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4));
}

INSTANTIATE_TEST_SUITE_P(KTypes, KQuantMatmul, ::testing::ValuesIn(kMatmulTypes),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace ig::kernels
