#include "inference/engine/forward.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace ig::engine {

Expected<KvCache> KvCache::create(const ModelConfig& c, int max_context) {
  if (max_context <= 0 || max_context > c.context)
    return fail("engine.bad_context", "context of " + std::to_string(max_context) +
                                          " positions is outside 1.." + std::to_string(c.context));
  KvCache kv;
  const size_t n = size_t(c.n_layers) * size_t(max_context) * size_t(c.kv_dim());
  kv.k.assign(n, 0.f);
  kv.v.assign(n, 0.f);
  kv.max_context = max_context;
  return kv;
}

Forward::Forward(const Model& m, kernels::Backend& b) : model_(&m), backend_(&b) {
  const auto& c = m.config();
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
  logits_.resize(size_t(c.vocab));  // one row; grown by pass() when a pass wants more
  tokens_.resize(n);
  positions_.resize(n);
  // The activations live where the backend's ops run (on a GPU, between ops too).
  for (auto* v : {&x_, &xn_, &q_, &k_, &v_, &att_, &proj_, &gate_, &up_})
    if (auto h = backend_->bind(v->data(), v->size())) bindings_.push_back(std::move(h));
  logits_binding_ = backend_->bind(logits_.data(), logits_.size());
}

Status Forward::eval(std::span<const Piece> pieces, const LogitsFn& on_logits) {
  const auto& c = model_->config();
  for (size_t i = 0; i < pieces.size(); ++i) {
    const Piece& p = pieces[i];
    if (!p.cache) return fail("engine.bad_input", "a piece has no KV cache");
    for (size_t j = 0; j < i; ++j)
      if (pieces[j].cache == p.cache) return fail("engine.bad_input", "one KV cache appears in two pieces of a pass");
    if (p.tokens.empty()) return fail("engine.empty_input", "no tokens to evaluate");
    if (p.cache->backend != backend_ && !p.cache->bindings.empty())
      return fail("engine.bad_input", "a KV cache held on another backend's device");
    if (p.cache->position + int64_t(p.tokens.size()) > p.cache->max_context)
      return fail("engine.context_full", "evaluating " + std::to_string(p.tokens.size()) +
                                             " tokens at position " + std::to_string(p.cache->position) +
                                             " exceeds the context of " + std::to_string(p.cache->max_context));
    for (int32_t t : p.tokens)
      if (t < 0 || t >= c.vocab)
        return fail("engine.bad_token", "token id " + std::to_string(t) + " is outside the vocabulary");
  }
  for (const Piece& p : pieces)  // each cache lives where the backend's ops run, from its first pass on
    if (p.cache->backend != backend_) {
      p.cache->backend = backend_;
      for (auto* v : {&p.cache->k, &p.cache->v})
        if (auto h = backend_->bind(v->data(), v->size())) p.cache->bindings.push_back(std::move(h));
    }
  // Passes of up to kChunk tokens, filled piece by piece in order; a piece longer than the
  // room left continues in the next pass (its cache position has advanced by then).
  std::vector<Span> spans;
  size_t piece = 0;
  int offset = 0;
  while (piece < pieces.size()) {
    spans.clear();
    int n = 0;
    while (piece < pieces.size() && n < kChunk) {
      const int len = int(pieces[piece].tokens.size());
      const int take = std::min(kChunk - n, len - offset);
      spans.push_back({int(piece), offset, take, n});
      n += take;
      offset += take;
      if (offset == len) {
        ++piece;
        offset = 0;
      }
    }
    IG_TRY(pass(pieces, spans, n, on_logits));
  }
  return {};
}

