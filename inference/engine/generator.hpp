// Generation: prefill the prompt, then decode one token at a time, recording
// each step's decision (for the receipt) and stopping on EOS or max_tokens.
// An EOS token that stops generation is part of the output.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "common/expected.hpp"
#include "inference/engine/model.hpp"
#include "inference/engine/sampler.hpp"
#include "kernels/kernels.hpp"

namespace ig::engine {

struct Generation {
  std::vector<int32_t> tokens;   // generated ids (EOS included when it stopped generation)
  std::vector<Decision> steps;   // one per generated token
  bool stopped_on_eos = false;  // stopped on a stop id (EOS or another end-of-generation id)
  double prefill_seconds = 0;
  double decode_seconds = 0;
  int prompt_tokens = 0;
};

// Return false to stop early (the token already produced is kept).
using TokenFn = std::function<bool(int32_t token)>;

// The KV cache positions a generation needs (prompt + max_tokens - 1: the last token is
// chosen, never evaluated). Errors: "sampler.bad_params", "engine.empty_prompt",
// "engine.context_full" (more than the model's context).
Expected<int> generation_context(const ModelConfig& c, size_t prompt_tokens, const ig::SamplingParams& params);

// One generation's decisions, step by step, apart from how its logits are computed (one
// Session in generate(), a shared pass in BatchGenerator): both make exactly these choices.
struct GenerationState {
  ig::SamplingParams params;
  std::vector<int32_t> stop_ids;
  TokenFn on_token;
  Generation gen;

  // Chooses the next token from the logits of the last evaluated position, records the
  // decision and calls on_token. True when generation goes on: gen.tokens.back() is then
  // the token to evaluate next. False when it stopped (a stop id, max_tokens, or on_token
  // returning false).
  bool step(std::span<const float> logits);
};

// Stops on any of `stop_ids` (e.g. ModelConfig::eog_ids: EOS, EOT, EOM, as llama.cpp's
// llama_vocab_is_eog); an empty span never stops early. Fails on invalid params
// ("sampler.bad_params") and if prompt + max_tokens exceeds the context.
Expected<Generation> generate(const Model& model, kernels::Backend& backend,
                              std::span<const int32_t> prompt, const ig::SamplingParams& params,
                              std::span<const int32_t> stop_ids, const TokenFn& on_token = nullptr);
// The same with one stop id (the receipt's stop rule: the model's EOS); eos_id < 0: never
// stop on EOS.
Expected<Generation> generate(const Model& model, kernels::Backend& backend,
                              std::span<const int32_t> prompt, const ig::SamplingParams& params,
                              int32_t eos_id, const TokenFn& on_token = nullptr);

}  // namespace ig::engine
