// Layout::Interleaved16 (kernels/interleave.hpp), Q4_0 and Q8_0: the regrouping is a permutation
// that gives every row back, it follows the layout formats.hpp documents, and a regrouped matrix
// gives bitwise the same products and embedding rows as the GGUF-order one on every backend,
// variant, thread count and token count.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "kernels/cpu/dot.hpp"
#include "kernels/formats.hpp"
#include "kernels/interleave.hpp"
#include "kernels/kernels.hpp"
#include "weights.hpp"

namespace ig::kernels {
namespace {

using testing::make_weight;
using testing::random_floats;

// 67 rows: four whole groups and 3 rows left in GGUF order; 29 blocks a row.
constexpr int64_t kRows = 67, kCols = 928, kNb = kCols / kBlock;

struct Regrouped {
  testing::OwnedWeight rows;  // GGUF order
  std::vector<uint8_t> bytes;
  Weight view;
};

Regrouped regrouped(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  Regrouped r{make_weight(type, rows, cols, seed), {}, {}};
  r.bytes = r.rows.bytes;
  interleave(type, r.bytes.data(), rows, cols);
  r.view = Weight{type, r.bytes.data(), rows, cols, Layout::Interleaved16};
  return r;
}

// Unit b of group g against rows 16g..16g+15's block b: d[r] and dword r of each chunk.
template <typename Block, typename Unit>
void expect_documented_layout(const Regrouped& w) {
  const auto* src = reinterpret_cast<const Block*>(w.rows.bytes.data());
  const auto* units = reinterpret_cast<const Unit*>(w.bytes.data());
  constexpr int kChunks = int(sizeof(Block::qs)) / 4;
  for (int64_t g = 0; g < kRows / 16; ++g)
    for (int64_t b = 0; b < kNb; ++b)
      for (int r = 0; r < 16; ++r) {
        const Block& row = src[(16 * g + r) * kNb + b];
        const Unit& u = units[g * kNb + b];
        ASSERT_EQ(u.d[r], row.d) << "group " << g << " block " << b << " row " << r;
        for (int q = 0; q < kChunks; ++q)
          for (int j = 0; j < 4; ++j) ASSERT_EQ(u.qs[64 * q + 4 * r + j], row.qs[4 * q + j]);
      }
}

TEST(Interleaved16, RegroupingFollowsTheDocumentedLayout) {
  for (DType type : {DType::Q4_0, DType::Q8_0}) {
    const auto w = regrouped(type, kRows, kCols, 31);
    if (type == DType::Q4_0)
      expect_documented_layout<BlockQ4_0, BlockQ4_0x16>(w);
    else
      expect_documented_layout<BlockQ8_0, BlockQ8_0x16>(w);
    // the rows past the last whole group stay in GGUF order
    const size_t tail = size_t(64) * row_bytes(type, kCols);
    EXPECT_EQ(0, std::memcmp(w.bytes.data() + tail, w.rows.bytes.data() + tail, w.bytes.size() - tail));
    EXPECT_NE(0, std::memcmp(w.bytes.data(), w.rows.bytes.data(), tail)) << "the groups did not move";
  }
}

TEST(Interleaved16, EveryRowComesBack) {
  for (DType type : {DType::Q4_0, DType::Q8_0})
    for (int64_t rows : {int64_t(1), int64_t(15), int64_t(16), kRows}) {
      const auto w = regrouped(type, rows, kCols, 32);
      EXPECT_EQ(rows_layout_bytes(w.view), w.rows.bytes) << rows << " rows";
      const size_t rb = row_bytes(type, kCols);
      std::vector<uint8_t> row(rb);
      for (int64_t r = 0; r < rows; ++r) {
        gguf_row(w.view, r, row.data());
        ASSERT_EQ(0, std::memcmp(row.data(), w.rows.bytes.data() + size_t(r) * rb, rb))
            << dtype_name(type) << " row " << r << " of " << rows;
      }
    }
}

// The Q4_0 offset correction travels as four digits after each token's quants (TokenRows): they
// must give -8 * sum exactly at the extremes of the sum and in between, with the last digit in
// 0..15 and the first three in int8.
TEST(Interleaved16, TokenRowsCarryTheExactCorrection) {
  std::vector<BlockQ8_0> x(3 * 17);  // 17 tokens (a group and one), 3 blocks each
  for (size_t i = 0; i < x.size(); ++i)
    for (int k = 0; k < 32; ++k)
      x[i].qs[k] = int8_t(i % 5 == 0 ? -128 : i % 5 == 1 ? 127 : int((i * 37 + size_t(k) * 11) % 256) - 128);
  std::vector<cpu::TokenRows> rows(2 * 3);
  cpu::pack_token_rows(x.data(), 17, 3, 0, 2, rows.data());
  for (int t = 0; t < 17; ++t)
    for (int b = 0; b < 3; ++b) {
      int32_t sum = 0;
      for (int k = 0; k < 32; ++k) sum += x[size_t(t * 3 + b)].qs[k];
      const int8_t* q = rows[size_t((t / 16) * 3 + b)].qs[t % 16];
      EXPECT_EQ(0, std::memcmp(q, x[size_t(t * 3 + b)].qs, 32));
      EXPECT_GE(q[35], 0);
      EXPECT_LE(q[35], 15);
      EXPECT_EQ(128 * (q[32] + q[33] + q[34]) + 8 * q[35], -8 * sum) << "token " << t << " block " << b;
    }
  for (int k = 0; k < cpu::kTokenRowBytes; ++k) EXPECT_EQ(rows[3].qs[1][k], 0) << "past the last token";
}

std::vector<BackendOptions> all_backends() {
  std::vector<BackendOptions> out = {{BackendKind::Reference, 1}, {BackendKind::Cpu, 1, "scalar"}};
  if (cpu_has_avx2()) out.push_back({BackendKind::Cpu, 2, "avx2"});
  if (cpu_has_avx2() && cpu::cpu_has_avxvnni()) out.push_back({BackendKind::Cpu, 1, "avxvnni"});
  if (cpu_has_avx2() && cpu::cpu_has_avx512()) {
    out.push_back({BackendKind::Cpu, 1, "avx512"});
    out.push_back({BackendKind::Cpu, 2, "avx512"});
  }
  if (cpu_has_avx2() && cpu::cpu_has_avx512() && cpu::cpu_has_amx() && cpu::cpu_has_gfni()) {
    out.push_back({BackendKind::Cpu, 1, "avx512-amx"});
    out.push_back({BackendKind::Cpu, 2, "avx512-amx"});
  }
  if (cuda_available()) out.push_back({BackendKind::Cuda, 1});
  return out;
}

// Decode (1..4 tokens: the regrouped kernels where the variant has them), the AMX and vector
// paths (5, 19, 70 tokens), and embedding lookups of grouped and tail rows, Q4_0 and Q8_0.
TEST(Interleaved16, EveryBackendGivesTheRowOrderBitsOnARegroupedMatrix) {
  const int T = 70;
  const auto x = random_floats(size_t(T * kCols), 34);
  int checked = 0;
  for (DType type : {DType::Q4_0, DType::Q8_0}) {
    const auto w = regrouped(type, kRows, kCols, 33);
    for (const auto& opt : all_backends()) {
      auto be = make_backend(opt);
      ASSERT_TRUE(be) << opt.cpu_variant;
      const std::string name = std::string(dtype_name(type)) + " " + backend_kind_name(opt.kind) + " " +
                               opt.cpu_variant + " " + std::to_string(opt.threads) + " threads";
      for (int n : {1, 2, 3, 4, 5, 19, 70}) {
        std::vector<float> want(size_t(n * kRows)), got(size_t(n * kRows), -1.0f);
        (*be)->matmul(w.rows.view, x.data(), n, want.data());
        (*be)->matmul(w.view, x.data(), n, got.data());
        ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4)) << name << ", " << n << " tokens";
        ++checked;
      }
      const int32_t ids[] = {0, 17, 63, 64, 66};
      std::vector<float> want(5 * kCols), got(5 * kCols);
      (*be)->get_rows(w.rows.view, ids, 5, want.data());
      (*be)->get_rows(w.view, ids, 5, got.data());
      EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4)) << name << ", get_rows";
    }
  }
  RecordProperty("matmuls_compared", checked);
}

}  // namespace
}  // namespace ig::kernels
