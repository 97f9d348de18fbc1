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
// Exact mode (same numerics as the miner, mode_for): a step passes when the claimed token is
// the token the verifier's sampler chooses ("verify.token_mismatch" otherwise) AND the
// claimed fingerprint equals the recomputed one bit for bit ("verify.logit_mismatch").
//
// Tolerant mode (other numerics, e.g. CPU vs GPU), per step:
//   - the claimed token is the verifier's choice, or else               ("verify.token_mismatch")
//       greedy:  its verifier rank < max_rank (3) and top logit minus its logit
//                <= max_logit_gap (1.0);
//       sampled: its verifier rank < max(top_k, max_rank) (any rank if top_k=0)
//                and (top logit - its logit) / temperature <= 30, i.e. it had
//                a probability the draw could really hit (> e^-30 of the top);
//   - |claimed logit - verifier logit| and |claimed runner-up - verifier runner-up| are both
//     <= abs_logit_error + rel_logit_error * |verifier value| (0.1 + 2%)  ("verify.logit_mismatch");
//   and over the whole output the share of steps where the claimed token equals the
//   verifier's own choice must be >= min_exact_share (0.9)              ("verify.low_exact_share",
//   reported at the first non-matching step).
// Thresholds: float32 backends disagree by ~1e-5 relative in logits; the CPU's Q8_0
// activation quantization against a float path (reference, GPU) moves logits by up to ~1.5%
// of their magnitude (measured on random llama/qwen2 models), so 0.1 + 2% leaves margin while
// a wrong token or another model is off by whole logit units. max_logit_gap and max_rank
// bound how far from the top a disagreeing greedy token may be (near-ties flip across
// backends). They are not calibrated yet: tolerant mode still rejects some honest results
// across backends (a later issue calibrates it), so miners and verifiers of the devnet run
// the same numerics.
//
// Evidence. A rejection at a step the Merkle tree covers (0 <= first_bad_step < steps)
// carries the miner's claimed fingerprint there and its Merkle proof against
// receipt.fingerprint_root (index = step, leaf_count = steps): what the chain can check.
// A rejection from the prefill also carries the verifier's fingerprint of the claimed token
// (`recomputed`) and of its own choice (`expected`). For a logit mismatch `recomputed`
// differs from `claimed`. For a token mismatch it may not: a miner that computed the right
// logits but picked another token has an honest fingerprint for that token; what differs is
// the token, `expected.token` != `claimed.token`. (For greedy parameters such a claim
// shows itself: its runner_up_q is at least its logit_q, and above it unless two logits tie
// exactly.)
#pragma once

#include <string>

#include "common/expected.hpp"
#include "common/inference_receipt.hpp"
#include "common/merkle.hpp"
#include "inference/engine/model.hpp"
#include "inference/receipt/result.hpp"
#include "kernels/kernels.hpp"

namespace ig::receipt {

enum class Mode { Exact, Tolerant };
const char* mode_name(Mode m);  // "exact", "tolerant"

struct Tolerance {
  double abs_logit_error = 0.1;
  double rel_logit_error = 0.02;
  double max_logit_gap = 1.0;
  int max_rank = 3;
  double min_exact_share = 0.9;
};

struct Verdict {
  bool accepted = false;
  Mode mode = Mode::Exact;      // the mode it was checked in
  std::string code;             // "" when accepted, else e.g. "verify.token_mismatch" (list above)
  std::string reason;           // for a person
  int64_t first_bad_step = -1;  // -1: not a step (the receipt or the result as a whole)
  // has_proof: first_bad_step indexes a fingerprint under the receipt's root (codes
  // fingerprint_token, bad_token, stop_rule past an EOS or max_tokens, and every prefill
  // rejection), and these hold the chain-checkable evidence:
  bool has_proof = false;
  ig::Fingerprint claimed;  // the miner's fingerprint at first_bad_step
  ig::MerkleProof proof;    // of `claimed` against receipt.fingerprint_root
  // has_recomputed: the prefill computed that step (token_mismatch, logit_mismatch,
  // low_exact_share), and these hold the verifier's numbers there:
  bool has_recomputed = false;
  ig::Fingerprint recomputed;   // the verifier's fingerprint of the claimed token
  ig::Fingerprint expected;     // the verifier's fingerprint of its own choice
  int32_t expected_token = -1;  // = expected.token when has_recomputed
  int exact_matches = 0;        // steps whose token is the verifier's choice
  int steps_checked = 0;        // steps recomputed by the prefill
};

// Exact exactly when the receipt was produced with this backend's numerics tag.
Mode mode_for(const ig::InferenceReceipt& receipt, const kernels::Backend& backend);

// Errors only for operational failures (backend failure, the model's tokenizer unusable);
// every kind of bad claim is a rejected Verdict.
Expected<Verdict> verify(const engine::Model& model, const ig::Hash32& model_id, kernels::Backend& backend,
                         const TaskResult& result, Mode mode, const Tolerance& tol = {});

// The same with the model's tokenizer already built (result.hpp: model_tokenizer), for
// verifiers that keep one per model.
Expected<Verdict> verify(const engine::Model& model, const tok::Tokenizer& tokenizer, const ig::Hash32& model_id,
                         kernels::Backend& backend, const TaskResult& result, Mode mode, const Tolerance& tol = {});

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
