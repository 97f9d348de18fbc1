// Logits of a token sequence, the two ways the engine's tests compare: one prefill of every
// position, and one token at a time (as generation runs). Shared by the random-model tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "inference/engine/engine.hpp"

namespace ig::engine::testing {

// n token ids in [0, vocab), from a fixed seed.
inline std::vector<int32_t> random_tokens(int n, uint32_t seed, int vocab) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = int32_t(rng() % uint32_t(vocab));
  return t;
}

// Logits of every position (t.size() × vocab floats), one prefill.
inline std::vector<float> prefill(const Model& m, kernels::Backend& be, const std::vector<int32_t>& t) {
  auto s = Session::create(m, be, int(t.size()));
  EXPECT_TRUE(s);
  std::vector<float> out;
  auto st = s->eval(t, Logits::All, [&](int, std::span<const float> l) { out.insert(out.end(), l.begin(), l.end()); });
  EXPECT_TRUE(st) << st.error().to_string();
  return out;
}

// Logits of every position, one token at a time.
inline std::vector<float> stepwise(const Model& m, kernels::Backend& be, const std::vector<int32_t>& t) {
  auto s = Session::create(m, be, int(t.size()));
  std::vector<float> out;
  for (int32_t tok : t) {
    auto st = s->eval(std::span<const int32_t>(&tok, 1), Logits::Last,
                      [&](int, std::span<const float> l) { out.insert(out.end(), l.begin(), l.end()); });
    EXPECT_TRUE(st);
  }
  return out;
}

}  // namespace ig::engine::testing
