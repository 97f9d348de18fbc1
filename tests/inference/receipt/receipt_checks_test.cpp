// The per-step rules of tolerant verification on hand-made logits: the decision margin, the
// noise model, the drift test's limit and the order in which the rules fail.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "inference/engine/sampler.hpp"
#include "inference/receipt/checks.hpp"
#include "inference/receipt/fingerprint.hpp"

namespace ig::receipt {
namespace {

ig::SamplingParams greedy() {
  ig::SamplingParams p;
  p.max_tokens = 8;
  return p;
}

ig::SamplingParams sampled(uint32_t top_k, uint32_t top_p_milli, uint64_t seed = 3) {
  ig::SamplingParams p = greedy();
  p.temperature_milli = 800;
  p.top_k = top_k;
  p.top_p_milli = top_p_milli;
  p.seed = seed;
  return p;
}

std::vector<float> random_logits(uint32_t seed, size_t n = 300) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 2.0f);
  std::vector<float> l(n);
  for (float& x : l) x = d(rng);
  return l;
}

// The logit scale is the top logit minus the mean: exactly the plain formula below eight
// logits (one lane), within double rounding above, and the same bits on every call.
TEST(ReceiptChecks, LogitScaleIsTopMinusMean) {
  std::mt19937 rng(5);
  for (size_t n : {size_t(1), size_t(7), size_t(8), size_t(9), size_t(1000), size_t(151936)}) {
    std::vector<float> l(n);
    for (auto& v : l) v = std::normal_distribution<float>(0.5f, 4.0f)(rng);
    l[n / 2] = 40.0f;  // the top
    double sum = 0, top = -INFINITY;
    for (float v : l) sum += double(v), top = std::max(top, double(v));
    const double plain = top - sum / double(n), got = logit_scale(l);
    if (n < 8)
      EXPECT_EQ(got, plain) << n;
    else
      EXPECT_NEAR(got, plain, 1e-9 * std::fabs(plain)) << n;
    EXPECT_EQ(got, logit_scale(l));
    if (n > 1) {
      EXPECT_GT(got, 30.0);
    }
  }
}

TEST(ReceiptChecks, GreedyMarginIsTheGapToTheTop) {
  const std::vector<float> l = {1.0f, 3.5f, 3.0f, -2.0f};
  EXPECT_EQ(decision_margin(l, greedy(), 0, 1), 0.0);
  EXPECT_DOUBLE_EQ(decision_margin(l, greedy(), 0, 2), 0.5);
  EXPECT_DOUBLE_EQ(decision_margin(l, greedy(), 0, 3), 5.5);
}

TEST(ReceiptChecks, TheSamplersOwnChoiceHasNoMarginAndOthersHaveTheirRaceGap) {
  for (uint32_t step = 0; step < 50; ++step) {
    const auto l = random_logits(step);
    for (const auto& p : {sampled(40, 950), sampled(0, 1000), sampled(10, 1000), sampled(0, 900)}) {
      const int32_t choice = engine::choose_token(l, p, step);
      EXPECT_EQ(decision_margin(l, p, step, choice), 0.0) << step;
      // Everything races (no cut): the margin is exactly the race-score gap to the winner.
      if (p.top_k == 0 && p.top_p_milli == 1000) {
        const double t = double(engine::sampling_temperature(p));
        const int32_t other = (choice + 1) % int32_t(l.size());
        const double gap = engine::race_score(l[size_t(choice)], t, p.seed, step, choice) -
                           engine::race_score(l[size_t(other)], t, p.seed, step, other);
        EXPECT_NEAR(decision_margin(l, p, step, other), gap, 1e-12);
      }
    }
  }
}

TEST(ReceiptChecks, ATokenOutsideTheTopKNeedsAtLeastItsGapToTheLastMember) {
  const auto l = random_logits(7);
  const auto p = sampled(5, 1000);
  const engine::Candidates c = engine::candidates(l, p);
  ASSERT_EQ(c.ids.size(), 5u);
  // The worst token of the vocabulary is far outside.
  int32_t worst = 0;
  for (int32_t i = 0; i < int32_t(l.size()); ++i)
    if (l[size_t(i)] < l[size_t(worst)]) worst = i;
  const double m = decision_margin(l, p, 0, worst);
  EXPECT_GE(m, double(l[size_t(c.ids.back())]) - double(l[size_t(worst)]));
}

TEST(ReceiptChecks, MarginsGrowWithTheLogitGap) {
  // Moving a token's logit down never makes it easier to accept.
  auto l = random_logits(11);
  const auto p = sampled(40, 950);
  const int32_t choice = engine::choose_token(l, p, 4);
  double prev = 0;
  for (int i = 1; i <= 8; ++i) {
    l[size_t(choice)] -= 0.25f;
    const double m = decision_margin(l, p, 4, choice);
    EXPECT_GE(m + 1e-9, prev);
    prev = m;
  }
  EXPECT_GT(prev, 0.0);
}

StepObservation obs(int32_t token, float logit, float runner, float rl, float rr, double scale, double margin) {
  StepObservation s;
  s.claimed = {token, quantize_logit(logit), quantize_logit(runner)};
  s.recomputed = {token, quantize_logit(rl), quantize_logit(rr)};
  s.expected = margin == 0 ? s.recomputed : ig::Fingerprint{token + 1, quantize_logit(rr), quantize_logit(rl)};
  s.scale = scale;
  s.margin = margin;
  return s;
}

