#include "inference/engine/model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string_view>

#include "kernels/interleave.hpp"

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
                    "; supported: F32, F16, Q8_0, Q4_0, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K");
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

// llama_vocab::impl::load (src/llama-vocab.cpp, c392e50): the texts it marks as
// end-of-generation, DeepSeek's end-of-sentence (found as the EOT token when no
// eot_token_id is declared, then added to the set), and the FIM pad / repo / file-separator
// texts it adds to the set.
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>",
    "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>",  // <｜end▁of▁sentence｜>
    "<|fim_pad|>", "<fim-pad>", "<PAD>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
    "<|file_sep|>", "<fim-sep>", "<SEP>"};

Expected<std::vector<int32_t>> read_eog_ids(const gguf::File& f, int vocab) {
  std::vector<int32_t> ids;
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                          "tokenizer.ggml.eom_token_id", "tokenizer.ggml.fim_pad_token_id",
                          "tokenizer.ggml.fim_rep_token_id", "tokenizer.ggml.fim_sep_token_id"}) {
    IG_TRY_ASSIGN(id, f.get_uint_or(key, std::numeric_limits<uint64_t>::max()));
    if (id < uint64_t(vocab)) ids.push_back(int32_t(id));
  }
  if (const gguf::Value* toks = f.find("tokenizer.ggml.tokens");
      toks && toks->type == gguf::ValueType::ARRAY && toks->elem_type == gguf::ValueType::STRING) {
    const size_t n = std::min(toks->items.size(), size_t(vocab));
    for (size_t i = 0; i < n; ++i)
      for (std::string_view t : kEogTexts)
        if (toks->items[i].str == t) ids.push_back(int32_t(i));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Expected<ModelConfig> read_config(const gguf::File& f) {
  IG_TRY_ASSIGN(p, gguf::read_model_params(f));
  ModelConfig c;
  if (p.arch == "llama") c.arch = Arch::Llama;
  else if (p.arch == "qwen2") c.arch = Arch::Qwen2;
  else if (p.arch == "qwen3") c.arch = Arch::Qwen3;
  else return fail("engine.unsupported_arch", "architecture '" + p.arch + "' is not supported (llama, qwen2, qwen3)");
  constexpr uint32_t kMax = 1u << 20;
  for (uint32_t v : {p.n_embd, p.n_layer, p.n_head, p.n_head_kv, p.n_ff, p.n_vocab, p.head_dim})
    if (v == 0 || v > kMax) return fail("engine.bad_hparams", "a model dimension is zero or too large");
  if (uint64_t(p.n_head) * p.head_dim > kMax)
    return fail("engine.bad_hparams", "head_count * head dimension is too large");
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
  // llama_model_rope_type: LLAMA is LLAMA_ROPE_TYPE_NORM, QWEN2 and QWEN3 LLAMA_ROPE_TYPE_NEOX.
  c.rope = kernels::RopeParams{int(p.rope_dim), p.rope_freq_base, c.arch != Arch::Llama,
                               p.rope_freq_scale, p.rope_attn_factor, nullptr};
  IG_TRY_ASSIGN(bos, f.get_uint_or("tokenizer.ggml.bos_token_id", std::numeric_limits<uint64_t>::max()));
  IG_TRY_ASSIGN(eos, f.get_uint_or("tokenizer.ggml.eos_token_id", std::numeric_limits<uint64_t>::max()));
  c.bos_id = bos < uint64_t(c.vocab) ? int32_t(bos) : -1;
  c.eos_id = eos < uint64_t(c.vocab) ? int32_t(eos) : -1;
  IG_TRY_ASSIGN(eog, read_eog_ids(f, c.vocab));
  c.eog_ids = std::move(eog);
  return c;
}

// Every tensor read is recorded, so that unused ones can be refused by name.
struct Reader {
  const gguf::File& f;
  std::set<std::string> used;

  Expected<kernels::Weight> mat(const std::string& name, int64_t cols, int64_t rows) {
    used.insert(name);
    return matrix(f, name, cols, rows);
  }
  Expected<const float*> vec(const std::string& name, int64_t n) {
    used.insert(name);
    return vector_f32(f, name, n);
  }
  // Optional vector: null when absent.
  Expected<const float*> opt_vec(const std::string& name, int64_t n) {
    if (!f.find_tensor(name)) return static_cast<const float*>(nullptr);
    return vec(name, n);
  }
};

Expected<LayerWeights> read_layer(Reader& r, const ModelConfig& c, int i) {
  const std::string b = "blk." + std::to_string(i) + ".";
  LayerWeights l;
  IG_TRY_ASSIGN(an, r.vec(b + "attn_norm.weight", c.dim));
  IG_TRY_ASSIGN(wq, r.mat(b + "attn_q.weight", c.dim, c.q_dim()));
  IG_TRY_ASSIGN(wk, r.mat(b + "attn_k.weight", c.dim, c.kv_dim()));
  IG_TRY_ASSIGN(wv, r.mat(b + "attn_v.weight", c.dim, c.kv_dim()));
  IG_TRY_ASSIGN(wo, r.mat(b + "attn_output.weight", c.q_dim(), c.dim));
  IG_TRY_ASSIGN(fn, r.vec(b + "ffn_norm.weight", c.dim));
  IG_TRY_ASSIGN(wg, r.mat(b + "ffn_gate.weight", c.dim, c.ffn_dim));
  IG_TRY_ASSIGN(wu, r.mat(b + "ffn_up.weight", c.dim, c.ffn_dim));
  IG_TRY_ASSIGN(wd, r.mat(b + "ffn_down.weight", c.ffn_dim, c.dim));
  l.attn_norm = an; l.wq = wq; l.wk = wk; l.wv = wv; l.wo = wo;
  l.ffn_norm = fn; l.w_gate = wg; l.w_up = wu; l.w_down = wd;
  if (c.arch == Arch::Qwen2) {
    IG_TRY_ASSIGN(bq, r.vec(b + "attn_q.bias", c.q_dim()));
    IG_TRY_ASSIGN(bk, r.vec(b + "attn_k.bias", c.kv_dim()));
    IG_TRY_ASSIGN(bv, r.vec(b + "attn_v.bias", c.kv_dim()));
    l.bq = bq; l.bk = bk; l.bv = bv;
  } else if (c.arch == Arch::Llama) {  // TENSOR_NOT_REQUIRED in llama.cpp
    IG_TRY_ASSIGN(bq, r.opt_vec(b + "attn_q.bias", c.q_dim()));
    IG_TRY_ASSIGN(bk, r.opt_vec(b + "attn_k.bias", c.kv_dim()));
    IG_TRY_ASSIGN(bv, r.opt_vec(b + "attn_v.bias", c.kv_dim()));
    IG_TRY_ASSIGN(bo, r.opt_vec(b + "attn_output.bias", c.dim));
    if ((bq == nullptr) != (bk == nullptr) || (bq == nullptr) != (bv == nullptr))
      return fail("engine.missing_tensor", b + "attn_{q,k,v}.bias: some are present, not all three");
    l.bq = bq; l.bk = bk; l.bv = bv; l.bo = bo;
  } else {  // Qwen3
    IG_TRY_ASSIGN(qn, r.vec(b + "attn_q_norm.weight", c.head_dim));
    IG_TRY_ASSIGN(kn, r.vec(b + "attn_k_norm.weight", c.head_dim));
    l.q_norm = qn; l.k_norm = kn;
  }
  return l;
}

}  // namespace

