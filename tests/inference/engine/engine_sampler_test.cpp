#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <map>

#include "inference/engine/sampler.hpp"

namespace ig::engine {
namespace {

TEST(EngineSampler, DrawIsDeterministicUniformAndKeyedBySeedAndStep) {
  EXPECT_EQ(uniform_draw(42, 7), uniform_draw(42, 7));
  EXPECT_NE(uniform_draw(42, 7), uniform_draw(42, 8));
  EXPECT_NE(uniform_draw(42, 7), uniform_draw(43, 7));
  double sum = 0;
  int buckets[10] = {};
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const double u = uniform_draw(1, uint32_t(i));
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    buckets[int(u * 10)]++;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.01);
  for (int b : buckets) EXPECT_NEAR(b, n / 10, n / 100);
}

TEST(EngineSampler, GreedyPicksArgmaxLowestIdOnTies) {
  std::vector<float> l = {1.0f, 3.0f, 3.0f, -2.0f};
  SamplingParams p;
  EXPECT_EQ(choose_token(l, p, 0), 1);
  const Decision d = describe(l, 1);
  EXPECT_EQ(d.logit, 3.0f);
  EXPECT_EQ(d.runner_up, 3.0f);
  EXPECT_EQ(describe(l, 3).runner_up, 3.0f);
  EXPECT_EQ(rank_of(l, 1), 0);
  EXPECT_EQ(rank_of(l, 2), 1);
  EXPECT_EQ(rank_of(l, 3), 3);
}

TEST(EngineSampler, TopKOneIsGreedyAndTopKLimitsCandidates) {
  std::vector<float> l = {0.5f, 2.0f, 1.9f, 1.8f, -1.0f};
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 1;
  for (uint32_t s = 0; s < 100; ++s) EXPECT_EQ(choose_token(l, p, s), 1);
  p.top_k = 2;
  for (uint32_t s = 0; s < 300; ++s) {
    const int t = choose_token(l, p, s);
    EXPECT_TRUE(t == 1 || t == 2);
  }
}

TEST(EngineSampler, FrequenciesFollowSoftmaxAndTopP) {
  std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  SamplingParams p;
  p.temperature = 1.0f;
  p.seed = 9;
  std::map<int, int> count;
  const int n = 30000;
  for (int s = 0; s < n; ++s) count[choose_token(l, p, uint32_t(s))]++;
  EXPECT_NEAR(count[0] / double(n), 0.5, 0.015);
  EXPECT_NEAR(count[1] / double(n), 0.3, 0.015);
  EXPECT_NEAR(count[2] / double(n), 0.2, 0.015);
  p.top_p = 0.75f;  // keeps {0, 1}: 0.5 < 0.75 <= 0.8
  count.clear();
  for (int s = 0; s < n; ++s) count[choose_token(l, p, uint32_t(s))]++;
  EXPECT_EQ(count[2], 0);
  EXPECT_NEAR(count[0] / double(n), 0.5 / 0.8, 0.015);
  // the same (seed, step) always replays the same choice
  EXPECT_EQ(choose_token(l, p, 1234), choose_token(l, p, 1234));
}

TEST(EngineSampler, TopKSelectionMatchesAFullSortWithTies) {
  std::vector<float> l(1000);
  for (size_t i = 0; i < l.size(); ++i) l[i] = float(int((i * 7919) % 101)) * 0.25f;  // many ties
  std::vector<int32_t> order(l.size());
  for (size_t i = 0; i < l.size(); ++i) order[i] = int32_t(i);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
  const std::vector<int32_t> top(order.begin(), order.begin() + 37);
  SamplingParams p;
  p.temperature = 2.0f;
  p.top_k = 37;
  SamplingParams all = p;
  all.top_k = 0;
  SamplingParams k1000 = p;
  k1000.top_k = 1000;
  for (uint32_t step = 0; step < 500; ++step) {
    const int32_t t = choose_token(l, p, step);
    EXPECT_NE(std::find(top.begin(), top.end(), t), top.end());
    EXPECT_EQ(choose_token(l, all, step), choose_token(l, k1000, step));
  }
  EXPECT_EQ(rank_of(l, order[5]), 5);
}

TEST(EngineSampler, ValidateRejectsBadParams) {
  SamplingParams p;
  EXPECT_TRUE(validate(p));
  p.max_tokens = 0;
  EXPECT_FALSE(validate(p));
  p.max_tokens = 1;
  p.temperature = NAN;
  EXPECT_FALSE(validate(p));
  p.temperature = -1;
  EXPECT_FALSE(validate(p));
  p.temperature = 1;
  p.top_p = 1.5f;
  EXPECT_FALSE(validate(p));
  p.top_p = 0.0f;
  EXPECT_FALSE(validate(p));
}

}  // namespace
}  // namespace ig::engine
