// Token choice from logits: greedy, or temperature / top-k / top-p with a
// counter-based random draw keyed by (seed, step), so that anyone holding the
// same logits can replay the choice of any step without replaying the others.
//
// Sampled choice, exactly:
//   1. candidates = all ids ordered by logit descending, ties by lower id;
//      keep the first top_k (0: all).
//   2. p_i = exp((l_i - l_max) / temperature) in double, summed in candidate order.
//   3. top_p < 1: keep the shortest prefix whose cumulative p >= top_p * sum.
//   4. u = draw(seed, step) in [0,1); pick the first i with cumulative p > u * kept_sum.
// temperature <= 0 means greedy: argmax, ties by lower id.
#pragma once

#include <cstdint>
#include <span>

#include "common/expected.hpp"

namespace ig::engine {

struct SamplingParams {
  uint32_t max_tokens = 64;
  float temperature = 0.0f;  // <= 0: greedy
  uint32_t top_k = 0;        // 0: no limit
  float top_p = 1.0f;        // (0, 1]
  uint64_t seed = 0;

  bool greedy() const { return !(temperature > 0.0f); }
};

// Rejects NaN/negative temperature, top_p outside (0,1], max_tokens == 0.
Status validate(const SamplingParams& p);

// SplitMix64 finalizer over (seed, step), top 53 bits scaled to [0, 1).
double uniform_draw(uint64_t seed, uint32_t step);

// What a step decided and the numbers its fingerprint commits to.
struct Decision {
  int32_t token = -1;
  float logit = 0.f;      // logits[token]
  float runner_up = 0.f;  // the largest logit among the other ids
};

// Picks the token of `step` (0-based generated-token index).
int32_t choose_token(std::span<const float> logits, const SamplingParams& p, uint32_t step);
// The fingerprint numbers for a given (possibly claimed) token.
Decision describe(std::span<const float> logits, int32_t token);
// 0-based rank of token (number of ids with a strictly higher logit, or an
// equal logit and a lower id).
int rank_of(std::span<const float> logits, int32_t token);

}  // namespace ig::engine
