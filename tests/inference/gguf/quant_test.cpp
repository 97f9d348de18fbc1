// fp16 conversion against known bit patterns, hand-built blocks against the
// reference dequantizers, and quantize -> dequantize error bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "inference/gguf/quant.hpp"

namespace {
using namespace ig::gguf;

uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
}  // namespace

TEST(GgufQuant, Fp16ToFp32KnownPatterns) {
  EXPECT_EQ(fp16_to_fp32(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_fp32(0xc000), -2.0f);
  EXPECT_EQ(fp16_to_fp32(0x7bff), 65504.0f);
  EXPECT_EQ(fp16_to_fp32(0x0400), std::ldexp(1.0f, -14));   // smallest normal
  EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));   // smallest subnormal
  EXPECT_EQ(fp16_to_fp32(0x03ff), std::ldexp(1023.0f, -24)); // largest subnormal
  EXPECT_EQ(fp16_to_fp32(0x3555), 0.333251953125f);
  EXPECT_EQ(bits_of(fp16_to_fp32(0x8000)), 0x80000000u);     // -0
  EXPECT_TRUE(std::isinf(fp16_to_fp32(0x7c00)) && fp16_to_fp32(0x7c00) > 0);
  EXPECT_TRUE(std::isinf(fp16_to_fp32(0xfc00)) && fp16_to_fp32(0xfc00) < 0);
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7e00)));
}

TEST(GgufQuant, Fp32ToFp16RoundsToNearestEven) {
  EXPECT_EQ(fp32_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(-2.0f), 0xc000);
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65519.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);  // halfway to the next binade: rounds to inf
  EXPECT_EQ(fp32_to_fp16(1e9f), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-1e9f), 0xfc00);
  EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // tie -> even
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // tie -> even (up)
  EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);             // tie -> even (zero)
  EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);             // 1.5 ulp -> 2
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -26)), 0x0000);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1023.5f, -24)), 0x0400);          // rounds up into the normals
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_fp16(INFINITY), 0x7c00);
  const uint16_t nan = fp32_to_fp16(NAN);
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
}

TEST(GgufQuant, Fp16RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const auto half = static_cast<uint16_t>(h);
    const bool is_nan = (half & 0x7c00) == 0x7c00 && (half & 0x3ff) != 0;
    if (is_nan) continue;
    ASSERT_EQ(fp32_to_fp16(fp16_to_fp32(half)), half) << std::hex << h;
  }
}

#if defined(__FLT16_MAX__)
TEST(GgufQuant, Fp32ToFp16MatchesCompilerFloat16) {
  std::mt19937 rng(7);
  for (int k = 0; k < 200000; ++k) {
    uint32_t b = rng();
    float f;
    std::memcpy(&f, &b, 4);
    if (std::isnan(f)) continue;
    const _Float16 h = static_cast<_Float16>(f);
    uint16_t hb;
    std::memcpy(&hb, &h, 2);
    ASSERT_EQ(fp32_to_fp16(f), hb) << f;
  }
}
#endif

TEST(GgufQuant, HandBuiltQ8_0Block) {
  block_q8_0 b{};
  b.d = 0x3800;  // 0.5
  for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(j * 8 - 128);
  float y[32];
  dequantize_row_q8_0(&b, y, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.5f * static_cast<float>(j * 8 - 128)) << j;
}

TEST(GgufQuant, HandBuiltQ4_0BlockNibbleOrder) {
  block_q4_0 b{};
  b.d = 0x3c00;  // 1.0
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  dequantize_row_q4_0(&b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], static_cast<float>(j - 8)) << "low nibble holds element " << j;
    EXPECT_EQ(y[j + 16], static_cast<float>(7 - j)) << "high nibble holds element " << j + 16;
  }
}

TEST(GgufQuant, Q4_0QuantizeMatchesGgmlRounding) {
  // x = -16..15: the largest magnitude is -16, so d = -16 / -8 = 2 and q = trunc(x/2 + 8.5), capped at 15.
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
  block_q4_0 b{};
  quantize_row_q4_0(x, &b, 32);
  EXPECT_EQ(b.d, 0x4000);
  for (int j = 0; j < 16; ++j) {
    const int lo = (j + 1) / 2;
    const int hi = std::min(15, (j + 17) / 2);
    EXPECT_EQ(b.qs[j], lo | (hi << 4)) << j;
  }
  float y[32];
  dequantize_row_q4_0(&b, y, 32);
  EXPECT_EQ(y[0], -16.0f);  // the extreme is exact
  EXPECT_EQ(y[31], 14.0f);  // capped at q = 15
}

