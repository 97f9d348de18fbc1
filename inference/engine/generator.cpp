#include "inference/engine/generator.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include "inference/engine/session.hpp"

namespace ig::engine {
namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

Expected<Generation> generate(const Model& model, kernels::Backend& backend,
                              std::span<const int32_t> prompt, const ig::SamplingParams& params,
                              int32_t eos_id, const TokenFn& on_token) {
  if (eos_id < 0) return generate(model, backend, prompt, params, std::span<const int32_t>(), on_token);
  const int32_t stop[1] = {eos_id};
  return generate(model, backend, prompt, params, std::span<const int32_t>(stop), on_token);
}

Expected<Generation> generate(const Model& model, kernels::Backend& backend,
                              std::span<const int32_t> prompt, const ig::SamplingParams& params,
                              std::span<const int32_t> stop_ids, const TokenFn& on_token) {
  IG_TRY(validate(params));
  if (prompt.empty()) return fail("engine.empty_prompt", "the prompt has no tokens (add BOS)");
  const int64_t needed = int64_t(prompt.size()) + params.max_tokens - 1;
  if (needed > model.config().context)
    return fail("engine.context_full", "prompt (" + std::to_string(prompt.size()) +
                                           " tokens) + max_tokens exceeds the model context of " +
                                           std::to_string(model.config().context));
  IG_TRY_ASSIGN(session, Session::create(model, backend, int(needed)));
  Generation g;
  g.prompt_tokens = int(prompt.size());
  std::vector<float> last;
  auto keep = [&](int, std::span<const float> l) { last.assign(l.begin(), l.end()); };

  auto t0 = std::chrono::steady_clock::now();
  IG_TRY(session.eval(prompt, Logits::Last, keep));
  g.prefill_seconds = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  for (uint32_t step = 0; step < params.max_tokens; ++step) {
    const int32_t tok = choose_token(last, params, step);
    g.tokens.push_back(tok);
    g.steps.push_back(describe(last, tok));
    const bool more = on_token ? on_token(tok) : true;
    if (std::find(stop_ids.begin(), stop_ids.end(), tok) != stop_ids.end()) {
      g.stopped_on_eos = true;
      break;
    }
    if (!more || step + 1 == params.max_tokens) break;
    const int32_t next[1] = {tok};
    IG_TRY(session.eval(next, Logits::Last, keep));
  }
  g.decode_seconds = seconds_since(t0);
  return g;
}

}  // namespace ig::engine
