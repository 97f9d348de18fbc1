#include "inference/engine/session.hpp"

namespace ig::engine {

Expected<Session> Session::create(const Model& model, kernels::Backend& backend, int max_context) {
  IG_TRY_ASSIGN(kv, KvCache::create(model.config(), max_context));
  return Session(Forward(model, backend), std::move(kv));
}

Status Session::eval(std::span<const int32_t> tokens, Logits which, const LogitsFn& on_logits) {
  return eval_from(tokens, which == Logits::All ? 0 : int(tokens.size()) - 1, on_logits);
}

Status Session::eval_from(std::span<const int32_t> tokens, int first_logits, const LogitsFn& on_logits) {
  const Piece piece{&kv_, tokens, first_logits};
  return forward_.eval(std::span<const Piece>(&piece, 1),
                       [&](int, int index, std::span<const float> logits) { on_logits(index, logits); });
}

}  // namespace ig::engine
