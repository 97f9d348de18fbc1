// One sequence being evaluated: the KV cache and the forward pass.
//
// eval() runs any number of tokens at the next positions, in chunks of up to
// kChunk tokens, and reports the logits of the tokens asked for. Because every
// kernel reduces each output in a batch-independent order, the logits of a
// position are bitwise the same whether it was evaluated alone (generation)
// or inside a long prefill (verification), on a given backend.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "common/expected.hpp"
#include "inference/engine/model.hpp"
#include "kernels/kernels.hpp"

namespace ig::engine {

enum class Logits { Last, All };

class Session {
 public:
  // Called with the index (into the evaluated span) and the logits of a token.
  using LogitsFn = std::function<void(int index, std::span<const float> logits)>;
  static constexpr int kChunk = 64;

  // max_context: positions this session may hold (<= the model's context).
  static Expected<Session> create(const Model& model, kernels::Backend& backend, int max_context);

  int position() const { return pos_; }
  int max_context() const { return max_ctx_; }
  void reset() { pos_ = 0; }

  // Evaluates tokens at positions position()..position()+n-1.
  Status eval(std::span<const int32_t> tokens, Logits which, const LogitsFn& on_logits);
  // The same, with logits (the output norm and head, vocab × dim per row) only for the tokens
  // at indices >= first_logits: a verifier's teacher-forced prefill needs none for the prompt
  // but its last token. first_logits >= n: no logits at all.
  Status eval_from(std::span<const int32_t> tokens, int first_logits, const LogitsFn& on_logits);

 private:
  Session(const Model& m, kernels::Backend& b, int max_ctx);
  Status eval_chunk(std::span<const int32_t> tokens, int first_index, int first_logits,
                    const LogitsFn& on_logits);
  void attention_block(int layer, int n);
  void ffn_block(int layer, int n);

  const Model* model_;
  kernels::Backend* backend_;
  int max_ctx_;
  int pos_ = 0;
  std::vector<float> k_cache_, v_cache_;  // [layer][ctx][kv_dim]
  // scratch, sized for kChunk tokens
  std::vector<float> x_, xn_, q_, k_, v_, att_, proj_, gate_, up_, logits_;
  std::vector<int32_t> positions_;
};

}  // namespace ig::engine
