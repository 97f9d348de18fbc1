// Verification of a task result (result.hpp) by one teacher-forced prefill over
// prompt + claimed output.
//
// Order of checks (the first failure is the verdict):
//  1. The result against its receipt, no model run: model id ("verify.model_mismatch"),
//     backend tag well-formed ("verify.bad_backend"), parameters runnable ("verify.bad_params")
//     and hashed by params_hash ("verify.params_mismatch"), prompt_hash = SHA-256 of the prompt
//     text ("verify.prompt_mismatch"), steps = output length = fingerprint count
//     ("verify.steps_mismatch"), output_hash ("verify.output_mismatch"), the fingerprints'
//     Merkle root ("verify.root_mismatch"), each fingerprint naming its output token
//     ("verify.fingerprint_token"), ids inside the vocabulary ("verify.bad_token").
//  2. The rules: the stop rule ("verify.stop_rule": no token after an EOS, at most max_tokens,
//     an output shorter than max_tokens ends with EOS), `text` = output_text(output)
//     ("verify.text_mismatch"), the prompt re-tokenizes ("verify.bad_prompt") and prompt +
//     output fit the context ("verify.too_long").
//  3. The prefill: every step's decision is recomputed from the verifier's logits and
//     compared with the claim.
//
// Then the steps are judged (checks.hpp, the rules and their numbers; docs/verification.md,
// the study behind them):
//   exact mode (same numerics tag as the miner, mode_for): each claimed token is the
//     verifier's sampler's choice ("verify.token_mismatch") and each fingerprint equals the
//     recomputed one bit for bit ("verify.logit_mismatch");
//   tolerant mode (other numerics): each difference must be explained by the honest noise
//     between backends of the model's NoiseClass: a greedy claim's own numbers show its token
//     won ("verify.greedy_claim"), the token's decision margin ("verify.token_mismatch") and
//     the fingerprint's logit and runner-up ("verify.logit_mismatch") are within a number of
//     noise sigmas, and over the whole output the residuals pass a variance test with a
//     stated false-positive bound ("verify.logit_drift": the statistical test for what no
//     single step shows, such as a cheaper quantization of the same model).
//
// Evidence. A rejection at a step the Merkle tree covers (0 <= first_bad_step < steps)
// carries the miner's claimed fingerprint there and its Merkle proof against
// receipt.fingerprint_root (index = step, leaf_count = steps): what the chain can check.
// "verify.logit_drift" is the exception: it is a property of the whole output, no step
// proves it (an honest cross-backend fingerprint differs from the verifier's at every step
// too), so it carries no proof; its first_bad_step is the step at which the running test
// first crossed its limit, for the record. The chain takes it without evidence, counting it
// through the >2/3 rule only (chain::kReasonLogitDrift).
// A rejection from the prefill also carries the verifier's fingerprint of the claimed token
// (`recomputed`) and of its own choice (`expected`). For a logit mismatch `recomputed`
// differs from `claimed`. For a token mismatch it may not: a miner that computed the right
// logits but picked another token has an honest fingerprint for that token; what differs is
// the token, `expected.token` != `claimed.token`. (For greedy parameters such a claim
// shows itself: its runner_up_q is at least its logit_q, and above it unless two logits tie
// exactly.)
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "common/inference_receipt.hpp"
#include "common/merkle.hpp"
#include "inference/engine/model.hpp"
#include "inference/receipt/checks.hpp"
#include "inference/receipt/result.hpp"
#include "kernels/kernels.hpp"

