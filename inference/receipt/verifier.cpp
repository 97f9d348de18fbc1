#include "inference/receipt/verifier.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "inference/engine/sampler.hpp"
#include "inference/engine/session.hpp"
#include "inference/receipt/fingerprint.hpp"

namespace ig::receipt {
namespace {

Verdict reject(std::string code, std::string reason, int64_t step = -1) {
  Verdict v;
  v.code = std::move(code);
  v.reason = std::move(reason);
  v.first_bad_step = step;
  return v;
}

std::string step_text(size_t i) { return "step " + std::to_string(i); }

// Checks of the result against its own receipt and of the rules that need no model run;
// returns a rejection or nothing.
std::optional<Verdict> check_claims(const ig::Hash32& model_id, const TaskResult& t, const engine::ModelConfig& cfg) {
  const int vocab = cfg.vocab;
  const ig::InferenceReceipt& r = t.receipt;
  if (r.model_id != model_id) return reject("verify.model_mismatch", "the receipt names a different model");
  if (auto why = ig::backend_problem(r.backend); !why.empty())
    return reject("verify.bad_backend", "the receipt's backend tag is malformed: " + why);
  if (auto why = ig::sampling_params_problem(t.params))
    return reject("verify.bad_params", "the parameters cannot be run: " + *why);
  if (ig::sampling_params_hash(t.params) != r.params_hash)
    return reject("verify.params_mismatch", "the parameters do not match the receipt's params_hash");
  if (ig::prompt_hash(t.prompt) != r.prompt_hash)
    return reject("verify.prompt_mismatch", "the prompt text does not match the receipt's prompt_hash");
  const size_t n = t.output.size();
  if (r.steps != n || t.fingerprints.size() != n)
    return reject("verify.steps_mismatch",
                  "the receipt (" + std::to_string(r.steps) + " steps), the output (" + std::to_string(n) +
                      " tokens) and the fingerprints (" + std::to_string(t.fingerprints.size()) + ") disagree");
  if (ig::output_hash(t.output) != r.output_hash)
    return reject("verify.output_mismatch", "the output ids do not match the receipt's output_hash");
  if (ig::fingerprint_root(t.fingerprints) != r.fingerprint_root)
    return reject("verify.root_mismatch", "the fingerprints do not match the receipt's fingerprint_root");
  for (size_t i = 0; i < n; ++i) {
    if (int64_t(t.fingerprints[i].token) != int64_t(t.output[i]))
      return reject("verify.fingerprint_token", "the fingerprint of " + step_text(i) + " names another token",
                    int64_t(i));
    if (t.output[i] >= uint32_t(vocab))
      return reject("verify.bad_token", "output token of " + step_text(i) + " is outside the vocabulary",
                    int64_t(i));
  }
  // The stop rule (result.hpp): any end-of-generation id ends the output, max_tokens bounds it.
  // Output ids are < vocab here, so they fit an int32_t.
  for (size_t i = 0; i + 1 < n; ++i)
    if (cfg.is_eog(int32_t(t.output[i])))
      return reject("verify.stop_rule",
                    "the output continues after the end-of-generation token " + std::to_string(t.output[i]) + " of " +
                        step_text(i),
                    int64_t(i + 1));
  if (n > t.params.max_tokens)
    return reject("verify.stop_rule", "the output is longer than max_tokens", int64_t(t.params.max_tokens));
  if (n < t.params.max_tokens && (n == 0 || !cfg.is_eog(int32_t(t.output.back()))))
    return reject("verify.stop_rule", "the output stops before max_tokens without an end-of-generation token",
                  int64_t(n));
  return std::nullopt;
}

// Fills the chain-checkable part of the evidence (claimed leaf and its proof) when the step
// is one of the receipt's leaves.
void attach_proof(Verdict& v, const TaskResult& t) {
  if (v.first_bad_step < 0 || uint64_t(v.first_bad_step) >= t.fingerprints.size()) return;
  if (t.fingerprints.size() != t.receipt.steps) return;  // no consistent tree to prove against
  const auto step = size_t(v.first_bad_step);
  v.has_proof = true;
  v.claimed = t.fingerprints[step];
  v.proof = ig::merkle_prove(ig::fingerprint_leaves(t.fingerprints), step);
}

}  // namespace

Mode mode_for(const ig::InferenceReceipt& receipt, const kernels::Backend& backend) {
  return receipt.backend == backend_tag(backend) ? Mode::Exact : Mode::Tolerant;
}

Expected<Verdict> verify(const engine::Model& model, const ig::Hash32& model_id, kernels::Backend& backend,
                         const TaskResult& t, Mode mode, const std::optional<Tolerance>& tol) {
  // The text and the prompt need the model's tokenizer; a model without one cannot be
  // verified at all, which is the verifier's problem, not the miner's.
  IG_TRY_ASSIGN(tk, model_tokenizer(model));
  return verify(model, tk, model_id, backend, t, mode, tol);
}

Expected<Verdict> verify(const engine::Model& model, const tok::Tokenizer& tk, const ig::Hash32& model_id,
                         kernels::Backend& backend, const TaskResult& t, Mode mode, const std::optional<Tolerance>& tol) {
  IG_TRY_ASSIGN(c, verify_detailed(model, tk, model_id, backend, t, mode, tol));
  return std::move(c.verdict);
}

namespace {

// The verdict of the prefilled steps: the first failing step rule (with the verifier's
// numbers there as evidence), else the drift test, else accepted.
Verdict step_verdict(const std::vector<StepObservation>& steps, const TaskResult& t, Mode mode, const Tolerance& tol,
                     NoiseClass noise) {
  const StepJudgement j = judge_steps(steps, t.params, mode, tol);
  Verdict v;
  v.mode = mode;
  v.noise = noise;
  v.steps_checked = int(steps.size());
  v.exact_matches = j.exact_matches;
  v.drift = j.drift;
  v.drift_limit = j.drift_limit;
  if (j.accepted) {
    v.accepted = true;
    return v;
  }
  v.code = j.code;
  v.first_bad_step = j.first_bad_step;
  const std::string at = step_text(size_t(j.first_bad_step));
  const char* beyond = mode == Mode::Tolerant ? " beyond the noise between backends" : "";
  if (j.code == "verify.logit_drift") {
    v.reason = "over the " + std::to_string(steps.size()) + " steps the claimed logits differ from the verifier's by " +
               std::to_string(j.drift) + " noise variances on average, over the limit " +
               std::to_string(j.drift_limit) + " (first crossed at " + at + ")";
    return v;  // a property of the whole output: no step to prove (verifier.hpp)
  }
  if (j.code == "verify.greedy_claim")
    v.reason = at + ": greedy, but the claimed runner-up logit is above the claimed token's own";
  else if (j.code == "verify.token_mismatch")
    v.reason = at + ": the claimed token is not the sampler's choice" + beyond;
  else
    v.reason = at + ": the claimed logits differ from the verifier's" + beyond;
  const StepObservation& s = steps[size_t(j.first_bad_step)];
  v.has_recomputed = true;
  v.recomputed = s.recomputed;
  v.expected = s.expected;
  v.expected_token = s.expected.token;
  attach_proof(v, t);
  return v;
}

}  // namespace

Expected<Check> verify_detailed(const engine::Model& model, const tok::Tokenizer& tk, const ig::Hash32& model_id,
                                kernels::Backend& backend, const TaskResult& t, Mode mode,
                                const std::optional<Tolerance>& tol, const StepLogitsFn& on_step) {
  const auto& cfg = model.config();
  const NoiseClass noise = noise_class(model);
  auto finish = [&](Verdict v) {
    v.mode = mode;
    v.noise = noise;
    attach_proof(v, t);
    return Check{std::move(v), {}};
  };
  if (auto bad = check_claims(model_id, t, cfg)) return finish(std::move(*bad));

  // Ids the model can emit but the tokenizer cannot render (a padded embedding) have no text.
  for (size_t i = 0; i < t.output.size(); ++i)
    if (t.output[i] >= tk.vocab_size())
      return finish(reject("verify.bad_token", "output token of " + step_text(i) + " has no text in the vocabulary",
                           int64_t(i)));
  IG_TRY_ASSIGN(text, output_text(tk, t.output));
  if (text != t.text) return finish(reject("verify.text_mismatch", "the text is not the detokenized output"));
  auto prompt_ids = task_prompt_ids(tk, t.prompt);
  if (!prompt_ids) {
    if (prompt_ids.error().code == "task.bad_prompt")
      return finish(reject("verify.bad_prompt", prompt_ids.error().message));
    return fail(prompt_ids.error());
  }
  const size_t n = t.output.size();  // >= 1: the stop rule refuses an empty output
  const size_t P = prompt_ids->size();
  if (P + n - 1 > size_t(cfg.context))
    return finish(reject("verify.too_long", "prompt (" + std::to_string(P) + " tokens) + output exceed the context of " +
                                                std::to_string(cfg.context)));

  std::vector<int32_t> seq(*prompt_ids);
  for (size_t i = 0; i + 1 < n; ++i) seq.push_back(int32_t(t.output[i]));  // < vocab, checked
  IG_TRY_ASSIGN(session, engine::Session::create(model, backend, int(seq.size())));
  Check c;
  c.steps.reserve(n);
  auto on_logits = [&](int index, std::span<const float> logits) {
    if (size_t(index) + 1 < P) return;
    const uint32_t step = uint32_t(size_t(index) + 1 - P);
    c.steps.push_back(observe_step(logits, t.params, step, t.fingerprints[step]));
    if (on_step) on_step(step, logits);
  };
  // Logits from the prompt's last token on: the prompt's other positions predict nothing checked.
  IG_TRY(session.eval_from(seq, int(P) - 1, on_logits));
  IG_TRY(backend.status());
  c.verdict = step_verdict(c.steps, t, mode, tol.value_or(default_tolerance(noise)), noise);
  return c;
}

Verdict rejudge(const Check& check, const TaskResult& t, Mode mode, const Tolerance& tol) {
  if (check.steps.empty()) return check.verdict;
  return step_verdict(check.steps, t, mode, tol, check.verdict.noise);
}

ig::Fingerprint differing_fingerprint(const Verdict& v) {
  return v.recomputed != v.claimed ? v.recomputed : v.expected;
}

bool check_evidence(const ig::InferenceReceipt& receipt, const Verdict& v) {
  if (!v.has_proof || v.first_bad_step < 0 || uint64_t(v.first_bad_step) >= receipt.steps) return false;
  const uint64_t step = uint64_t(v.first_bad_step);
  if (v.proof.index != step || v.proof.leaf_count != receipt.steps) return false;
  if (!ig::merkle_verify(receipt.fingerprint_root, ig::fingerprint_leaf(uint32_t(step), v.claimed), v.proof))
    return false;
  // A verifier that recomputed the step and rejects it must have seen something else there.
  if (v.has_recomputed && differing_fingerprint(v) == v.claimed) return false;
  return true;
}

}  // namespace ig::receipt