Status Forward::pass(std::span<const Piece> pieces, std::span<const Span> spans, int n,
                     const LogitsFn& on_logits) {
  const auto& c = model_->config();
  for (const Span& s : spans) {
    const Piece& p = pieces[size_t(s.piece)];
    for (int i = 0; i < s.n; ++i) {
      tokens_[size_t(s.row + i)] = p.tokens[size_t(s.offset + i)];
      positions_[size_t(s.row + i)] = p.cache->position + i;
    }
  }
  backend_->get_rows(model_->token_embd(), tokens_.data(), n, x_.data());
  for (int l = 0; l < c.n_layers; ++l) {
    attention_block(l, pieces, spans, n);
    ffn_block(l, n);
  }
  for (const Span& s : spans) pieces[size_t(s.piece)].cache->position += s.n;

  // The output head for the rows asked for only, gathered into one matmul: each row is
  // computed the same way whatever else is in it.
  const size_t dim = size_t(c.dim);
  int rows = 0;
  for (const Span& s : spans) {
    const int first = std::max(0, pieces[size_t(s.piece)].first_logits - s.offset);
    for (int i = first; i < s.n; ++i, ++rows)
      backend_->copy(x_.data() + size_t(s.row + i) * dim, proj_.data() + size_t(rows) * dim, dim);
  }
  if (rows == 0) return backend_->status();
  const size_t logits = size_t(rows) * size_t(c.vocab);
  if (logits > logits_.size()) {  // a verifier's pass or a batch: rows x vocab, from here on
    logits_binding_.reset();      // (unbound before the memory moves)
    logits_.resize(logits);
    logits_binding_ = backend_->bind(logits_.data(), logits_.size());
  }
  backend_->rmsnorm(proj_.data(), model_->output_norm(), rows, c.dim, c.rms_eps, xn_.data());
  backend_->matmul(model_->output(), xn_.data(), rows, logits_.data());
  backend_->to_host(logits_.data(), size_t(rows) * size_t(c.vocab));
  IG_TRY(backend_->status());
  int r = 0;
  for (const Span& s : spans) {
    const int first = std::max(0, pieces[size_t(s.piece)].first_logits - s.offset);
    for (int i = first; i < s.n; ++i, ++r)
      on_logits(s.piece, s.offset + i,
                std::span<const float>(logits_.data() + size_t(r) * c.vocab, size_t(c.vocab)));
  }
  return {};
}

void Forward::attention_block(int layer, std::span<const Piece> pieces, std::span<const Span> spans, int n) {
  const auto& c = model_->config();
  const auto& w = model_->layers()[size_t(layer)];
  auto& be = *backend_;
  be.rmsnorm(x_.data(), w.attn_norm, n, c.dim, c.rms_eps, xn_.data());
  const kernels::Weight* qkv[] = {&w.wq, &w.wk, &w.wv};
  float* qkv_out[] = {q_.data(), k_.data(), v_.data()};
  be.matmul_shared(qkv, 3, xn_.data(), n, qkv_out);
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
  // Attention piece by piece, each over its own cache.
  const size_t kv_row = size_t(c.kv_dim()), q_row = size_t(c.q_dim());
  for (const Span& s : spans) {
    KvCache& kv = *pieces[size_t(s.piece)].cache;
    const size_t layer_off = size_t(layer) * size_t(kv.max_context) * kv_row;
    const size_t at = layer_off + size_t(positions_[size_t(s.row)]) * kv_row;
    be.copy(k_.data() + size_t(s.row) * kv_row, kv.k.data() + at, size_t(s.n) * kv_row);
    be.copy(v_.data() + size_t(s.row) * kv_row, kv.v.data() + at, size_t(s.n) * kv_row);
    be.attention(q_.data() + size_t(s.row) * q_row, kv.k.data() + layer_off, kv.v.data() + layer_off, s.n,
                 positions_.data() + s.row, kernels::AttentionShape{c.n_heads, c.n_kv_heads, c.head_dim},
                 att_.data() + size_t(s.row) * q_row);
  }
  be.matmul(w.wo, att_.data(), n, proj_.data());
  if (w.bo) be.add_bias(proj_.data(), w.bo, n, c.dim);
  be.add(x_.data(), proj_.data(), size_t(n) * c.dim);
}

void Forward::ffn_block(int layer, int n) {
  const auto& c = model_->config();
  const auto& w = model_->layers()[size_t(layer)];
  auto& be = *backend_;
  be.rmsnorm(x_.data(), w.ffn_norm, n, c.dim, c.rms_eps, xn_.data());
  const kernels::Weight* gate_up[] = {&w.w_gate, &w.w_up};
  float* gate_up_out[] = {gate_.data(), up_.data()};
  be.matmul_shared(gate_up, 2, xn_.data(), n, gate_up_out);
  be.swiglu(gate_.data(), up_.data(), size_t(n) * c.ffn_dim, gate_.data());
  be.matmul(w.w_down, gate_.data(), n, proj_.data());
  be.add(x_.data(), proj_.data(), size_t(n) * c.dim);
}

}  // namespace ig::engine
