// One sequence being evaluated: its KV cache and a forward pass (forward.hpp).
//
// eval() runs any number of tokens at the next positions, in passes of up to kChunk tokens,
// and reports the logits of the tokens asked for. Because every kernel reduces each output
// in a batch-independent order, the logits of a position are bitwise the same whether it was
// evaluated alone (generation), inside a long prefill (verification) or beside other
// sequences (batch.hpp), on a given backend.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "common/expected.hpp"
#include "inference/engine/forward.hpp"
#include "inference/engine/model.hpp"
#include "kernels/kernels.hpp"

namespace ig::engine {

enum class Logits { Last, All };

class Session {
 public:
  // Called with the index (into the evaluated span) and the logits of a token.
  using LogitsFn = std::function<void(int index, std::span<const float> logits)>;
  static constexpr int kChunk = Forward::kChunk;

  // max_context: positions this session may hold (1..the model's context; else
  // "engine.bad_context").
  static Expected<Session> create(const Model& model, kernels::Backend& backend, int max_context);

  int position() const { return kv_.position; }
  int max_context() const { return kv_.max_context; }
  void reset() { kv_.position = 0; }

  // Evaluates tokens at positions position()..position()+n-1. Errors as Forward::eval.
  Status eval(std::span<const int32_t> tokens, Logits which, const LogitsFn& on_logits);
  // The same, with logits (the output norm and head, vocab × dim per row) only for the tokens
  // at indices >= first_logits: a verifier's teacher-forced prefill needs none for the prompt
  // but its last token. first_logits >= n: no logits at all.
  Status eval_from(std::span<const int32_t> tokens, int first_logits, const LogitsFn& on_logits);

 private:
  Session(Forward f, KvCache kv) : forward_(std::move(f)), kv_(std::move(kv)) {}
  Forward forward_;
  KvCache kv_;
};

}  // namespace ig::engine