const char* arch_name(Arch a) {
  switch (a) {
    case Arch::Llama: return "llama";
    case Arch::Qwen2: return "qwen2";
    case Arch::Qwen3: return "qwen3";
  }
  return "?";
}

bool ModelConfig::is_eog(int32_t id) const {
  return std::binary_search(eog_ids.begin(), eog_ids.end(), id);
}

Expected<Model> Model::open(const std::string& path, const ModelOptions& opt) {
  IG_TRY_ASSIGN(f, gguf::File::open(path));
  return from_gguf(std::move(f), opt);
}

namespace {

// Regroups every Q4_0 and Q8_0 matrix of at least 16 rows into Layout::Interleaved16, once per
// tensor (tied embeddings are one tensor seen twice).
Status interleave_matrices(gguf::File& file, const std::vector<kernels::Weight*>& weights) {
  for (kernels::Weight* wp : weights) {
    const kernels::Weight w = *wp;
    if (!kernels::interleavable(w.type) || w.rows < 16 || w.layout != kernels::Layout::Rows) continue;
    const gguf::TensorInfo* t = nullptr;
    for (const auto& info : file.tensors())
      if (info.data == w.data) t = &info;
    if (t == nullptr) return fail("engine.bad_tensor", "a matrix is not a tensor of the file");
    IG_TRY(file.rewrite_tensor_data(*t, [&](uint8_t* p) { kernels::interleave(w.type, p, w.rows, w.cols); }));
    for (kernels::Weight* same : weights)
      if (same->data == w.data) same->layout = kernels::Layout::Interleaved16;
  }
  return {};
}

}  // namespace

Expected<Model> Model::from_gguf(gguf::File file, const ModelOptions& opt) {
  Model m;
  IG_TRY_ASSIGN(cfg, read_config(file));
  Reader r{file, {}};
  IG_TRY_ASSIGN(embd, r.mat("token_embd.weight", cfg.dim, cfg.vocab));
  m.token_embd_ = embd;
  if (file.find_tensor("output.weight")) {
    IG_TRY_ASSIGN(out, r.mat("output.weight", cfg.dim, cfg.vocab));
    m.output_ = out;
  } else {
    m.output_ = embd;  // tied embeddings
  }
  IG_TRY_ASSIGN(on, r.vec("output_norm.weight", cfg.dim));
  m.output_norm_ = on;
  if (cfg.arch == Arch::Llama) {
    // One tensor shared by every layer (llama.cpp creates it for layer 0 and duplicates it).
    IG_TRY_ASSIGN(ff, r.opt_vec("rope_freqs.weight", cfg.rope.rope_dim / 2));
    if (ff)
      for (int i = 0; i < cfg.rope.rope_dim / 2; ++i)
        if (!(ff[i] > 0.f) || !std::isfinite(ff[i]))
          return fail("engine.bad_tensor", "rope_freqs.weight[" + std::to_string(i) +
                                               "] must be positive and finite");
    cfg.rope.freq_factors = ff;
  }
  m.cfg_ = cfg;
  for (int i = 0; i < cfg.n_layers; ++i) {
    IG_TRY_ASSIGN(l, read_layer(r, cfg, i));
    m.layers_.push_back(l);
  }
  for (const auto& t : file.tensors())
    if (!r.used.count(t.name))
      return fail("engine.unexpected_tensor",
                  "tensor " + t.name + " is not part of the " + std::string(arch_name(cfg.arch)) +
                      " graph (" + std::to_string(file.tensors().size()) + " tensors, " +
                      std::to_string(r.used.size()) + " used)");
  if (opt.interleave) {
    std::vector<kernels::Weight*> ws{&m.token_embd_, &m.output_};
    for (auto& l : m.layers_)
      for (kernels::Weight* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) ws.push_back(w);
    IG_TRY(interleave_matrices(file, ws));
  }
  m.file_ = std::move(file);
  return m;
}

}  // namespace ig::engine
