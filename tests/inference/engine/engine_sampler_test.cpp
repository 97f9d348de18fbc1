// The sampler over ig::SamplingParams (milli-integers): draws, greedy, top-k/top-p, the one
// float conversion, and the same choices as the float-parameter sampler it replaced.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>
#include <random>

#include "inference/engine/sampler.hpp"

namespace ig::engine {
namespace {

using ig::SamplingParams;

SamplingParams params(uint32_t temperature_milli, uint32_t top_k = 0, uint32_t top_p_milli = 1000,
                      uint64_t seed = 0) {
  SamplingParams p;
  p.max_tokens = 1;
  p.temperature_milli = temperature_milli;
  p.top_k = top_k;
  p.top_p_milli = top_p_milli;
  p.seed = seed;
  return p;
}

TEST(EngineSampler, DrawIsDeterministicUniformAndKeyedBySeedStepAndToken) {
  EXPECT_EQ(token_draw(42, 7, 3), token_draw(42, 7, 3));
  EXPECT_NE(token_draw(42, 7, 3), token_draw(42, 8, 3));
  EXPECT_NE(token_draw(42, 7, 3), token_draw(43, 7, 3));
  EXPECT_NE(token_draw(42, 7, 3), token_draw(42, 7, 4));
  double sum = 0;
  int buckets[10] = {};
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const double u = token_draw(1, uint32_t(i / 100), i % 100);
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    buckets[int(u * 10)]++;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.01);
  for (int b : buckets) EXPECT_NEAR(b, n / 10, n / 100);
  EXPECT_EQ(gumbel_noise(5, 6, 7), -std::log(-std::log(token_draw(5, 6, 7))));
}

TEST(EngineSampler, GreedyPicksArgmaxLowestIdOnTies) {
  std::vector<float> l = {1.0f, 3.0f, 3.0f, -2.0f};
  SamplingParams p = params(0, /*top_k=*/1, /*top_p_milli=*/10, /*seed=*/99);  // greedy ignores the rest
  EXPECT_TRUE(p.greedy());
  EXPECT_EQ(choose_token(l, p, 0), 1);
  const Decision d = describe(l, 1);
  EXPECT_EQ(d.logit, 3.0f);
  EXPECT_EQ(d.runner_up, 3.0f);
  EXPECT_EQ(describe(l, 3).runner_up, 3.0f);
  EXPECT_EQ(rank_of(l, 1), 0);
  EXPECT_EQ(rank_of(l, 2), 1);
  EXPECT_EQ(rank_of(l, 3), 3);
}

// Logits with ties, +0 and -0, NaNs and infinities among them, of tiny and odd lengths (every
// third trial at most 9 values).
std::vector<float> awkward_logits(std::mt19937& rng, int trial) {
  const float specials[] = {0.0f, -0.0f, NAN, INFINITY, -INFINITY, 1.5f, -1.5f};
  std::vector<float> l(1 + rng() % (trial % 3 == 0 ? 9 : 300));
  for (auto& v : l) {
    const uint32_t r = rng() % 10;
    v = r < 3 ? specials[rng() % 7] : r < 5 ? -float(rng() % 4) : std::normal_distribution<float>(-3, 2)(rng);
  }
  return l;
}

// describe's runner-up is bitwise what the plain sequential std::max over the other ids gives,
// on random logits with ties, +0 and -0 in either order, NaNs, infinities, tiny and odd lengths,
// and the token anywhere (the fingerprint commits to these bits).
TEST(EngineSampler, RunnerUpIsTheSequentialMaximumBitwise) {
  std::mt19937 rng(21);
  int zero_cases = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const std::vector<float> l = awkward_logits(rng, trial);
    const size_t n = l.size();
    const int32_t token = int32_t(rng() % n);
    float want = -INFINITY;
    for (size_t i = 0; i < n; ++i)
      if (int32_t(i) != token) want = std::max(want, l[i]);
    uint32_t a, b;
    const float got = describe(l, token).runner_up;
    std::memcpy(&a, &want, 4);
    std::memcpy(&b, &got, 4);
    ASSERT_EQ(a, b) << "trial " << trial << " n " << n << " token " << token;
    zero_cases += want == 0.0f;
  }
  EXPECT_GT(zero_cases, 50);  // the signed-zero rule was exercised
}

