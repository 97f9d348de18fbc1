#include "inference/engine/model.hpp"

#include <limits>

namespace ig::engine {
namespace {

std::string shape_str(const gguf::TensorInfo& t) {
  std::string s = "[";
  for (uint32_t i = 0; i < t.n_dims; ++i) {
    if (i) s += ',';
    s += std::to_string(t.ne[i]);
  }
  return s + "]";
}

Expected<kernels::Weight> matrix(const gguf::File& f, const std::string& name, int64_t cols,
                                 int64_t rows) {
  IG_TRY_ASSIGN(t, f.get_tensor(name));
  if (t->n_dims != 2 || int64_t(t->ne[0]) != cols || int64_t(t->ne[1]) != rows)
    return fail("engine.bad_shape", name + " has shape " + shape_str(*t) + ", expected [" +
                                        std::to_string(cols) + "," + std::to_string(rows) + "]");
  if (!kernels::dtype_supported(uint32_t(t->type)))
    return fail("engine.unsupported_type",
                name + " has tensor type " + std::to_string(uint32_t(t->type)) +
                    "; supported: F32, F16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K");
  const auto type = kernels::DType(uint32_t(t->type));
  if (!kernels::row_shape_valid(type, cols))
    return fail("engine.bad_shape", name + ": row length " + std::to_string(cols) +
                                        " is not a whole number of " + kernels::dtype_name(type) + " blocks (" +
                                        (kernels::dtype_is_kquant(type) ? "256" : "32") + " values)");
  if (t->n_bytes != kernels::row_bytes(type, cols) * uint64_t(rows))
    return fail("engine.bad_shape", name + ": byte size does not match its shape");
  return kernels::Weight{type, t->data, rows, cols};
}

Expected<const float*> vector_f32(const gguf::File& f, const std::string& name, int64_t n) {
  IG_TRY_ASSIGN(t, f.get_tensor(name));
  if (t->n_dims != 1 || int64_t(t->ne[0]) != n)
    return fail("engine.bad_shape", name + " has shape " + shape_str(*t) + ", expected [" +
                                        std::to_string(n) + "]");
  if (t->type != gguf::TensorType::F32)
    return fail("engine.unsupported_type", name + " must be F32");
  return reinterpret_cast<const float*>(t->data);
}

Expected<ModelConfig> read_config(const gguf::File& f) {
  IG_TRY_ASSIGN(p, gguf::read_model_params(f));
  ModelConfig c;
  if (p.arch == "llama") c.arch = Arch::Llama;
  else if (p.arch == "qwen2") c.arch = Arch::Qwen2;
  else return fail("engine.unsupported_arch", "architecture '" + p.arch + "' is not supported (llama, qwen2)");
  constexpr uint32_t kMax = 1u << 20;
  for (uint32_t v : {p.n_embd, p.n_layer, p.n_head, p.n_head_kv, p.n_ff, p.n_vocab, p.head_dim})
    if (v == 0 || v > kMax) return fail("engine.bad_hparams", "a model dimension is zero or too large");
  if (p.n_head % p.n_head_kv != 0)
    return fail("engine.bad_hparams", "head_count is not a multiple of head_count_kv");
  if (p.rope_dim == 0 || p.rope_dim > p.head_dim || p.rope_dim % 2 != 0)
    return fail("engine.bad_hparams", "rope.dimension_count must be even and at most head_dim");
  if (!(p.rms_eps > 0) || !(p.rope_freq_base > 0))
    return fail("engine.bad_hparams", "rms epsilon and rope freq_base must be positive");
  c.dim = int(p.n_embd);
  c.n_layers = int(p.n_layer);
  c.n_heads = int(p.n_head);
  c.n_kv_heads = int(p.n_head_kv);
  c.head_dim = int(p.head_dim);
  c.ffn_dim = int(p.n_ff);
  c.vocab = int(p.n_vocab);
  c.context = int(std::min<uint32_t>(p.n_ctx == 0 ? 2048 : p.n_ctx, kMax));
  c.rms_eps = p.rms_eps;
  c.rope = kernels::RopeParams{int(p.rope_dim), p.rope_freq_base, c.arch == Arch::Qwen2};
  IG_TRY_ASSIGN(bos, f.get_uint_or("tokenizer.ggml.bos_token_id", std::numeric_limits<uint64_t>::max()));
  IG_TRY_ASSIGN(eos, f.get_uint_or("tokenizer.ggml.eos_token_id", std::numeric_limits<uint64_t>::max()));
  c.bos_id = bos < uint64_t(c.vocab) ? int32_t(bos) : -1;
  c.eos_id = eos < uint64_t(c.vocab) ? int32_t(eos) : -1;
  return c;
}

Expected<LayerWeights> read_layer(const gguf::File& f, const ModelConfig& c, int i) {
  const std::string b = "blk." + std::to_string(i) + ".";
  LayerWeights l;
  IG_TRY_ASSIGN(an, vector_f32(f, b + "attn_norm.weight", c.dim));
  IG_TRY_ASSIGN(wq, matrix(f, b + "attn_q.weight", c.dim, c.q_dim()));
  IG_TRY_ASSIGN(wk, matrix(f, b + "attn_k.weight", c.dim, c.kv_dim()));
  IG_TRY_ASSIGN(wv, matrix(f, b + "attn_v.weight", c.dim, c.kv_dim()));
  IG_TRY_ASSIGN(wo, matrix(f, b + "attn_output.weight", c.q_dim(), c.dim));
  IG_TRY_ASSIGN(fn, vector_f32(f, b + "ffn_norm.weight", c.dim));
  IG_TRY_ASSIGN(wg, matrix(f, b + "ffn_gate.weight", c.dim, c.ffn_dim));
  IG_TRY_ASSIGN(wu, matrix(f, b + "ffn_up.weight", c.dim, c.ffn_dim));
  IG_TRY_ASSIGN(wd, matrix(f, b + "ffn_down.weight", c.ffn_dim, c.dim));
  l.attn_norm = an; l.wq = wq; l.wk = wk; l.wv = wv; l.wo = wo;
  l.ffn_norm = fn; l.w_gate = wg; l.w_up = wu; l.w_down = wd;
  if (c.arch == Arch::Qwen2) {
    IG_TRY_ASSIGN(bq, vector_f32(f, b + "attn_q.bias", c.q_dim()));
    IG_TRY_ASSIGN(bk, vector_f32(f, b + "attn_k.bias", c.kv_dim()));
    IG_TRY_ASSIGN(bv, vector_f32(f, b + "attn_v.bias", c.kv_dim()));
    l.bq = bq; l.bk = bk; l.bv = bv;
  }
  return l;
}

}  // namespace

Expected<Model> Model::open(const std::string& path) {
  IG_TRY_ASSIGN(f, gguf::File::open(path));
  return from_gguf(std::move(f));
}

Expected<Model> Model::from_gguf(gguf::File file) {
  Model m;
  IG_TRY_ASSIGN(cfg, read_config(file));
  m.cfg_ = cfg;
  IG_TRY_ASSIGN(embd, matrix(file, "token_embd.weight", cfg.dim, cfg.vocab));
  m.token_embd_ = embd;
  if (file.find_tensor("output.weight")) {
    IG_TRY_ASSIGN(out, matrix(file, "output.weight", cfg.dim, cfg.vocab));
    m.output_ = out;
  } else {
    m.output_ = embd;  // tied embeddings
  }
  IG_TRY_ASSIGN(on, vector_f32(file, "output_norm.weight", cfg.dim));
  m.output_norm_ = on;
  for (int i = 0; i < cfg.n_layers; ++i) {
    IG_TRY_ASSIGN(l, read_layer(file, cfg, i));
    m.layers_.push_back(l);
  }
  m.file_ = std::move(file);
  return m;
}

}  // namespace ig::engine
