// Verification of a receipt bundle by one teacher-forced prefill over
// prompt + claimed output.
//
// Receipt-level checks come first (model id, prompt/output hashes, fingerprint
// root, stop rule); then every step's decision is recomputed from the
// verifier's logits and compared with the claim.
//
// Exact mode (same backend as the miner): a step passes when the claimed token
// is the token the verifier's sampler chooses AND the claimed fingerprint equals
// the recomputed one bit for bit.
//
// Tolerant mode (different backend, e.g. CPU vs GPU), per step:
//   - |claimed logit - verifier logit| and |claimed runner-up - verifier
//     runner-up| are both <= abs_logit_error + rel_logit_error * |verifier
//     logit| (0.1 + 2%);
//   - the claimed token is the verifier's choice, or else
//       greedy:  its verifier rank < max_rank (3) and top logit minus its logit
//                <= max_logit_gap (1.0);
//       sampled: its verifier rank < max(top_k, max_rank) (any rank if top_k=0)
//                and (top logit - its logit) / temperature <= 30, i.e. it had
//                a probability the draw could really hit (> e^-30 of the top);
//   and over the whole output the share of steps where the claimed token equals
//   the verifier's own choice must be >= min_exact_share (0.9); otherwise the
//   first non-matching step is reported.
// Thresholds: float32 backends disagree by ~1e-5 relative in logits; the CPU's
// Q8_0 activation quantization against a float path (reference, GPU) moves
// logits by up to ~1.5% of their magnitude (measured on random llama/qwen2
// models), so 0.1 + 2% leaves margin while a wrong token or another model is
// off by whole logit units. max_logit_gap and max_rank bound how far from the
// top a disagreeing greedy token may be (near-ties flip across backends).
#pragma once

#include <string>

#include "common/expected.hpp"
#include "inference/engine/model.hpp"
#include "inference/receipt/bundle.hpp"
#include "kernels/kernels.hpp"

namespace ig::receipt {

enum class Mode { Exact, Tolerant };

struct Tolerance {
  double abs_logit_error = 0.1;
  double rel_logit_error = 0.02;
  double max_logit_gap = 1.0;
  int max_rank = 3;
  double min_exact_share = 0.9;
};

struct Verdict {
  bool accepted = false;
  std::string code;     // "" when accepted, else e.g. "verify.token_mismatch"
  std::string reason;   // for a person
  int64_t first_bad_step = -1;  // -1: the receipt itself is wrong, not a step
  Fingerprint claimed;          // at first_bad_step
  Fingerprint recomputed;       // the verifier's fingerprint of the claimed token there
  int32_t expected_token = -1;  // the verifier's own choice there
  MerkleProof proof;            // claimed leaf at first_bad_step against the receipt root
  int exact_matches = 0;
  int steps_checked = 0;
};

// Errors only for operational failures (backend failure); every kind of bad
// claim is a rejected Verdict.
Expected<Verdict> verify(const engine::Model& model, const Digest& model_id,
                         kernels::Backend& backend, const Bundle& bundle, Mode mode,
                         const Tolerance& tol = {});

// Checks a verdict's evidence: the claimed fingerprint at first_bad_step is in
// the receipt's Merkle root.
bool check_evidence(const Receipt& receipt, const Verdict& v);

}  // namespace ig::receipt
