// Token choice from logits: greedy, or temperature / top-k / top-p with a
// counter-based random draw keyed by (seed, step), so that anyone holding the
// same logits can replay the choice of any step without replaying the others.
//
// Parameters are ig::SamplingParams (common/sampling.hpp): integers, temperature and top-p in
// thousandths, the same bytes the chain's params_hash and the receipt cover. They become real
// numbers here, inside inference, in exactly one way on every machine:
//   temperature = float(temperature_milli) / 1000.0f   one IEEE-754 binary32 division
//   top_p       = double(top_p_milli) / 1000.0         one IEEE-754 binary64 division
// Both operands are exact (integers below 2^24), and IEEE division is correctly rounded, so
// the results are the same bits everywhere (the build refuses a target that evaluates float
// arithmetic in extended precision, see sampler.cpp). 800 milli gives exactly 0.8f, the value
// the float-parameter sampler of earlier versions used for "0.8"; top_p is the nearest double
// to the decimal (0.95, not double(0.95f)), the more precise of the two.
//
// Sampled choice, exactly:
//   1. candidates = all ids ordered by logit descending, ties by lower id;
//      keep the first top_k (0: all).
//   2. p_i = exp((l_i - l_max) / double(temperature)) in double, summed in candidate order.
//   3. top_p < 1: keep the shortest prefix whose cumulative p >= top_p * sum.
//   4. u = draw(seed, step) in [0,1); pick the first i with cumulative p > u * kept_sum.
// temperature_milli == 0 means greedy: argmax, ties by lower id (top_k, top_p and seed unused).
#pragma once

#include <cstdint>
#include <span>

#include "common/expected.hpp"
#include "common/sampling.hpp"

namespace ig::engine {

// The real-valued parameters, derived as described above.
float sampling_temperature(const ig::SamplingParams& p);
double sampling_top_p(const ig::SamplingParams& p);

// ig::sampling_params_problem as a Status: "sampler.bad_params" with its message.
Status validate(const ig::SamplingParams& p);

// SplitMix64 finalizer over (seed, step), top 53 bits scaled to [0, 1).
double uniform_draw(uint64_t seed, uint32_t step);

// What a step decided and the numbers its fingerprint commits to.
struct Decision {
  int32_t token = -1;
  float logit = 0.f;      // logits[token]
  float runner_up = 0.f;  // the largest logit among the other ids
};

// Picks the token of `step` (0-based generated-token index). `p` must be valid (validate);
// logits must not be empty.
int32_t choose_token(std::span<const float> logits, const ig::SamplingParams& p, uint32_t step);
// The fingerprint numbers for a given (possibly claimed) token.
Decision describe(std::span<const float> logits, int32_t token);
// 0-based rank of token (number of ids with a strictly higher logit, or an
// equal logit and a lower id).
int rank_of(std::span<const float> logits, int32_t token);

}  // namespace ig::engine