// The greedy choice is bitwise the sequential `if (l[i] > l[best]) best = i` from best = 0 (the
// first id of the largest value; +0 and -0 equal; NaNs skipped unless id 0 holds one), on the
// same kinds of logits as above with the maximum tied, at either end, or a NaN at id 0.
TEST(EngineSampler, GreedyChoiceIsTheSequentialFirstMaximum) {
  std::mt19937 rng(22);
  const SamplingParams p = params(0);
  int ties = 0, nan_first = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const std::vector<float> l = awkward_logits(rng, trial);
    const size_t n = l.size();
    int32_t want = 0;
    for (int32_t i = 1; i < int32_t(n); ++i)
      if (l[size_t(i)] > l[size_t(want)]) want = i;
    ASSERT_EQ(choose_token(l, p, 0), want) << "trial " << trial << " n " << n;
    int at_max = 0;
    for (float v : l) at_max += v == l[size_t(want)];
    ties += at_max > 1;
    nan_first += std::isnan(l[0]);
  }
  EXPECT_GT(ties, 100);
  EXPECT_GT(nan_first, 50);
}

TEST(EngineSampler, TopKOneIsGreedyAndTopKLimitsCandidates) {
  std::vector<float> l = {0.5f, 2.0f, 1.9f, 1.8f, -1.0f};
  SamplingParams p = params(1000);
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
  SamplingParams p = params(1000, 0, 1000, 9);
  std::map<int, int> count;
  const int n = 30000;
  for (int s = 0; s < n; ++s) count[choose_token(l, p, uint32_t(s))]++;
  EXPECT_NEAR(count[0] / double(n), 0.5, 0.015);
  EXPECT_NEAR(count[1] / double(n), 0.3, 0.015);
  EXPECT_NEAR(count[2] / double(n), 0.2, 0.015);
  p.top_p_milli = 750;  // keeps {0, 1}: 0.5 < 0.75 <= 0.8
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
  SamplingParams p = params(2000, 37);
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
  // the candidate list itself is the full sort's prefix, id for id, for every k (the one-pass
  // top-k selection keeps the ties' order by id)
  for (uint32_t k : {1u, 2u, 37u, 100u, 999u}) {
    const Candidates c = candidates(l, params(2000, k));
    ASSERT_EQ(c.ids, std::vector<int32_t>(order.begin(), order.begin() + k)) << "k " << k;
  }
}

TEST(EngineSampler, ValidateRejectsBadParams) {
  SamplingParams p = params(800, 40, 950, 1);
  EXPECT_TRUE(validate(p));
  p.max_tokens = 0;
  EXPECT_EQ(validate(p).error().code, "sampler.bad_params");
  p.max_tokens = 1;
  p.top_p_milli = 1001;
  EXPECT_FALSE(validate(p));
  p.top_p_milli = 0;
  EXPECT_FALSE(validate(p));
  p.top_p_milli = 1000;
  p.temperature_milli = ig::kMaxTemperatureMilli + 1;
  EXPECT_FALSE(validate(p));
  p.temperature_milli = ig::kMaxTemperatureMilli;
  EXPECT_TRUE(validate(p));
}

// The one conversion to real numbers: a single correctly rounded IEEE division each.
TEST(EngineSampler, MilliParametersBecomeTheNearestRealValues) {
  const float t = sampling_temperature(params(800)), want = 0.8f;
  EXPECT_EQ(std::memcmp(&t, &want, 4), 0);  // bitwise 0.8f
  EXPECT_EQ(sampling_temperature(params(1)), 0.001f);
  EXPECT_EQ(sampling_temperature(params(1500)), 1.5f);
  EXPECT_EQ(sampling_temperature(params(100000)), 100.0f);
  EXPECT_EQ(sampling_top_p(params(800, 0, 950)), 0.95);   // the double nearest 0.95
  EXPECT_EQ(sampling_top_p(params(800, 0, 1)), 0.001);
  EXPECT_EQ(sampling_top_p(params(800, 0, 1000)), 1.0);
  for (uint32_t m = 1; m <= 100000; ++m) {  // every legal temperature: the nearest float to m/1000
    const float f = sampling_temperature(params(m));
    const double exact = double(m) / 1000.0;
    ASSERT_LE(std::fabs(double(f) - exact), std::fabs(double(std::nextafter(f, 1e9f)) - exact)) << m;
    ASSERT_LE(std::fabs(double(f) - exact), std::fabs(double(std::nextafter(f, -1e9f)) - exact)) << m;
  }
}

