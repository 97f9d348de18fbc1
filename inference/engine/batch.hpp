// Several generations decoded together (continuous batching), each with its own KV cache.
//
// Decode reads every weight once per step whatever the number of tokens in the step, so a
// miner serving several tasks at once runs them in one forward pass (forward.hpp): each
// step evaluates the next token of every running generation, plus the whole prompt of each
// one added since the last step. A generation finishes on its own stop rule and leaves; a
// new one may join at any step.
//
// Exactness: every token's logits are bitwise those of the same generation run alone with
// generate() on the same backend (the kernels' batch invariance contract, kernels.hpp), so
// each generation makes exactly the decisions it would make alone, its receipt is the same,
// and a verifier checks it in exact mode. tests/inference/engine/batch_test.cpp holds this
// to the bit on every weight type.
//
//   IG_TRY_ASSIGN(batch, BatchGenerator::create(model, *backend, 4));
//   IG_TRY_ASSIGN(id, batch.add({prompt_ids, params, model.config().eog_ids}));
//   while (batch.active() > 0)
//     for (auto& done : batch.step()) use(done.id, done.result);
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <vector>

#include "common/expected.hpp"
#include "inference/engine/forward.hpp"
#include "inference/engine/generator.hpp"
#include "inference/engine/model.hpp"
#include "kernels/kernels.hpp"

namespace ig::engine {

struct GenerationRequest {
  std::vector<int32_t> prompt;
  ig::SamplingParams params;
  std::vector<int32_t> stop_ids;  // e.g. ModelConfig::eog_ids; empty: never stop early
  TokenFn on_token = nullptr;     // called on the thread that runs step()
};

class BatchGenerator {
 public:
  struct Finished {
    uint64_t id;
    Expected<Generation> result;
  };

  // max_sequences: generations decoded together, 1..Forward::kChunk ("engine.bad_batch").
  static Expected<BatchGenerator> create(const Model& model, kernels::Backend& backend, int max_sequences);

  // Adds a generation; its prompt is evaluated by the next step(). Returns its id (1, 2, …).
  // The checks generate() makes, before anything is allocated: "sampler.bad_params",
  // "engine.empty_prompt", "engine.context_full", "engine.bad_token"; and
  // "engine.batch_full" when max_sequences are running.
  Expected<uint64_t> add(GenerationRequest request);

  // One forward pass over every running generation (the new ones' prompts, the others' next
  // token). Returns those that finished in it, in the order they were added. A backend
  // failure (CUDA) fails every generation of the pass with that error. Generation times:
  // prefill_seconds is the step that evaluated the prompt, decode_seconds the wall time
  // from its end to the step the generation finished in (shared with the others).
  std::vector<Finished> step();

  int active() const { return int(running_.size()); }
  bool full() const { return active() >= max_sequences_; }
  int max_sequences() const { return max_sequences_; }

 private:
  struct Sequence {
    uint64_t id;
    std::vector<int32_t> prompt;  // emptied once evaluated
    KvCache kv;
    GenerationState state;
    std::vector<float> last;  // logits of the last evaluated position
    std::chrono::steady_clock::time_point decode_start;
  };
  BatchGenerator(const Model& m, kernels::Backend& b, int max_sequences)
      : forward_(m, b), max_sequences_(max_sequences) {}

  Forward forward_;
  int max_sequences_;
  uint64_t next_id_ = 1;
  std::list<Sequence> running_;  // in the order added (stable addresses: pieces point into it)
};

// Runs the requests to completion, at most max_sequences at a time (a request waits for a
// free place, taken in order), and returns each one's result in request order.
std::vector<Expected<Generation>> generate_batch(const Model& model, kernels::Backend& backend,
                                                 std::vector<GenerationRequest> requests, int max_sequences);

}  // namespace ig::engine