TEST(GgufQuant, Q8_0QuantizeMatchesGgmlRounding) {
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j) * 0.25f - 3.0f;  // amax 4.75 at j = 31
  block_q8_0 b{};
  quantize_row_q8_0(x, &b, 32);
  const float d = 4.75f / 127.0f;
  EXPECT_EQ(b.d, fp32_to_fp16(d));
  for (int j = 0; j < 32; ++j) EXPECT_EQ(b.qs[j], static_cast<int8_t>(std::roundf(x[j] * (1.0f / d)))) << j;
  EXPECT_EQ(b.qs[31], 127);
  block_q8_0 zero{};
  float zeros[32] = {};
  quantize_row_q8_0(zeros, &zero, 32);
  EXPECT_EQ(zero.d, 0);
  for (int8_t q : zero.qs) EXPECT_EQ(q, 0);
}

TEST(GgufQuant, RoundTripErrorBounds) {
  constexpr int kN = 32 * 64;
  std::mt19937 rng(42);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(kN);
  for (auto& v : x) v = dist(rng);
  std::vector<float> y(kN);
  std::vector<uint8_t> buf(kN * 4);

  // F16: relative error at most 2^-11 for normal values.
  ASSERT_TRUE(quantize_row(TensorType::F16, x.data(), buf.data(), kN));
  ASSERT_TRUE(dequantize_row(TensorType::F16, buf.data(), y.data(), kN));
  for (int k = 0; k < kN; ++k) EXPECT_LE(std::fabs(y[k] - x[k]), std::fabs(x[k]) * std::ldexp(1.0f, -11));

  for (TensorType t : {TensorType::Q8_0, TensorType::Q4_0}) {
    ASSERT_TRUE(quantize_row(t, x.data(), buf.data(), kN));
    ASSERT_TRUE(dequantize_row(t, buf.data(), y.data(), kN));
    double err2 = 0, sig2 = 0;
    for (int b = 0; b < kN / 32; ++b) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
      // Q8_0: half a step (amax/127/2) plus the fp16 error of the scale over 127 steps.
      // Q4_0: one step (amax/8) at worst, where the far extreme is capped at q = 15.
      const float bound = t == TensorType::Q8_0 ? amax * (0.5f / 127.0f + std::ldexp(1.0f, -11)) * 1.001f
                                                : amax / 8.0f * (1.0f + std::ldexp(1.0f, -7));
      for (int j = 0; j < 32; ++j) {
        const int k = b * 32 + j;
        EXPECT_LE(std::fabs(y[k] - x[k]), bound) << "type " << static_cast<int>(t) << " element " << k;
        err2 += (y[k] - x[k]) * (y[k] - x[k]);
        sig2 += x[k] * x[k];
      }
    }
    const double rel = std::sqrt(err2 / sig2);
    EXPECT_LT(rel, t == TensorType::Q8_0 ? 0.01 : 0.12) << static_cast<int>(t);
  }
}

TEST(GgufQuant, RowDispatchErrors) {
  float x[32] = {};
  uint8_t buf[256];
  EXPECT_EQ(quantize_row(TensorType::Q8_0, x, buf, 31).error().code, "gguf.bad_shape");
  EXPECT_EQ(dequantize_row(TensorType::Q4_0, buf, x, 16).error().code, "gguf.bad_shape");
  EXPECT_EQ(dequantize_row(TensorType::Q2_K, buf, x, 256).error().code, "gguf.unsupported_type");
  EXPECT_EQ(dequantize_row(TensorType::Q6_K, buf, x, 128).error().code, "gguf.bad_shape");  // half a super-block
  EXPECT_EQ(quantize_row(TensorType::F32, x, buf, -1).error().code, "gguf.bad_shape");
  ASSERT_TRUE(quantize_row(TensorType::F32, x, buf, 8));
}
