// The cheats of the study. Each is what a miner who wants to save compute or steer the output
// would submit, made as consistent as it can be: the receipt, text and Merkle root are always
// resealed over the altered fields (a miner who forgets that is caught by the hashes), and
// where a cheat must invent fingerprint numbers it invents the most plausible ones.
//
//   quant_*, model_*     another model run in place of the claimed one (a cheaper
//                        quantization of it, a random model of the same or a smaller shape,
//                        a noisy "fine-tuned" copy), its receipt naming the claimed model
//   token_random         one step's token replaced by a random non-EOS token, the rest
//                        generated honestly from there (so that step is the only anomaly)
//   token_second         the same with the miner's own second-best token (the most plausible
//                        replacement; undetectable only when it is within the honest noise)
//   truncated            the output cut short at a random step, nothing else changed
//   truncated_eos        cut short with an EOS put in as its last token
//   greedy_claimed_sampled  greedy parameters claimed, tokens sampled (T 0.8, top-k 40,
//                        top-p 0.95); each fingerprint's runner-up lowered to its logit so
//                        the claim looks like an argmax
//   other_seed           sampled with another seed than the one claimed
//   token_steer          at every step, the lowest-id token among those the verifier would
//                        accept (by the miner's own logits, with half the margin to spare):
//                        how much choice the tolerance leaves a miner who wants to steer
// Invented numbers for a token the miner did not really choose (token_*): the token's own
// logit and the best other logit; for a greedy claim, where the runner-up would then exceed
// the logit, both set to their midpoint so the claim looks like a tie at the top.
#include <algorithm>
#include <cmath>

#include "bench/verify_study/study.hpp"
#include "inference/engine/engine.hpp"
#include "inference/engine/sampler.hpp"
#include "inference/receipt/fingerprint.hpp"

