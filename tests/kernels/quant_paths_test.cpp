// The Q8_0/Q4_0 numerics cpu/3 and the fast paths that must give its bits: every x86 table's
// vector kernels, the AVX-512 decode kernels and the AMX tile kernels (with Q5_0 and the
// K-quants, which keep the K-quant kernels' bits), each against a definition written out here or
// the scalar K-quant kernel.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

#include "kernels/cpu/dot.hpp"
#include "kernels/cpu/dot_kquants.hpp"
#include "kernels/formats.hpp"
#include "kernels/interleave.hpp"
#include "kernels/kernels.hpp"
#include "weights.hpp"

namespace ig::kernels {
namespace {

using testing::make_weight;
using testing::random_floats;

// Numerics cpu/3 written out from its definition (kernels/cpu/dot.hpp): per block the exact
// integer dot of the weight's and the activation's quants, then acc = fma(dw*dx, float(isum),
// acc) in block order. Every table's Q8_0/Q4_0 kernel gives exactly these bits.
float cpu3_dot(DType type, const uint8_t* row, const BlockQ8_0* x, int64_t nb) {
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t isum = 0;
    float dw;
    if (type == DType::Q8_0) {
      const auto& wb = reinterpret_cast<const BlockQ8_0*>(row)[b];
      for (int i = 0; i < 32; ++i) isum += int32_t(wb.qs[i]) * x[b].qs[i];
      dw = fp16_to_fp32(wb.d);
    } else {
      const auto& wb = reinterpret_cast<const BlockQ4_0*>(row)[b];
      for (int i = 0; i < 16; ++i)
        isum += (int32_t(wb.qs[i] & 15) - 8) * x[b].qs[i] + (int32_t(wb.qs[i] >> 4) - 8) * x[b].qs[i + 16];
      dw = fp16_to_fp32(wb.d);
    }
    const float d = dw * fp16_to_fp32(x[b].d);
    acc = std::fma(d, float(isum), acc);
  }
  return acc;
}

// What a fast kernel must give for one row: cpu/3 for Q8_0/Q4_0; for Q5_0 (the K-quant mixes'
// fallback) the scalar K-quant kernel, whose loop form the tile and decode kernels keep.
float expected_dot(DType type, const uint8_t* row, const BlockQ8_0* x, int64_t nb) {
  if (type != DType::Q5_0) return cpu3_dot(type, row, x, nb);
  float v;
  cpu::kquant_scalar_table().q5_0(reinterpret_cast<const BlockQ5_0*>(row), x, nullptr, nb, 1, nb, &v, 1);
  return v;
}

// Every row count from 1 to 19 (short row groups repeat a row internally), 1..3 tokens, rows
// of 1, 29 and 152 blocks, with weights that include -128 (the sign trick's edge) and
// activations at the +-127 extremes.
TEST(KernelsVariants, QuantKernelsFollowCpu3Bitwise) {
  for (int64_t cols : {int64_t(32), int64_t(928), int64_t(4864)}) {
    const int64_t nb = cols / kBlock;
    const int T = 3;
    auto x = random_floats(size_t(T * cols), 85);
    std::vector<BlockQ8_0> xq(size_t(T * nb));
    for (int t = 0; t < T; ++t) cpu::quantize_row_q8_0(x.data() + t * cols, cols, xq.data() + t * nb);
    for (DType type : {DType::Q4_0, DType::Q8_0}) {
      auto w = make_weight(type, 19, cols, 86);
      auto* base = static_cast<uint8_t*>(const_cast<void*>(w.view.data));
      const size_t rb = row_bytes(type, cols);
      if (type == DType::Q8_0) reinterpret_cast<BlockQ8_0*>(base + rb)[0].qs[3] = -128;
      std::vector<float> want(size_t(T * 19));
      for (int t = 0; t < T; ++t)
        for (int r = 0; r < 19; ++r) want[size_t(t * 19 + r)] = cpu3_dot(type, base + r * rb, xq.data() + t * nb, nb);
      for (const auto* tab : testing::cpu_tables())
        for (int nr = 1; nr <= 19; ++nr) {
          std::vector<float> got(size_t(T * 19), -1.0f);
          if (type == DType::Q4_0)
            tab->q4_0(reinterpret_cast<const BlockQ4_0*>(base), nb, nr, xq.data(), nb, T, nb, got.data(), 19);
          else
            tab->q8_0(reinterpret_cast<const BlockQ8_0*>(base), nb, nr, xq.data(), nb, T, nb, got.data(), 19);
          for (int t = 0; t < T; ++t) {
            EXPECT_EQ(0, std::memcmp(want.data() + t * 19, got.data() + t * 19, size_t(nr) * 4))
                << tab->name << " " << dtype_name(type) << " cols " << cols << " rows " << nr << " token " << t;
            if (nr < 19) {
              EXPECT_EQ(got[size_t(t * 19 + nr)], -1.0f) << "wrote past row " << nr;
            }
          }
        }
    }
  }
}

// The AVX-512 decode kernels against the definition, bit for bit: 1..4 tokens, 1, 29 and 152
// blocks, 16 and 48 rows (its shuffle tree and the row order it restores), weights with -128;
// Q5_0 against the scalar K-quant kernel, whose loop form it keeps.
class GemvTables : public ::testing::TestWithParam<bool> {};  // param: the GFNI nibble kernels

const cpu::DotTable& gemv_table(bool gfni) { return gfni ? cpu::avx512_table() : cpu::avx512_table_without_gfni(); }

TEST_P(GemvTables, GemvFollowsCpu3Bitwise) {
  if (!cpu_has_avx2() || !cpu::cpu_has_avx512()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  if (GetParam() && !cpu::cpu_has_gfni()) GTEST_SKIP() << "no GFNI on this CPU";
  const auto& tab = gemv_table(GetParam());
  ASSERT_TRUE(tab.q8_0_gemv && tab.q4_0_gemv && tab.q5_0_gemv);
  for (int64_t cols : {int64_t(32), int64_t(928), int64_t(4864)}) {
    const int64_t nb = cols / kBlock;
    for (int n = 1; n <= cpu::kGemvTokens; ++n) {
      auto x = random_floats(size_t(n * cols), 89 + n);
      std::vector<BlockQ8_0> xq(size_t(n * nb));
      for (int t = 0; t < n; ++t) cpu::quantize_row_q8_0(x.data() + t * cols, cols, xq.data() + t * nb);
      for (DType type : {DType::Q4_0, DType::Q8_0, DType::Q5_0})
        for (int64_t rows : {int64_t(16), int64_t(48)}) {
          auto w = make_weight(type, rows, cols, 90);
          auto* base = static_cast<uint8_t*>(const_cast<void*>(w.view.data));
          const size_t rb = row_bytes(type, cols);
          if (type == DType::Q8_0) reinterpret_cast<BlockQ8_0*>(base + 5 * rb)[nb - 1].qs[7] = -128;
          const int64_t os = rows + 1;  // a spare column per token catches writes past the rows
          std::vector<float> got(size_t((n + 1) * os), -1.0f);
          if (type == DType::Q4_0)
            tab.q4_0_gemv(reinterpret_cast<const BlockQ4_0*>(base), nb, rows, xq.data(), n, nb, got.data(), os);
          else if (type == DType::Q8_0)
            tab.q8_0_gemv(reinterpret_cast<const BlockQ8_0*>(base), nb, rows, xq.data(), n, nb, got.data(), os);
          else
            tab.q5_0_gemv(reinterpret_cast<const BlockQ5_0*>(base), nb, rows, xq.data(), n, nb, got.data(), os);
          auto want = [&](int64_t r, int t) { return expected_dot(type, base + r * rb, xq.data() + t * nb, nb); };
          for (int t = 0; t < n; ++t) {
            for (int64_t r = 0; r < rows; ++r)
              ASSERT_EQ(fp32_to_bits(got[size_t(t * os + r)]), fp32_to_bits(want(r, t)))
                  << dtype_name(type) << " cols " << cols << " tokens " << n << " row " << r;
            EXPECT_EQ(got[size_t(t * os + rows)], -1.0f) << "wrote past row " << rows;
          }
          EXPECT_EQ(got[size_t(n * os)], -1.0f) << "wrote past token " << n;
        }
    }
  }
}

// The kernels of Layout::Interleaved16 against the definition on the rows before regrouping, bit
// for bit, Q4_0 and Q8_0 (with a -128 weight, the sign trick's edge): 1, 29 and 152 blocks, one
// and three groups, the given token counts; nothing written past the groups and tokens asked for.
// kernel(type, units, groups, xq (n tokens' nb blocks each), n, nb, out, os)
using RegroupedKernel = std::function<void(DType, const void*, int64_t, const std::vector<BlockQ8_0>&, int, int64_t,
                                           float*, int64_t)>;
void check_regrouped_kernel(const RegroupedKernel& kernel, std::initializer_list<int> token_counts) {
  for (int64_t cols : {int64_t(32), int64_t(928), int64_t(4864)}) {
    const int64_t nb = cols / kBlock;
    for (int n : token_counts) {
      auto x = random_floats(size_t(n * cols), 93 + n);
      std::vector<BlockQ8_0> xq(size_t(n * nb));
      for (int t = 0; t < n; ++t) cpu::quantize_row_q8_0(x.data() + t * cols, cols, xq.data() + t * nb);
      for (DType type : {DType::Q4_0, DType::Q8_0})
        for (int64_t groups : {int64_t(1), int64_t(3)}) {
          const int64_t rows = 16 * groups;
          auto w = make_weight(type, rows, cols, 94);
          const size_t rb = row_bytes(type, cols);
          if (type == DType::Q8_0) reinterpret_cast<BlockQ8_0*>(w.bytes.data() + 7 * rb)[nb - 1].qs[5] = -128;
          std::vector<uint8_t> units = w.bytes;
          interleave(type, units.data(), rows, cols);
          const int64_t os = rows + 1;  // a spare column per token catches writes past the groups
          std::vector<float> got(size_t((n + 1) * os), -1.0f);
          kernel(type, units.data(), groups, xq, n, nb, got.data(), os);
          for (int t = 0; t < n; ++t) {
            for (int64_t r = 0; r < rows; ++r)
              ASSERT_EQ(fp32_to_bits(got[size_t(t * os + r)]),
                        fp32_to_bits(cpu3_dot(type, w.bytes.data() + r * rb, xq.data() + t * nb, nb)))
                  << dtype_name(type) << " cols " << cols << " tokens " << n << " row " << r;
            EXPECT_EQ(got[size_t(t * os + rows)], -1.0f) << "wrote past row " << rows;
          }
          EXPECT_EQ(got[size_t(n * os)], -1.0f) << "wrote past token " << n;
        }
    }
  }
}

// First the AVX-512 decode kernels, 1..4 tokens.
TEST_P(GemvTables, RegroupedGemvFollowsCpu3Bitwise) {
  if (!cpu_has_avx2() || !cpu::cpu_has_avx512()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  if (GetParam() && !cpu::cpu_has_gfni()) GTEST_SKIP() << "no GFNI on this CPU";
  const auto& tab = gemv_table(GetParam());
  ASSERT_TRUE(tab.q4_0x16_gemv && tab.q8_0x16_gemv);
  check_regrouped_kernel(
      [&](DType type, const void* w, int64_t groups, const std::vector<BlockQ8_0>& xq, int n, int64_t nb, float* out,
          int64_t os) {
        if (type == DType::Q4_0)
          tab.q4_0x16_gemv(static_cast<const BlockQ4_0x16*>(w), groups, xq.data(), n, nb, out, os);
        else
          tab.q8_0x16_gemv(static_cast<const BlockQ8_0x16*>(w), groups, xq.data(), n, nb, out, os);
      },
      {1, 2, 3, 4});
}

INSTANTIATE_TEST_SUITE_P(Nibbles, GemvTables, ::testing::Values(true, false),
                         [](const auto& i) { return i.param ? "Gfni" : "ShiftAndMask"; });

// The AMX prefill kernels likewise: a partial token group, one group, a group and a rest, and
// several groups with a rest (the tiles' rows are the tokens here).
TEST(KernelsVariants, RegroupedAmxGemmFollowsCpu3Bitwise) {
  if (!cpu_has_avx2() || !cpu::cpu_has_avx512() || !cpu::cpu_has_amx() || !cpu::cpu_has_gfni())
    GTEST_SKIP() << "no AMX-INT8 (with GFNI) on this CPU";
  const auto& tab = cpu::avx512_amx_table();
  ASSERT_TRUE(tab.q4_0x16_gemm && tab.q8_0x16_gemm);
  check_regrouped_kernel(
      [&](DType type, const void* w, int64_t groups, const std::vector<BlockQ8_0>& xq, int n, int64_t nb, float* out,
          int64_t os) {
        const int tg = (n + cpu::kTileTokens - 1) / cpu::kTileTokens;
        std::vector<cpu::TokenRows> rows(size_t(tg * nb));
        cpu::pack_token_rows(xq.data(), n, nb, 0, tg, rows.data());
        if (type == DType::Q4_0)
          tab.q4_0x16_gemm(static_cast<const BlockQ4_0x16*>(w), groups, rows.data(), n, nb, out, os);
        else
          tab.q8_0x16_gemm(static_cast<const BlockQ8_0x16*>(w), groups, rows.data(), n, nb, out, os);
      },
      {1, 5, 15, 16, 17, 35, 69});
}

// The AMX tile kernels against the definition, bit for bit: one token (decode), a partial
// group, exactly one group of 16, and groups plus a remainder; 1, 29 and 152 blocks (an odd
// last block of the two-block pipeline); 16 and 48 rows. Outputs outside the rows and tokens
// asked for stay untouched. Q5_0 (the K-quant mixes' fallback) against the scalar K-quant
// kernel, whose ggml loop form it keeps.
TEST(KernelsVariants, AmxGemmFollowsCpu3Bitwise) {
  if (!cpu_has_avx2() || !cpu::cpu_has_avx512() || !cpu::cpu_has_amx() || !cpu::cpu_has_gfni())
    GTEST_SKIP() << "no AMX-INT8 (with GFNI) on this CPU";
  const auto& tab = cpu::avx512_amx_table();
  ASSERT_TRUE(tab.q8_0_gemm && tab.q4_0_gemm && tab.q5_0_gemm);
  for (int64_t cols : {int64_t(32), int64_t(928), int64_t(4864)}) {
    const int64_t nb = cols / kBlock;
    for (int n : {1, 2, 15, 16, 17, 35, 53, 69}) {  // 35, 53, 69: two, three, four groups at once, then a rest
      auto x = random_floats(size_t(n * cols), 87 + n);
      std::vector<BlockQ8_0> xq(size_t(n * nb));
      for (int t = 0; t < n; ++t) cpu::quantize_row_q8_0(x.data() + t * cols, cols, xq.data() + t * nb);
      std::vector<cpu::TokenTile> tiles(size_t((n + 15) / 16 * nb));
      cpu::pack_token_tiles(xq.data(), n, nb, tiles.data());
      for (DType type : {DType::Q4_0, DType::Q8_0, DType::Q5_0})
        for (int64_t rows : {int64_t(16), int64_t(48)}) {
          auto w = make_weight(type, rows, cols, 88);
          const auto* base = static_cast<const uint8_t*>(w.view.data);
          const size_t rb = row_bytes(type, cols);
          const int64_t os = rows + 1;  // a spare column per token catches writes past the rows
          std::vector<float> got(size_t((n + 1) * os), -1.0f);
          if (type == DType::Q4_0)
            tab.q4_0_gemm(reinterpret_cast<const BlockQ4_0*>(base), nb, rows, tiles.data(), n, nb, got.data(), os);
          else if (type == DType::Q8_0)
            tab.q8_0_gemm(reinterpret_cast<const BlockQ8_0*>(base), nb, rows, tiles.data(), n, nb, got.data(), os);
          else
            tab.q5_0_gemm(reinterpret_cast<const BlockQ5_0*>(base), nb, rows, tiles.data(), n, nb, got.data(), os);
          auto want = [&](int64_t r, int t) { return expected_dot(type, base + r * rb, xq.data() + t * nb, nb); };
          for (int t = 0; t < n; ++t) {
            for (int64_t r = 0; r < rows; ++r)
              ASSERT_EQ(fp32_to_bits(got[size_t(t * os + r)]), fp32_to_bits(want(r, t)))
                  << dtype_name(type) << " cols " << cols << " tokens " << n << " token " << t << " row " << r;
            EXPECT_EQ(got[size_t(t * os + rows)], -1.0f);
          }
          EXPECT_EQ(got[size_t(n * os)], -1.0f) << "wrote past token " << n;
        }
    }
  }
}

// The AMX Q4_K, Q5_K and Q6_K kernels against the scalar K-quant kernels, bit for bit: partial and
// full token groups and groups plus a rest, 1 and 14 super-blocks, 16 and 48 rows; nothing
// written past the rows and tokens asked for.
TEST(KernelsVariants, AmxKQuantGemmGivesTheScalarBits) {
  if (!cpu_has_avx2() || !cpu::cpu_has_avx512() || !cpu::cpu_has_amx() || !cpu::cpu_has_gfni())
    GTEST_SKIP() << "no AMX-INT8 (with GFNI) on this CPU";
  const auto& tab = cpu::avx512_amx_table();
  ASSERT_TRUE(tab.q4_k_gemm && tab.q5_k_gemm && tab.q6_k_gemm);
  const auto& kq = cpu::kquant_scalar_table();
  for (int64_t cols : {int64_t(256), int64_t(3584)}) {
    const int64_t nb = cols / kQK_K;
    for (int n : {5, 16, 17, 35}) {
      auto x = random_floats(size_t(n * cols), 95 + n);
      std::vector<BlockQ8_K> xk(size_t(n * nb));
      for (int t = 0; t < n; ++t) quantize_row_q8_k(x.data() + t * cols, cols, xk.data() + t * nb);
      std::vector<cpu::KTokenTile> tiles(size_t((n + 15) / 16 * nb));
      cpu::pack_k_token_tiles(xk.data(), n, nb, tiles.data());
      for (DType type : {DType::Q4_K, DType::Q5_K, DType::Q6_K})
        for (int64_t rows : {int64_t(16), int64_t(48)}) {
          auto w = make_weight(type, rows, cols, 96);
          const auto* base = static_cast<const uint8_t*>(w.view.data);
          const size_t rb = row_bytes(type, cols);
          const int64_t os = rows + 1;
          std::vector<float> got(size_t((n + 1) * os), -1.0f);
          if (type == DType::Q4_K)
            tab.q4_k_gemm(reinterpret_cast<const BlockQ4_K*>(base), nb, rows, tiles.data(), n, nb, got.data(), os);
          else if (type == DType::Q5_K)
            tab.q5_k_gemm(reinterpret_cast<const BlockQ5_K*>(base), nb, rows, tiles.data(), n, nb, got.data(), os);
          else
            tab.q6_k_gemm(reinterpret_cast<const BlockQ6_K*>(base), nb, rows, tiles.data(), n, nb, got.data(), os);
          for (int t = 0; t < n; ++t) {
            for (int64_t r = 0; r < rows; ++r) {
              float want;
              if (type == DType::Q4_K)
                kq.q4_k(reinterpret_cast<const BlockQ4_K*>(base + r * rb), xk.data() + t * nb, nb, 1, nb, &want, 1);
              else if (type == DType::Q5_K)
                kq.q5_k(reinterpret_cast<const BlockQ5_K*>(base + r * rb), xk.data() + t * nb, nb, 1, nb, &want, 1);
              else
                kq.q6_k(reinterpret_cast<const BlockQ6_K*>(base + r * rb), xk.data() + t * nb, nb, 1, nb, &want, 1);
              ASSERT_EQ(fp32_to_bits(got[size_t(t * os + r)]), fp32_to_bits(want))
                  << dtype_name(type) << " cols " << cols << " tokens " << n << " token " << t << " row " << r;
            }
            EXPECT_EQ(got[size_t(t * os + rows)], -1.0f);
          }
          EXPECT_EQ(got[size_t(n * os)], -1.0f) << "wrote past token " << n;
        }
    }
  }
}

// The tile configuration is per thread and outlives a kernel: each AMX kernel must run on its own
// layout whatever kernel, layout and token count ran before it on the thread. (The kernels once
// named their layouts by keys, and the regrouped Q8_0 kernel's several-group layout had the
// same key as the K-quant kernel's one-token group: a 17-token Q4_K prefill after a 33-token
// Q8_0 one ran on the wrong tiles.) Every ordered pair of AMX paths, on one thread, against the
// AVX-512 kernels' bits.
TEST(KernelsVariants, EveryAmxKernelRunsOnItsOwnTileLayoutWhateverRanBefore) {
  if (!cpu_has_avx2() || !cpu::cpu_has_avx512() || !cpu::cpu_has_amx() || !cpu::cpu_has_gfni())
    GTEST_SKIP() << "no AMX-INT8 (with GFNI) on this CPU";
  const int64_t rows = 48, cols = 768;
  std::vector<testing::OwnedWeight> ws;
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q4_K, DType::Q5_K, DType::Q6_K})
    ws.push_back(make_weight(t, rows, cols, 120 + uint32_t(t)));
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    ws.push_back(make_weight(t, rows, cols, 140 + uint32_t(t)));
    interleave(t, ws.back().bytes.data(), rows, cols);
    ws.back().view.layout = Layout::Interleaved16;
  }
  auto amx = make_backend({BackendKind::Cpu, 1, "avx512-amx"});
  auto plain = make_backend({BackendKind::Cpu, 1, "avx512"});
  ASSERT_TRUE(amx && plain);
  const auto x = random_floats(size_t(33 * cols), 150);
  std::vector<float> before(size_t(33 * rows)), got(size_t(33 * rows)), want(size_t(33 * rows));
  for (const auto& prev : ws)
    for (int n_prev : {17, 33})
      for (const auto& cur : ws)
        for (int n : {5, 17, 33}) {
          (*amx)->matmul(prev.view, x.data(), n_prev, before.data());
          (*amx)->matmul(cur.view, x.data(), n, got.data());
          (*plain)->matmul(cur.view, x.data(), n, want.data());
          ASSERT_EQ(0, std::memcmp(got.data(), want.data(), size_t(n * rows) * 4))
              << dtype_name(cur.view.type) << (cur.view.layout == Layout::Interleaved16 ? " regrouped" : "") << ", "
              << n << " tokens, after " << dtype_name(prev.view.type)
              << (prev.view.layout == Layout::Interleaved16 ? " regrouped" : "") << ", " << n_prev << " tokens";
        }
}

}  // namespace
}  // namespace ig::kernels
