// What a verifier measures at each step of a result, and the rules that judge it
// (docs/verification.md has the study these rules and numbers come from).
//
// A verifier recomputes the logits of every step by one teacher-forced prefill and reduces
// each step to a StepObservation: the claimed fingerprint, its own fingerprint of the claimed
// token and of its own choice, the scale of its logits, and the claimed token's DECISION
// MARGIN. judge_steps() then applies the rules of the mode:
//
// Exact mode (same numerics tag): the claimed token is the verifier's choice and the
// fingerprint is equal bit for bit.
//
// Tolerant mode (other numerics): every difference must be explained by the honest noise
// between two backends. The noise model is a per-logit standard deviation per step,
//     sigma_t = abs_sigma + rel_sigma * scale_t,   scale_t = top logit_t - mean logit_t
// (the verifier's logits; how far the top stands above the rest, whatever their offset)
// with constants per NoiseClass (below), and the rules are, per step t:
//   - a greedy claim's own numbers show its token won: logit_q >= runner_up_q
//                                                                 ("verify.greedy_claim");
//   - margin_t <= margin_k * sigma_t                              ("verify.token_mismatch");
//   - |claimed logit - recomputed logit| and |claimed runner-up - recomputed runner-up|
//     <= logit_k * sigma_t                                        ("verify.logit_mismatch");
// and over the whole output a variance test on the residuals      ("verify.logit_drift"):
//     z_t^2 = (d_logit^2 + d_runner^2) / (2 sigma_t^2), clipped at drift_clip = C,
//     reject when mean_t z_t^2 > drift_mean + C * sqrt(ln(1 / drift_alpha) / (2 n)).
// Under honest noise the clipped z_t^2 lie in [0, C] with mean <= drift_mean (measured), so
// by Hoeffding's inequality, if the steps' residuals are independent, an honest result of
// any length n is rejected with probability <= drift_alpha. It is the likelihood-ratio test
// of N(0, sigma^2) against an inflated variance, which is what a cheaper quantization, a
// perturbed model or another model does to the residuals; clipping keeps the bound free of
// any assumption about the noise's tails.
//
// The decision margin (logit units) is how far the claimed token is from being the sampler's
// choice: the smallest m such that, if any two logits may move by m relative to each other,
// the token wins. Greedy: top logit - its logit. Sampled (Gumbel race, sampler.hpp): its race
// score must come within m of every competitor that is surely kept, and it must itself
// possibly be kept:
//   - possibly kept: inside the top-k, or within m of the last member; and the mass of the
//     tokens more than m above it is < (top_p + kCutSlack) of the top-k mass;
//   - surely kept (a competitor): more than m above the first token outside the top-k, and
//     the mass of the tokens at or above (its logit - m), itself excluded, is < (top_p -
//     kCutSlack) of the top-k mass.
// kCutSlack absorbs the small honest change of cumulative masses near the top-p cut; the
// tokens near the cut that it lets in still have to win the race. 0 when the claimed token is
// the verifier's own choice; +infinity when nothing makes it possible.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "common/inference_receipt.hpp"
#include "common/sampling.hpp"
#include "inference/engine/model.hpp"

namespace ig::receipt {

enum class Mode { Exact, Tolerant };
const char* mode_name(Mode m);  // "exact", "tolerant"

// How far two honest backends' logits drift apart depends first on the weights' type: with
// F32/F16 matrices every backend computes in float and differs by rounding order only (~1e-6
// of the logits); with Q8_0/Q4_0 matrices the fast CPU backend quantizes the activations to
// 8 bits as well, the reference and CUDA backends do not (measured by the verification study:
// 0.016-0.05 logits rms, depending on the model).
enum class NoiseClass { Dense, Quantized };
const char* noise_class_name(NoiseClass c);  // "dense", "quantized"
// Quantized when any matrix the engine multiplies by (embedding and output included) is
// Q8_0 or Q4_0.
NoiseClass noise_class(const engine::Model& model);

struct Tolerance {
  double abs_sigma = 0;   // sigma_t = abs_sigma + rel_sigma * scale_t
  double rel_sigma = 0;
  double margin_k = 0;    // decision margin <= margin_k * sigma_t
  double logit_k = 0;     // |claimed - recomputed| <= logit_k * sigma_t
  double drift_clip = 0;  // C
  double drift_mean = 0;  // bound on the honest mean of clipped z^2
  double drift_alpha = 0; // false-positive bound of the drift test per result
};
// The calibrated tolerances (docs/verification.md).
Tolerance default_tolerance(NoiseClass c);

inline constexpr double kCutSlack = 0.02;
inline constexpr double kNoMargin = std::numeric_limits<double>::infinity();

struct StepObservation {
  ig::Fingerprint claimed;     // the miner's fingerprint
  ig::Fingerprint recomputed;  // the verifier's fingerprint of the claimed token
  ig::Fingerprint expected;    // the verifier's fingerprint of its own choice
  double scale = 0;            // the verifier's top logit minus its mean logit
  double margin = 0;           // decision margin of the claimed token (logit units), see above
};

// One step from the verifier's logits. `claimed.token` must index `logits`; p valid.
// scale_t above: the largest logit minus the mean logit (the mean summed in a fixed order of
// eight lanes, checks.cpp).
double logit_scale(std::span<const float> logits);
StepObservation observe_step(std::span<const float> logits, const ig::SamplingParams& p, uint32_t step,
                             const ig::Fingerprint& claimed);
// The decision margin alone (exposed for tests and the study).
double decision_margin(std::span<const float> logits, const ig::SamplingParams& p, uint32_t step, int32_t token);

double step_sigma(const StepObservation& s, const Tolerance& tol);
// Clipped z^2 of a step (0 when sigma is 0 and the residuals are too).
double drift_term(const StepObservation& s, const Tolerance& tol);
// The drift test's limit for n steps: drift_mean + C * sqrt(ln(1/alpha) / (2n)).
double drift_limit(size_t n, const Tolerance& tol);

struct StepJudgement {
  bool accepted = true;
  std::string code;            // "" or the verify.* code of the first failing rule
  int64_t first_bad_step = -1; // a per-step rule's step; for logit_drift the step at which
                               // the running test first crossed its limit (see verifier.hpp)
  int exact_matches = 0;       // steps whose claimed token is the verifier's choice
  double drift = 0;            // mean clipped z^2 over all steps (tolerant mode)
  double drift_limit = 0;      // its limit for this many steps
};

StepJudgement judge_steps(std::span<const StepObservation> steps, const ig::SamplingParams& p, Mode mode,
                          const Tolerance& tol);

}  // namespace ig::receipt