TEST(ReceiptChecks, TheRulesFailInOrderAtTheirStep) {
  const Tolerance tol = default_tolerance(NoiseClass::Quantized);
  const double sigma = tol.abs_sigma + tol.rel_sigma * 10.0;
  std::vector<StepObservation> steps(8, obs(5, 10.0f, 9.0f, 10.0f, 9.0f, 10.0, 0));
  EXPECT_TRUE(judge_steps(steps, greedy(), Mode::Tolerant, tol).accepted);
  auto bad = steps;
  bad[3] = obs(5, 9.0f, 10.0f, 9.0f, 10.0f, 10.0, 1.0);  // greedy, and its own runner-up is higher
  StepJudgement j = judge_steps(bad, greedy(), Mode::Tolerant, tol);
  EXPECT_EQ(j.code, "verify.greedy_claim");
  EXPECT_EQ(j.first_bad_step, 3);
  EXPECT_TRUE(judge_steps(bad, sampled(40, 950), Mode::Tolerant, tol).code != "verify.greedy_claim");
  bad = steps;
  bad[5].margin = tol.margin_k * sigma * 1.01;
  j = judge_steps(bad, greedy(), Mode::Tolerant, tol);
  EXPECT_EQ(j.code, "verify.token_mismatch");
  EXPECT_EQ(j.first_bad_step, 5);
  bad[5].margin = tol.margin_k * sigma * 0.99;
  EXPECT_TRUE(judge_steps(bad, greedy(), Mode::Tolerant, tol).accepted);
  bad = steps;
  bad[6].claimed.runner_up_q += int32_t(tol.logit_k * sigma * kLogitScale * 1.01);
  j = judge_steps(bad, greedy(), Mode::Tolerant, tol);
  EXPECT_EQ(j.code, "verify.logit_mismatch");
  EXPECT_EQ(j.first_bad_step, 6);
  // Exact mode: one unit of 2^-16 is already a mismatch.
  bad = steps;
  bad[1].claimed.logit_q += 1;
  j = judge_steps(bad, greedy(), Mode::Exact, tol);
  EXPECT_EQ(j.code, "verify.logit_mismatch");
  EXPECT_EQ(j.first_bad_step, 1);
}

TEST(ReceiptChecks, TheDriftLimitIsHoeffdingsAndTheTestLooksOnceAtTheWholeOutput) {
  const Tolerance tol = default_tolerance(NoiseClass::Quantized);
  for (size_t n : {1u, 16u, 64u, 1000u})
    EXPECT_DOUBLE_EQ(drift_limit(n, tol),
                     tol.drift_mean + tol.drift_clip * std::sqrt(std::log(1 / tol.drift_alpha) / (2.0 * double(n))));
  EXPECT_GT(drift_limit(8, tol), tol.drift_clip);  // too few steps: the test can never reject
  EXPECT_TRUE(std::isinf(drift_limit(0, tol)));
  // Residuals of 5 sigmas everywhere: each step passes, the mean of z^2 = 25 (clipped) does not.
  const double sigma = tol.abs_sigma + tol.rel_sigma * 10.0;
  const float shift = float(5.0 * sigma);
  std::vector<StepObservation> steps(64, obs(5, 10.0f + shift, 9.0f - shift, 10.0f, 9.0f, 10.0, 0));
  ASSERT_LT(5.0, tol.logit_k);
  StepJudgement j = judge_steps(steps, greedy(), Mode::Tolerant, tol);
  EXPECT_EQ(j.code, "verify.logit_drift");
  EXPECT_NEAR(j.drift, std::min(tol.drift_clip, 25.0), 0.05);
  EXPECT_GE(j.first_bad_step, 8);  // the first prefix long enough to cross its own limit (n > 8)
  EXPECT_LT(j.first_bad_step, 64);
  // The same residuals on a short output: not enough evidence, accepted.
  steps.resize(8);
  EXPECT_TRUE(judge_steps(steps, greedy(), Mode::Tolerant, tol).accepted);
}

// observe_step skips the greedy choice's scan when the claimed token is strictly above every
// other logit; what it observes is still the definition's: the fingerprint of the sampler's own
// choice and the claimed token's margin, for honest claims, other tokens, tied tops and a NaN
// at id 0 (which greedy keeps).
TEST(ReceiptChecks, GreedyObservationIsTheDefinitions) {
  std::mt19937 rng(31);
  const ig::SamplingParams p = greedy();
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<float> l = random_logits(uint32_t(100 + trial), 1 + rng() % 200);
    const size_t n = l.size();
    if (trial % 5 == 1 && n > 1) l[rng() % n] = l[size_t(engine::choose_token(l, p, 0))];  // a tied top
    if (trial % 7 == 2) l[0] = NAN;
    const int32_t choice = engine::choose_token(l, p, 0);
    const int32_t token = trial % 3 == 0 ? int32_t(rng() % n) : choice;
    const ig::Fingerprint claimed = fingerprint(engine::describe(l, token));
    const StepObservation s = observe_step(l, p, 0, claimed);
    EXPECT_EQ(s.recomputed, claimed);
    ASSERT_EQ(s.expected, fingerprint(engine::describe(l, choice))) << "trial " << trial << " token " << token;
    const double margin = token == choice ? 0.0 : decision_margin(l, p, 0, token);
    if (std::isnan(margin)) EXPECT_TRUE(std::isnan(s.margin));
    else EXPECT_EQ(s.margin, margin) << "trial " << trial;
  }
}

}  // namespace
}  // namespace ig::receipt
