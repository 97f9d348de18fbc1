// The forward pass of the model graph over one or several sequences at once.
//
// A pass takes pieces of sequences — each a run of tokens at the next positions of one
// sequence's KV cache — and evaluates all their tokens together: every matmul (the weights'
// bytes read once for the whole batch), norm, RoPE and the output head run over the
// concatenated tokens, and only attention runs piece by piece, each over its own cache.
// Because every kernel reduces each output element in an order that depends on the shapes
// alone (kernels/kernels.hpp, "Batch invariance contract"), a token's logits are bitwise the
// same whatever else is in the pass: alone in a decode step, inside a long prefill, or beside
// other sequences' tokens. That is what lets a miner decode several tasks together and still
// have each one verified exactly.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "common/expected.hpp"
#include "inference/engine/model.hpp"
#include "kernels/kernels.hpp"

namespace ig::engine {

// One sequence's keys and values: [layer][position][kv_dim] floats each, for positions
// 0..max_context-1, of which 0..position-1 are filled.
struct KvCache {
  std::vector<float> k, v;
  int max_context = 0;
  int position = 0;  // the next position to fill
  // The backend whose ops hold k and v from the cache's first pass on (on a GPU, on the device:
  // kernels::Backend::bind), and the handles that unbind them with the cache. A cache held on a
  // device is used with that backend only ("engine.bad_input"); a cache moves but does not copy
  // (a copy's host vectors could be stale).
  const kernels::Backend* backend = nullptr;
  std::vector<std::shared_ptr<void>> bindings;

  KvCache() = default;
  KvCache(KvCache&&) = default;
  KvCache& operator=(KvCache&&) = default;
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  // max_context must be within 1..model.config().context ("engine.bad_context").
  static Expected<KvCache> create(const ModelConfig& c, int max_context);
};

// A run of tokens of one sequence, evaluated at positions cache->position onwards. Logits
// (output norm and head) are computed for the tokens at indices >= first_logits only (a
// prefill needs them for its last token, a verifier's teacher-forced pass for the output's).
struct Piece {
  KvCache* cache = nullptr;
  std::span<const int32_t> tokens;
  int first_logits = 0;  // >= tokens.size(): none
};

class Forward {
 public:
  // Tokens evaluated together in one pass at most (scratch buffers are sized for it);
  // longer inputs are split into passes. 64 keeps prefill GEMM tiles full while the
  // scratch (at most kChunk x vocab logits, for a verifier's passes) stays a few tens of MB.
  static constexpr int kChunk = 64;
  // Called with the piece's index, the token's index within the piece and its logits
  // (vocab floats, valid during the call).
  using LogitsFn = std::function<void(int piece, int index, std::span<const float> logits)>;

  Forward(const Model& model, kernels::Backend& backend);

  // Evaluates every piece's tokens and advances each piece's cache position by its length.
  // Checks first (nothing is evaluated on error): "engine.empty_input" (a piece without
  // tokens), "engine.context_full" (a piece past its cache's max_context),
  // "engine.bad_token" (an id outside the vocabulary), "engine.bad_input" (no cache, or one
  // cache in two pieces). Backend errors (CUDA) come back as they are.
  Status eval(std::span<const Piece> pieces, const LogitsFn& on_logits);

  const Model& model() const { return *model_; }
  kernels::Backend& backend() const { return *backend_; }

 private:
  struct Span {  // the part of piece `piece` evaluated in the current pass
    int piece, offset, n, row;  // row: its first row in the pass's token-major buffers
  };
  Status pass(std::span<const Piece> pieces, std::span<const Span> spans, int n, const LogitsFn& on_logits);
  void attention_block(int layer, std::span<const Piece> pieces, std::span<const Span> spans, int n);
  void ffn_block(int layer, int n);

  const Model* model_;
  kernels::Backend* backend_;
  // scratch, sized for kChunk tokens; token-major. logits_ holds as many rows as a pass has
  // asked for so far (a prefill or a decode step one: vocab floats, not kChunk x vocab).
  std::vector<float> x_, xn_, q_, k_, v_, att_, proj_, gate_, up_, logits_;
  std::vector<std::shared_ptr<void>> bindings_;  // of the buffers above but logits_ (Backend::bind)
  std::shared_ptr<void> logits_binding_;
  std::vector<int32_t> tokens_, positions_;
};

}  // namespace ig::engine
