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

Expected<int> generation_context(const ModelConfig& c, size_t prompt_tokens, const ig::SamplingParams& params) {
  IG_TRY(validate(params));
  if (prompt_tokens == 0) return fail("engine.empty_prompt", "the prompt has no tokens (add BOS)");
  const int64_t needed = int64_t(prompt_tokens) + params.max_tokens - 1;
  if (needed > c.context)
    return fail("engine.context_full", "prompt (" + std::to_string(prompt_tokens) +
                                           " tokens) + max_tokens exceeds the model context of " +
                                           std::to_string(c.context));
  return int(needed);
}

bool GenerationState::step(std::span<const float> logits) {
  const uint32_t at = uint32_t(gen.tokens.size());
  if (at >= params.max_tokens) return false;
  const int32_t tok = choose_token(logits, params, at);
  gen.tokens.push_back(tok);
  gen.steps.push_back(describe(logits, tok));
  const bool more = on_token ? on_token(tok) : true;
  if (std::find(stop_ids.begin(), stop_ids.end(), tok) != stop_ids.end()) {
    gen.stopped_on_eos = true;
    return false;
  }
  return more && at + 1 < params.max_tokens;
}

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
  IG_TRY_ASSIGN(needed, generation_context(model.config(), prompt.size(), params));
  IG_TRY_ASSIGN(session, Session::create(model, backend, needed));
  GenerationState st{params, std::vector<int32_t>(stop_ids.begin(), stop_ids.end()), on_token, {}};
  st.gen.prompt_tokens = int(prompt.size());
  std::vector<float> last;
  auto keep = [&](int, std::span<const float> l) { last.assign(l.begin(), l.end()); };

  auto t0 = std::chrono::steady_clock::now();
  IG_TRY(session.eval(prompt, Logits::Last, keep));
  st.gen.prefill_seconds = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  while (st.step(last)) {
    const int32_t next[1] = {st.gen.tokens.back()};
    IG_TRY(session.eval(next, Logits::Last, keep));
  }
  Generation& g = st.gen;
  g.decode_seconds = seconds_since(t0);
  return std::move(g);
}

}  // namespace ig::engine