namespace ig::receipt {

struct Verdict {
  bool accepted = false;
  Mode mode = Mode::Exact;      // the mode it was checked in
  std::string code;             // "" when accepted, else e.g. "verify.token_mismatch" (list above)
  std::string reason;           // for a person
  int64_t first_bad_step = -1;  // -1: not a step (the receipt or the result as a whole)
  // has_proof: first_bad_step indexes a fingerprint under the receipt's root (codes
  // fingerprint_token, bad_token, stop_rule past an EOS or max_tokens, and every per-step
  // prefill rejection; not logit_drift), and these hold the chain-checkable evidence:
  bool has_proof = false;
  ig::Fingerprint claimed;  // the miner's fingerprint at first_bad_step
  ig::MerkleProof proof;    // of `claimed` against receipt.fingerprint_root
  // has_recomputed: the prefill computed that step (token_mismatch, logit_mismatch,
  // greedy_claim), and these hold the verifier's numbers there:
  bool has_recomputed = false;
  ig::Fingerprint recomputed;   // the verifier's fingerprint of the claimed token
  ig::Fingerprint expected;     // the verifier's fingerprint of its own choice
  int32_t expected_token = -1;  // = expected.token when has_recomputed
  int exact_matches = 0;        // steps whose token is the verifier's choice
  int steps_checked = 0;        // steps recomputed by the prefill
  NoiseClass noise = NoiseClass::Dense;  // the model's (tolerant mode's tolerances are this class's)
  double drift = 0;             // tolerant mode: the drift test's statistic over the output
  double drift_limit = 0;       // and its limit (checks.hpp)
};

// A verdict and what it was computed from: the per-step observations of the prefill (empty
// when the result failed before it). The verification study keeps these to re-judge the same
// results under other tolerances (judge_steps) without running the models again.
struct Check {
  Verdict verdict;
  std::vector<StepObservation> steps;
};

// Exact exactly when the receipt was produced with this backend's numerics tag.
Mode mode_for(const ig::InferenceReceipt& receipt, const kernels::Backend& backend);

// Errors only for operational failures (backend failure, the model's tokenizer unusable);
// every kind of bad claim is a rejected Verdict. Tolerant mode uses `tol`, by default
// default_tolerance(noise_class(model)).
Expected<Verdict> verify(const engine::Model& model, const ig::Hash32& model_id, kernels::Backend& backend,
                         const TaskResult& result, Mode mode, const std::optional<Tolerance>& tol = std::nullopt);

// The same with the model's tokenizer already built (result.hpp: model_tokenizer), for
// verifiers that keep one per model.
Expected<Verdict> verify(const engine::Model& model, const tok::Tokenizer& tokenizer, const ig::Hash32& model_id,
                         kernels::Backend& backend, const TaskResult& result, Mode mode,
                         const std::optional<Tolerance>& tol = std::nullopt);
// verify() that also returns the step observations; `on_step`, when given, also sees each
// step's logits (the study measures how many tokens a step would accept).
using StepLogitsFn = std::function<void(uint32_t step, std::span<const float> logits)>;
Expected<Check> verify_detailed(const engine::Model& model, const tok::Tokenizer& tokenizer, const ig::Hash32& model_id,
                                kernels::Backend& backend, const TaskResult& result, Mode mode,
                                const std::optional<Tolerance>& tol = std::nullopt, const StepLogitsFn& on_step = nullptr);
// The verdict of a checked result under (other) rules, from its observations: `check` as
// verify_detailed returned it for `result`. A verdict decided before the prefill is kept.
Verdict rejudge(const Check& check, const TaskResult& result, Mode mode, const Tolerance& tol);

// The verifier's fingerprint at first_bad_step that differs from the claim, for evidence
// that must show a difference (the chain's StepEvidence.recomputed): `recomputed` when it
// differs from `claimed`, else `expected` (a token mismatch with honest numbers: the
// verifier's own choice, another token). Meaningful when has_recomputed.
ig::Fingerprint differing_fingerprint(const Verdict& v);

// Checks a rejection's evidence as the chain can: the claimed fingerprint is the leaf at
// first_bad_step (< receipt.steps) under receipt.fingerprint_root (the proof's index and
// leaf_count are the step and receipt.steps), and, when the verdict carries recomputed values,
// they disagree with the claim (differing_fingerprint(v) != claimed).
// False when the verdict has no proof (has_proof).
bool check_evidence(const ig::InferenceReceipt& receipt, const Verdict& v);

}  // namespace ig::receipt
