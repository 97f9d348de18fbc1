// Token choice from logits: greedy, or temperature / top-k / top-p with counter-based
// random draws keyed by (seed, step, token id), so that anyone holding the same logits can
// replay the choice of any step without replaying the others.
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
//   2. w_i = exp((l_i - l_max) / double(temperature)) in double, summed in candidate order.
//   3. top_p < 1: keep the shortest prefix whose cumulative w >= top_p * sum.
//   4. Gumbel-max over the kept ids: the token with the largest race score
//        score_i = l_i + temperature * g_i,   g_i = -log(-log(token_draw(seed, step, i)))
//      (in double; ties to the lower id). argmax of l_i/T + g_i is an exact draw
//      from softmax(l/T) over the kept ids, the distribution the inverse-CDF sampler drew from.
// temperature_milli == 0 means greedy: argmax, ties by lower id (top_k, top_p and seed unused).
//
// Why Gumbel-max and not an inverse-CDF walk with one uniform per step: the draw noise is
// keyed by TOKEN ID, so a verifier whose logits differ from the miner's by floating-point
// noise (another backend) disagrees only when two race scores are within that noise. An
// inverse-CDF walk in logit order moves every interval whenever two near-tied logits swap
// order, so across backends it disagreed on 59% of the steps of a random Q8_0 model (4.9%
// with Gumbel-max; docs/verification.md), and the tolerance a verifier needed left a miner a
// choice of several tokens at most steps. With the race, honest disagreement is bounded by a
// margin in logit units (verifier.hpp), the same quantity as for greedy steps.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/expected.hpp"
#include "common/sampling.hpp"

namespace ig::engine {

// The real-valued parameters, derived as described above.
float sampling_temperature(const ig::SamplingParams& p);
double sampling_top_p(const ig::SamplingParams& p);

// ig::sampling_params_problem as a Status: "sampler.bad_params" with its message.
Status validate(const ig::SamplingParams& p);

// SplitMix64 over (seed, step, token): 53 bits scaled into (0, 1), never 0 or 1, so the
// Gumbel noise is finite.
double token_draw(uint64_t seed, uint32_t step, int32_t token);
// -log(-log(token_draw(seed, step, token))): the token's Gumbel noise at that step.
double gumbel_noise(uint64_t seed, uint32_t step, int32_t token);

// Steps 1-3 above for a sampled step: the top_k ids in candidate order, their weights, and
// how many of them the top-p cut keeps (ids[0..kept) race). `p` must be valid and sampled.
// When nothing is cut (top_k 0 or >= the vocabulary, top_p 1) every id races and `ids` is not
// sorted beyond ids[0] being the top: sorting a 150k vocabulary per step would buy nothing.
struct Candidates {
  std::vector<int32_t> ids;
  std::vector<double> weight;  // w_i of ids[i]
  double total = 0;            // sum of all weights (the top-k set)
  size_t kept = 0;
};
Candidates candidates(std::span<const float> logits, const ig::SamplingParams& p);
// A kept id's race score in logit units: double(logit) + temperature * gumbel_noise.
double race_score(float logit, double temperature, uint64_t seed, uint32_t step, int32_t token);

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