// The sampler written with float parameters (temperature and top_p as floats), kept here to
// show the milli-integer parameters move no choice: same real values, same tokens.
int32_t legacy_choose(std::span<const float> logits, float temperature, uint32_t top_k, float top_p, uint64_t seed,
                      uint32_t step) {
  if (!(temperature > 0.0f)) {
    int32_t best = 0;
    for (int32_t i = 1; i < int32_t(logits.size()); ++i)
      if (logits[i] > logits[best]) best = i;
    return best;
  }
  const size_t k = top_k == 0 ? logits.size() : std::min<size_t>(top_k, logits.size());
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::sort(ids.begin(), ids.end(),
            [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  ids.resize(k);
  const double lmax = logits[ids[0]];
  std::vector<double> w(ids.size());
  double sum = 0;
  for (size_t i = 0; i < ids.size(); ++i) sum += w[i] = std::exp((double(logits[ids[i]]) - lmax) / double(temperature));
  size_t kept = ids.size();
  if (top_p < 1.0f) {
    const double target = double(top_p) * sum;
    double cum = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      cum += w[i];
      if (cum >= target) { kept = i + 1; break; }
    }
  }
  int32_t best = ids[0];
  double best_score = -INFINITY;
  for (size_t i = 0; i < kept; ++i) {
    const double s = double(logits[ids[i]]) + double(temperature) * gumbel_noise(seed, step, ids[i]);
    if (s > best_score) best_score = s, best = ids[i];
  }
  return best;
}

TEST(EngineSampler, MilliParametersChooseWhatTheFloatSamplerChose) {
  std::mt19937 rng(5);
  std::normal_distribution<float> logit(0.0f, 3.0f);
  struct Case { uint32_t t_milli; float t; uint32_t k; uint32_t p_milli; float p; };
  const Case cases[] = {{0, 0.0f, 0, 1000, 1.0f},     {800, 0.8f, 40, 950, 0.95f}, {800, 0.8f, 0, 1000, 1.0f},
                        {1000, 1.0f, 0, 900, 0.9f},   {700, 0.7f, 40, 1000, 1.0f}, {1500, 1.5f, 100, 500, 0.5f},
                        {250, 0.25f, 5, 990, 0.99f}};
  int sampled_differently = 0;  // different tokens across steps: the draws really vary
  for (const Case& c : cases) {
    const SamplingParams p = params(c.t_milli, c.k, c.p_milli, 1234);
    int32_t first = -1;
    for (uint32_t step = 0; step < 400; ++step) {
      std::vector<float> l(512);
      for (float& x : l) x = logit(rng);
      const int32_t got = choose_token(l, p, step);
      ASSERT_EQ(got, legacy_choose(l, c.t, c.k, c.p, 1234, step)) << c.t_milli << " " << c.p_milli << " step " << step;
      if (first < 0) first = got;
      else if (got != first) ++sampled_differently;
    }
  }
  EXPECT_GT(sampled_differently, 1000);
}

// The race is keyed by token id: the order in which near-tied candidates happen to be sorted
// cannot change which token wins, and the unsorted path (nothing cut) picks what a sorted
// candidate list would.
TEST(EngineSampler, TheRaceDependsOnIdsNotOnTheCandidateOrder) {
  std::mt19937 rng(11);
  std::normal_distribution<float> logit(0.0f, 1.0f);
  const SamplingParams all = params(800, 0, 1000, 77);
  SamplingParams k_all = all;
  k_all.top_k = 600;  // >= the vocabulary below: sorted path, nothing cut
  for (uint32_t step = 0; step < 300; ++step) {
    std::vector<float> l(600);
    for (float& x : l) x = logit(rng);
    const int32_t got = choose_token(l, all, step);
    ASSERT_EQ(got, choose_token(l, k_all, step));
    // the winner is the best race score over every id
    double best = -INFINITY;
    int32_t want = -1;
    for (int32_t i = 0; i < 600; ++i) {
      const double s = race_score(l[size_t(i)], double(sampling_temperature(all)), 77, step, i);
      if (s > best) best = s, want = i;
    }
    ASSERT_EQ(got, want);
  }
}

TEST(EngineSampler, CandidatesAreTheTopKAndTheTopPPrefix) {
  std::vector<float> l = {std::log(0.1f), std::log(0.5f), std::log(0.3f), std::log(0.1f)};
  const Candidates c = candidates(l, params(1000, 3, 750, 1));
  ASSERT_EQ(c.ids, (std::vector<int32_t>{1, 2, 0}));  // ties by lower id
  EXPECT_EQ(c.kept, 2u);                               // 0.5 / 0.9 < 0.75 <= 0.8 / 0.9
  EXPECT_NEAR(c.total, 0.9 / 0.5, 1e-6);
  EXPECT_NEAR(c.weight[1], 0.6, 1e-6);
}

}  // namespace
}  // namespace ig::engine
