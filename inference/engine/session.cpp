#include "inference/engine/session.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace ig::engine {

Session::Session(const Model& m, kernels::Backend& b, int max_ctx)
    : model_(&m), backend_(&b), max_ctx_(max_ctx) {
  const auto& c = m.config();
  const size_t cache = size_t(c.n_layers) * max_ctx * c.kv_dim();
  k_cache_.assign(cache, 0.f);
  v_cache_.assign(cache, 0.f);
  const size_t n = kChunk;
  x_.resize(n * c.dim);
  xn_.resize(n * c.dim);
  q_.resize(n * c.q_dim());
  k_.resize(n * c.kv_dim());
  v_.resize(n * c.kv_dim());
  att_.resize(n * c.q_dim());
  proj_.resize(n * c.dim);
  gate_.resize(n * c.ffn_dim);
  up_.resize(n * c.ffn_dim);
  logits_.resize(n * size_t(c.vocab));
  positions_.resize(n);
}

Expected<Session> Session::create(const Model& model, kernels::Backend& backend, int max_context) {
  if (max_context <= 0 || max_context > model.config().context)
    return fail("engine.bad_context", "context of " + std::to_string(max_context) +
                                          " positions is outside 1.." +
                                          std::to_string(model.config().context));
  return Session(model, backend, max_context);
}

Status Session::eval(std::span<const int32_t> tokens, Logits which, const LogitsFn& on_logits) {
  return eval_from(tokens, which == Logits::All ? 0 : int(tokens.size()) - 1, on_logits);
}

Status Session::eval_from(std::span<const int32_t> tokens, int first_logits, const LogitsFn& on_logits) {
  const auto& c = model_->config();
  if (tokens.empty()) return fail("engine.empty_input", "no tokens to evaluate");
  if (pos_ + int64_t(tokens.size()) > max_ctx_)
    return fail("engine.context_full", "evaluating " + std::to_string(tokens.size()) +
                                           " tokens at position " + std::to_string(pos_) +
                                           " exceeds the context of " + std::to_string(max_ctx_));
  for (int32_t t : tokens)
    if (t < 0 || t >= c.vocab)
      return fail("engine.bad_token", "token id " + std::to_string(t) + " is outside the vocabulary");
  const int n_total = int(tokens.size());
  for (int i = 0; i < n_total; i += kChunk) {
    const int n = std::min(kChunk, n_total - i);
    IG_TRY(eval_chunk(tokens.subspan(size_t(i), size_t(n)), i, first_logits, on_logits));
  }
  return {};
}

Status Session::eval_chunk(std::span<const int32_t> tokens, int first_index, int first_logits,
                           const LogitsFn& on_logits) {
  const auto& c = model_->config();
  const int n = int(tokens.size());
  for (int t = 0; t < n; ++t) positions_[t] = pos_ + t;
  backend_->get_rows(model_->token_embd(), tokens.data(), n, x_.data());
  for (int l = 0; l < c.n_layers; ++l) {
    attention_block(l, n);
    ffn_block(l, n);
  }
  pos_ += n;
  // Logits only for the rows asked for; each row is computed the same way
  // whatever else is in the batch.
  const int first = std::max(0, first_logits - first_index);
  if (first >= n) return backend_->status();
  const int rows = n - first;
  backend_->rmsnorm(x_.data() + size_t(first) * c.dim, model_->output_norm(), rows, c.dim,
                    c.rms_eps, xn_.data());
  backend_->matmul(model_->output(), xn_.data(), rows, logits_.data());
  IG_TRY(backend_->status());
  for (int r = 0; r < rows; ++r)
    on_logits(first_index + first + r,
              std::span<const float>(logits_.data() + size_t(r) * c.vocab, size_t(c.vocab)));
  return {};
}

void Session::attention_block(int layer, int n) {
  const auto& c = model_->config();
  const auto& w = model_->layers()[size_t(layer)];
  auto& be = *backend_;
  be.rmsnorm(x_.data(), w.attn_norm, n, c.dim, c.rms_eps, xn_.data());
  be.matmul(w.wq, xn_.data(), n, q_.data());
  be.matmul(w.wk, xn_.data(), n, k_.data());
  be.matmul(w.wv, xn_.data(), n, v_.data());
  if (w.bq) {
    be.add_bias(q_.data(), w.bq, n, c.q_dim());
    be.add_bias(k_.data(), w.bk, n, c.kv_dim());
    be.add_bias(v_.data(), w.bv, n, c.kv_dim());
  }
  if (w.q_norm) {
    // qwen3: RMSNorm of each head of Q and K (rows of head_dim) before RoPE, as
    // llm_build_qwen3 does with build_norm(Qcur/Kcur, attn_q_norm/attn_k_norm, LLM_NORM_RMS).
    be.rmsnorm(q_.data(), w.q_norm, n * c.n_heads, c.head_dim, c.rms_eps, q_.data());
    be.rmsnorm(k_.data(), w.k_norm, n * c.n_kv_heads, c.head_dim, c.rms_eps, k_.data());
  }
  be.rope(q_.data(), n, c.n_heads, c.head_dim, positions_.data(), c.rope);
  be.rope(k_.data(), n, c.n_kv_heads, c.head_dim, positions_.data(), c.rope);
  const size_t layer_off = size_t(layer) * max_ctx_ * c.kv_dim();
  const size_t row = size_t(c.kv_dim());
  std::memcpy(k_cache_.data() + layer_off + size_t(pos_) * row, k_.data(), n * row * 4);
  std::memcpy(v_cache_.data() + layer_off + size_t(pos_) * row, v_.data(), n * row * 4);
  be.attention(q_.data(), k_cache_.data() + layer_off, v_cache_.data() + layer_off, n,
               positions_.data(), kernels::AttentionShape{c.n_heads, c.n_kv_heads, c.head_dim},
               att_.data());
  be.matmul(w.wo, att_.data(), n, proj_.data());
  if (w.bo) be.add_bias(proj_.data(), w.bo, n, c.dim);
  be.add(x_.data(), proj_.data(), size_t(n) * c.dim);
}

void Session::ffn_block(int layer, int n) {
  const auto& c = model_->config();
  const auto& w = model_->layers()[size_t(layer)];
  auto& be = *backend_;
  be.rmsnorm(x_.data(), w.ffn_norm, n, c.dim, c.rms_eps, xn_.data());
  be.matmul(w.w_gate, xn_.data(), n, gate_.data());
  be.matmul(w.w_up, xn_.data(), n, up_.data());
  be.swiglu(gate_.data(), up_.data(), size_t(n) * c.ffn_dim, gate_.data());
  be.matmul(w.w_down, gate_.data(), n, proj_.data());
  be.add(x_.data(), proj_.data(), size_t(n) * c.dim);
}

}  // namespace ig::engine