namespace ig::study {
namespace {

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

Status reseal(const StudyModel& m, receipt::TaskResult& r) {
  IG_TRY_ASSIGN(text, receipt::output_text(*m.tokenizer, r.output));
  r.text = std::move(text);
  r.receipt = receipt::make_receipt(r.receipt.model_id, r.prompt, r.params, r.output, r.fingerprints, r.receipt.backend);
  return {};
}

ig::Fingerprint invented(std::span<const float> logits, int32_t token, bool greedy) {
  ig::Fingerprint f = receipt::fingerprint(engine::describe(logits, token));
  if (greedy && f.runner_up_q > f.logit_q) {
    const engine::Decision d = engine::describe(logits, token);
    f.logit_q = f.runner_up_q = receipt::quantize_logit(0.5f * (d.logit + d.runner_up));
  }
  return f;
}

// Generation that replaces the token of `forced_step` by forced(logits) and continues honestly.
Status generate_forced(const StudyModel& m, kernels::Backend& backend, receipt::TaskResult& r, uint32_t forced_step,
                       const std::function<int32_t(std::span<const float>)>& forced) {
  IG_TRY_ASSIGN(prompt, receipt::task_prompt_ids(*m.tokenizer, r.prompt));
  const engine::Model& model = *m.model;
  IG_TRY_ASSIGN(session, engine::Session::create(model, backend, int(prompt.size() + r.params.max_tokens)));
  std::vector<float> last;
  auto keep = [&](int, std::span<const float> l) { last.assign(l.begin(), l.end()); };
  // The honest prefix up to the forced step, as generated, then the forced token.
  std::vector<int32_t> seq(prompt);
  for (uint32_t i = 0; i < forced_step; ++i) seq.push_back(int32_t(r.output[i]));
  IG_TRY(session.eval(seq, engine::Logits::Last, keep));
  r.output.resize(forced_step);
  r.fingerprints.resize(forced_step);
  for (uint32_t step = forced_step; step < r.params.max_tokens; ++step) {
    int32_t tok;
    if (step == forced_step) {
      tok = forced(last);
      r.fingerprints.push_back(invented(last, tok, r.params.greedy()));
    } else {
      tok = engine::choose_token(last, r.params, step);
      r.fingerprints.push_back(receipt::fingerprint(engine::describe(last, tok)));
    }
    r.output.push_back(uint32_t(tok));
    if (model.config().is_eog(tok) || step + 1 == r.params.max_tokens) break;
    const int32_t next[1] = {tok};
    IG_TRY(session.eval(next, engine::Logits::Last, keep));
  }
  return {};
}

// A miner that steers: at every step it takes, among the tokens the verifier would accept by
// its own logits with half the margin to spare, the one with the lowest id (a stand-in for
// whatever it prefers). Its numbers are honest for the token it takes. Returns the steps
// where it took another token than the sampler's.
Expected<int> generate_steered(const StudyModel& m, kernels::Backend& backend, receipt::TaskResult& r) {
  IG_TRY_ASSIGN(prompt, receipt::task_prompt_ids(*m.tokenizer, r.prompt));
  const engine::Model& model = *m.model;
  const receipt::Tolerance tol = receipt::default_tolerance(receipt::noise_class(model));
  IG_TRY_ASSIGN(session, engine::Session::create(model, backend, int(prompt.size() + r.params.max_tokens)));
  std::vector<float> last;
  auto keep = [&](int, std::span<const float> l) { last.assign(l.begin(), l.end()); };
  IG_TRY(session.eval(prompt, engine::Logits::Last, keep));
  r.output.clear();
  r.fingerprints.clear();
  int steered = 0;
  for (uint32_t step = 0; step < r.params.max_tokens; ++step) {
    const int32_t choice = engine::choose_token(last, r.params, step);
    double sum = 0, top = -INFINITY;
    for (float l : last) sum += l, top = std::max(top, double(l));
    const double bound = 0.5 * tol.margin_k * (tol.abs_sigma + tol.rel_sigma * (top - sum / double(last.size())));
    int32_t tok = choice;
    if (r.params.greedy()) {
      for (int32_t i = 0; i < tok; ++i)
        if (top - double(last[size_t(i)]) <= bound) { tok = i; break; }
    } else {
      const engine::Candidates c = engine::candidates(last, r.params);
      if (c.ids.size() == last.size() && engine::sampling_top_p(r.params) >= 1.0) {
        // No cut: every token races, and a token's decision margin is the best other race
        // score minus its own (checks.hpp). One pass instead of a margin per token.
        const double t = double(engine::sampling_temperature(r.params));
        std::vector<double> score(last.size());
        for (size_t i = 0; i < score.size(); ++i)
          score[i] = engine::race_score(last[i], t, r.params.seed, step, int32_t(i));
        const double best = *std::max_element(score.begin(), score.end());
        for (int32_t i = 0; i < tok; ++i)
          if (score[size_t(i)] >= best - bound) { tok = i; break; }
      } else {
        const size_t limit = std::min(c.ids.size(), c.kept + 8);
        for (size_t i = 0; i < limit; ++i)
          if (c.ids[i] < tok && receipt::decision_margin(last, r.params, step, c.ids[i]) <= bound) tok = c.ids[i];
      }
    }
    steered += tok != choice;
    r.fingerprints.push_back(invented(last, tok, r.params.greedy()));
    r.output.push_back(uint32_t(tok));
    if (model.config().is_eog(tok) || step + 1 == r.params.max_tokens) break;
    const int32_t next[1] = {tok};
    IG_TRY(session.eval(next, engine::Logits::Last, keep));
  }
  return steered;
}

}  // namespace

Expected<CheatOutcome> make_cheat(const std::string& kind, const StudyModel& claimed, const StudyModel* used,
                                  kernels::Backend& backend, const std::string& prompt, ParamKind pk,
                                  uint32_t max_tokens, uint64_t seed) {
  CheatOutcome out;
  ig::SamplingParams params = params_for(pk, max_tokens, seed);
  const int32_t eos = claimed.model->config().eos_id;
  const int vocab = claimed.model->config().vocab;
  if (used && used != &claimed) {
    IG_TRY_ASSIGN(r, receipt::run_task(*used->model, *used->tokenizer, claimed.id, backend, prompt, params));
    out.result = std::move(r);
    return out;
  }
  if (kind == "greedy_claimed_sampled") {
    IG_TRY_ASSIGN(r, receipt::run_task(*claimed.model, *claimed.tokenizer, claimed.id, backend, prompt,
                                       params_for(ParamKind::Sampled, max_tokens, seed)));
    r.params = params_for(ParamKind::Greedy, max_tokens, seed);
    for (auto& f : r.fingerprints) f.runner_up_q = std::min(f.runner_up_q, f.logit_q);
    IG_TRY(reseal(claimed, r));
    out.result = std::move(r);
    return out;
  }
  if (kind == "other_seed") {
    if (params.greedy()) params = params_for(ParamKind::Sampled, max_tokens, seed);
    ig::SamplingParams actual = params;
    actual.seed = mix(seed ^ 0x5eed);
    IG_TRY_ASSIGN(r, receipt::run_task(*claimed.model, *claimed.tokenizer, claimed.id, backend, prompt, actual));
    r.params = params;
    IG_TRY(reseal(claimed, r));
    out.result = std::move(r);
    return out;
  }
  IG_TRY_ASSIGN(r, receipt::run_task(*claimed.model, *claimed.tokenizer, claimed.id, backend, prompt, params));
  if (kind == "token_steer") {
    IG_TRY_ASSIGN(steered, generate_steered(claimed, backend, r));
    out.steered = steered;
    IG_TRY(reseal(claimed, r));
    out.result = std::move(r);
    return out;
  }
  const size_t n = r.output.size();
  if (n < 2) return fail("study.short_output", "an output of one token leaves nothing to change");
  // A step that is not a final EOS, so that the change cannot also break the stop rule.
  const bool ends_eos = claimed.model->config().is_eog(int32_t(r.output.back()));
  const size_t span = ends_eos ? n - 1 : n;
  const uint64_t h = mix(seed ^ 0xc4ea7);
  if (kind == "token_random" || kind == "token_second") {
    const uint32_t step = uint32_t(h % span);
    const int32_t original = int32_t(r.output[step]);
    auto pick = [&](std::span<const float> logits) -> int32_t {
      if (kind == "token_second") {
        int32_t best = -1;
        for (int32_t i = 0; i < int32_t(logits.size()); ++i)
          if (i != original && !claimed.model->config().is_eog(i) && (best < 0 || logits[size_t(i)] > logits[size_t(best)])) best = i;
        return best;
      }
      for (uint64_t k = 1;; ++k) {
        const int32_t t = int32_t(mix(h + k) % uint64_t(vocab));
        if (t != original && !claimed.model->config().is_eog(t)) return t;
      }
    };
    IG_TRY(generate_forced(claimed, backend, r, step, pick));
    out.cheat_step = step;
  } else if (kind == "truncated" || kind == "truncated_eos") {
    const size_t keep = 1 + size_t(h % (n - 1));  // 1 .. n-1 tokens
    r.output.resize(keep);
    r.fingerprints.resize(keep);
    if (kind == "truncated_eos" && eos >= 0) {
      r.output.back() = uint32_t(eos);
      r.fingerprints.back().token = eos;  // the numbers of the token it replaced
      out.cheat_step = int64_t(keep) - 1;
    }
  } else {
    return fail("study.bad_cheat", "unknown cheat kind '" + kind + "'");
  }
  IG_TRY(reseal(claimed, r));
  out.result = std::move(r);
  return out;
}

int64_t tokens_to_detect(const receipt::Verdict& v) {
  if (v.accepted) return -1;
  static const char* kStep[] = {"verify.token_mismatch", "verify.logit_mismatch", "verify.greedy_claim",
                                "verify.logit_drift"};
  for (const char* c : kStep)
    if (v.code == c) return v.first_bad_step + 1;
  return 0;  // decided from the claims alone, before any model run
}

}  // namespace ig::study
