// Random weights in every supported type, quantized with ig_gguf's reference
// quantizers (independent of the kernels under test).
#pragma once

#include <random>
#include <vector>

#include "inference/gguf/quant.hpp"
#include "kernels/cpu/dot.hpp"
#include "kernels/kernels.hpp"

namespace ig::kernels::testing {

struct OwnedWeight {
  std::vector<uint8_t> bytes;
  Weight view;
};

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline OwnedWeight make_weight(DType type, int64_t rows, int64_t cols, uint32_t seed) {
  OwnedWeight w;
  const auto f = random_floats(size_t(rows * cols), seed, 0.5f);
  const size_t rb = row_bytes(type, cols);
  w.bytes.resize(rb * size_t(rows));
  for (int64_t r = 0; r < rows; ++r) {
    auto st = gguf::quantize_row(gguf::TensorType(uint32_t(type)), f.data() + r * cols,
                                 w.bytes.data() + size_t(r) * rb, cols);
    if (!st) throw std::runtime_error(st.error().to_string());
  }
  w.view = Weight{type, w.bytes.data(), rows, cols};
  return w;
}

// The dot-kernel tables this CPU runs: the scalar one, then AVX2, AVX-VNNI and AVX-512 where present.
inline std::vector<const cpu::DotTable*> cpu_tables() {
  std::vector<const cpu::DotTable*> t = {&cpu::scalar_table()};
  if (cpu_has_avx2()) t.push_back(&cpu::avx2_table());
  if (cpu_has_avx2() && cpu::cpu_has_avxvnni()) t.push_back(&cpu::avxvnni_table());
  if (cpu_has_avx2() && cpu::cpu_has_avx512()) t.push_back(&cpu::avx512_table());
  return t;
}

inline constexpr DType kAllTypes[] = {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0};

}  // namespace ig::kernels::testing
