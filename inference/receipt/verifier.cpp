#include "inference/receipt/verifier.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "inference/engine/sampler.hpp"
#include "inference/engine/session.hpp"

namespace ig::receipt {
namespace {

Verdict reject(std::string code, std::string reason, int64_t step = -1) {
  Verdict v;
  v.code = std::move(code);
  v.reason = std::move(reason);
  v.first_bad_step = step;
  return v;
}

// Receipt-level checks; returns a rejection or nothing.
std::optional<Verdict> check_claims(const Digest& model_id, const Bundle& b, int vocab,
                                    int32_t eos) {
  const Receipt& r = b.receipt;
  if (r.model_id != model_id)
    return reject("verify.model_mismatch", "the receipt names a different model");
  if (b.prompt_ids.empty()) return reject("verify.bad_prompt", "the prompt has no tokens");
  if (token_hash(b.prompt_ids) != r.prompt_hash)
    return reject("verify.prompt_mismatch", "prompt ids do not match the receipt's prompt hash");
  const size_t n = b.output_ids.size();
  if (r.steps != n || b.fingerprints.size() != n)
    return reject("verify.truncated", "receipt, output and fingerprints disagree on the step count",
                  int64_t(std::min<size_t>({n, b.fingerprints.size(), r.steps})));
  if (token_hash(b.output_ids) != r.output_hash)
    return reject("verify.output_mismatch", "output ids do not match the receipt's output hash");
  if (merkle_root(leaf_hashes(b.fingerprints)) != r.fingerprint_root)
    return reject("verify.root_mismatch", "fingerprints do not match the receipt's root");
  if (n == 0) return reject("verify.empty_output", "the output has no tokens", 0);
  for (int32_t t : b.prompt_ids)
    if (t < 0 || t >= vocab) return reject("verify.bad_prompt", "prompt id outside the vocabulary");
  for (size_t i = 0; i < n; ++i) {
    if (b.output_ids[i] < 0 || b.output_ids[i] >= vocab)
      return reject("verify.bad_token", "output id outside the vocabulary", int64_t(i));
    if (b.fingerprints[i].token != b.output_ids[i])
      return reject("verify.fingerprint_token", "fingerprint names another token", int64_t(i));
    if (b.output_ids[i] == eos && i + 1 < n)
      return reject("verify.after_eos", "output continues after EOS", int64_t(i + 1));
  }
  if (n < r.params.max_tokens && b.output_ids.back() != eos)
    return reject("verify.truncated",
                  "output stops before max_tokens without EOS", int64_t(n));
  return std::nullopt;
}

struct StepCheck {
  bool ok = true;
  bool exact_choice = false;
};

StepCheck check_step(std::span<const float> logits, const engine::SamplingParams& p,
                     const Fingerprint& claimed, const Fingerprint& mine,
                     int32_t choice, Mode mode, const Tolerance& tol) {
  StepCheck c;
  c.exact_choice = claimed.token == choice;
  if (mode == Mode::Exact) {
    c.ok = c.exact_choice && claimed == mine;
    return c;
  }
  auto close = [&](int32_t a, int32_t b) {
    const double va = dequantize_logit(a), vb = dequantize_logit(b);
    return std::fabs(va - vb) <= tol.abs_logit_error + tol.rel_logit_error * std::fabs(vb);
  };
  if (!close(claimed.logit_q, mine.logit_q) || !close(claimed.runner_up_q, mine.runner_up_q)) {
    c.ok = false;
    return c;
  }
  if (c.exact_choice) return c;
  const int rank = engine::rank_of(logits, claimed.token);
  float best = -INFINITY;
  for (float l : logits) best = std::max(best, l);
  const double gap = double(best) - double(logits[size_t(claimed.token)]);
  if (p.greedy()) {
    c.ok = rank < tol.max_rank && gap <= tol.max_logit_gap;
  } else {
    const int limit = p.top_k == 0 ? INT32_MAX : std::max<int>(int(p.top_k), tol.max_rank);
    // a sampled token must have had real probability: within temperature-scaled
    // reach of the top (exp(-gap/T) not vanishing)
    const double scaled_gap = gap / double(p.temperature);
    c.ok = rank < limit && scaled_gap <= 30.0;
  }
  return c;
}

}  // namespace

Expected<Verdict> verify(const engine::Model& model, const Digest& model_id,
                         kernels::Backend& backend, const Bundle& b, Mode mode,
                         const Tolerance& tol) {
  const auto& cfg = model.config();
  if (auto bad = check_claims(model_id, b, cfg.vocab, cfg.eos_id)) {
    if (bad->first_bad_step >= 0 && size_t(bad->first_bad_step) < b.fingerprints.size()) {
      bad->claimed = b.fingerprints[size_t(bad->first_bad_step)];
      bad->proof = merkle_prove(leaf_hashes(b.fingerprints), uint64_t(bad->first_bad_step));
    }
    return *bad;
  }
  const size_t n = b.output_ids.size();
  const size_t P = b.prompt_ids.size();
  if (P + n - 1 > size_t(cfg.context))
    return reject("verify.too_long", "prompt + output exceed the model context");

  std::vector<int32_t> seq(b.prompt_ids);
  seq.insert(seq.end(), b.output_ids.begin(), b.output_ids.end() - 1);
  IG_TRY_ASSIGN(session, engine::Session::create(model, backend, int(seq.size())));

  Verdict v;
  int64_t first_bad = -1, first_inexact = -1;
  Fingerprint bad_mine, inexact_mine;
  int32_t bad_choice = -1, inexact_choice = -1;
  auto on_logits = [&](int index, std::span<const float> logits) {
    if (size_t(index) + 1 < P) return;
    const uint32_t step = uint32_t(size_t(index) + 1 - P);
    const Fingerprint& claimed = b.fingerprints[step];
    const Fingerprint mine = fingerprint(engine::describe(logits, claimed.token));
    const int32_t choice = engine::choose_token(logits, b.receipt.params, step);
    const StepCheck c = check_step(logits, b.receipt.params, claimed, mine, choice, mode, tol);
    v.steps_checked++;
    if (c.exact_choice) v.exact_matches++;
    else if (first_inexact < 0) {
      first_inexact = step;
      inexact_choice = choice;
      inexact_mine = mine;
    }
    if (!c.ok && first_bad < 0) { first_bad = step; bad_mine = mine; bad_choice = choice; }
  };
  IG_TRY(session.eval(seq, engine::Logits::All, on_logits));

  auto fill_evidence = [&](int64_t step, const Fingerprint& mine, int32_t choice) {
    v.first_bad_step = step;
    v.claimed = b.fingerprints[size_t(step)];
    v.recomputed = mine;
    v.expected_token = choice;
    v.proof = merkle_prove(leaf_hashes(b.fingerprints), uint64_t(step));
  };
  if (first_bad >= 0) {
    v.code = "verify.step_mismatch";
    v.reason = "step " + std::to_string(first_bad) + " does not match the verifier's computation";
    fill_evidence(first_bad, bad_mine, bad_choice);
    return v;
  }
  if (mode == Mode::Tolerant &&
      double(v.exact_matches) < tol.min_exact_share * double(v.steps_checked)) {
    v.code = "verify.low_exact_share";
    v.reason = "too few steps match the verifier's own choice";
    fill_evidence(first_inexact, inexact_mine, inexact_choice);
    return v;
  }
  v.accepted = true;
  return v;
}

bool check_evidence(const Receipt& receipt, const Verdict& v) {
  if (v.first_bad_step < 0) return false;
  return merkle_verify(receipt.fingerprint_root, leaf_hash(uint32_t(v.first_bad_step), v.claimed),
                      v.proof);
}

}  // namespace ig::receipt
