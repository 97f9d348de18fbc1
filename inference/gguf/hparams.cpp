// Llama/Qwen2/Qwen3 hyper-parameters from "<arch>.*" metadata, with the checks a
// forward pass relies on (divisible head counts, even rope dimension, ...).
#include <cmath>
#include <limits>

#include "inference/gguf/gguf.hpp"

namespace ig::gguf {

namespace {
Expected<uint32_t> positive_u32(const File& f, const std::string& key, Expected<uint64_t> v) {
  if (!v) return fail(v.error());
  if (*v == 0 || *v > std::numeric_limits<uint32_t>::max())
    return fail("gguf.bad_hparam", key + " = " + std::to_string(*v) + " is out of range");
  return static_cast<uint32_t>(*v);
}

Expected<uint32_t> required(const File& f, const std::string& key) {
  if (!f.has(key)) return fail("gguf.missing_key", "required key " + key + " is missing");
  return positive_u32(f, key, f.get_uint(key));
}

Expected<uint32_t> vocab_size(const File& f) {
  if (const Value* toks = f.find("tokenizer.ggml.tokens"); toks && toks->type == ValueType::ARRAY)
    return positive_u32(f, "tokenizer.ggml.tokens length", Expected<uint64_t>(toks->items.size()));
  IG_TRY_ASSIGN(emb, f.get_tensor("token_embd.weight"));
  return positive_u32(f, "token_embd.weight ne[1]", Expected<uint64_t>(emb->ne[1]));
}


bool supported_arch(const std::string& arch) {
  return arch == "llama" || arch == "qwen2" || arch == "qwen3";
}

Expected<float> positive_float(const std::string& key, Expected<double> v) {
  if (!v) return fail(v.error());
  if (!(*v > 0.0) || !std::isfinite(*v) || *v > 1e30)
    return fail("gguf.bad_hparam", key + " = " + std::to_string(*v) + " must be positive and finite");
  return static_cast<float>(*v);
}
}  // namespace

// The keys and defaults follow llama.cpp's llama_model::load_hparams (src/llama-model.cpp,
// c392e50): the generic block (n_head_kv defaults to n_head; n_embd_head_k/v from
// attention.key_length/value_length, default n_embd/n_head; n_rot = rope.dimension_count,
// default n_embd_head_k, and for LLM_ARCH_LLAMA it must equal n_embd_head_k; rope.freq_base
// 10000; rope.scaling.type "linear" when absent, an unknown name fails its GGML_ASSERT;
// rope_freq_scale_train = 1/rope.scaling.factor, falling back to rope.scale_linear; and
// rope.scaling.attn_factor) and the per-arch switch, where LLAMA, QWEN2 and QWEN3 all read
// attention.layer_norm_rms_epsilon as a required key.
Expected<ModelParams> read_model_params(const File& f) {
  ModelParams p;
  IG_TRY_ASSIGN(arch, f.architecture());
  if (!supported_arch(arch))
    return fail("gguf.unsupported_arch",
                "architecture '" + arch + "' is not supported (llama, qwen2, qwen3)");
  p.arch = arch;
  const std::string a = arch + ".";
  IG_TRY_ASSIGN(n_embd, required(f, a + "embedding_length"));
  IG_TRY_ASSIGN(n_layer, required(f, a + "block_count"));
  IG_TRY_ASSIGN(n_head, required(f, a + "attention.head_count"));
  IG_TRY_ASSIGN(n_ff, required(f, a + "feed_forward_length"));
  IG_TRY_ASSIGN(n_ctx, required(f, a + "context_length"));
  IG_TRY_ASSIGN(n_head_kv, positive_u32(f, a + "attention.head_count_kv",
                                        f.get_uint_or(a + "attention.head_count_kv", n_head)));
  if (n_head % n_head_kv != 0)
    return fail("gguf.bad_hparam", "head_count is not a multiple of head_count_kv");
  // n_embd_head_k / n_embd_head_v (Qwen3 declares 128 with n_embd / n_head = 64 on 0.6B).
  const bool has_key_length = f.has(a + "attention.key_length");
  if (!has_key_length && n_embd % n_head != 0)
    return fail("gguf.bad_hparam", "embedding_length is not a multiple of head_count");
  IG_TRY_ASSIGN(head_k, positive_u32(f, a + "attention.key_length",
                                     f.get_uint_or(a + "attention.key_length", n_embd / n_head)));
  IG_TRY_ASSIGN(head_v, positive_u32(f, a + "attention.value_length",
                                     f.get_uint_or(a + "attention.value_length", n_embd / n_head)));
  if (head_k != head_v)
    return fail("gguf.unsupported_hparam", a + "attention.key_length (" + std::to_string(head_k) +
                                               ") != " + a + "attention.value_length (" +
                                               std::to_string(head_v) + ") is not supported");
  if (arch == "llama" && head_k * n_head != n_embd)
    return fail("gguf.bad_hparam", a + "attention.key_length must be embedding_length / head_count for llama");
  const uint32_t head_dim = head_k;
  IG_TRY_ASSIGN(rope_dim, positive_u32(f, a + "rope.dimension_count",
                                       f.get_uint_or(a + "rope.dimension_count", head_dim)));
  if (rope_dim > head_dim || rope_dim % 2 != 0)
    return fail("gguf.bad_hparam", a + "rope.dimension_count must be even and at most the head dimension");
  // llama.cpp: "invalid n_rot: %u, expected %u" for LLM_ARCH_LLAMA; qwen3's graph asserts
  // n_embd_head == n_rot.
  if ((arch == "llama" || arch == "qwen3") && rope_dim != head_dim)
    return fail("gguf.bad_hparam", a + "rope.dimension_count = " + std::to_string(rope_dim) +
                                       " must equal the head dimension " + std::to_string(head_dim) +
                                       " for " + arch);
  IG_TRY_ASSIGN(freq_base, positive_float(a + "rope.freq_base", f.get_float_or(a + "rope.freq_base", 10000.0)));
  if (!f.has(a + "attention.layer_norm_rms_epsilon"))
    return fail("gguf.missing_key", "required key " + a + "attention.layer_norm_rms_epsilon is missing");
  IG_TRY_ASSIGN(eps, f.get_float(a + "attention.layer_norm_rms_epsilon"));
  if (!(eps > 0.0) || eps > 1.0)
    return fail("gguf.bad_hparam", a + "attention.layer_norm_rms_epsilon must be in (0, 1]");

  // RoPE scaling. llama.cpp's default type is "linear" (a plain 1/factor scale; a factor
  // of 0 or none means 1); "none" forces the scale to 1 (llama_new_context_with_model).
  std::string scaling = "linear";
  if (f.has(a + "rope.scaling.type")) {
    IG_TRY_ASSIGN(t, f.get_string(a + "rope.scaling.type"));
    scaling = t;
  }
  if (scaling == "yarn" || scaling == "longrope")
    return fail("gguf.unsupported_rope_scaling",
                a + "rope.scaling.type = '" + scaling + "' is not supported (none, linear; Llama 3 " +
                    "scaling comes as the rope_freqs tensor)");
  if (scaling != "none" && scaling != "linear")
    return fail("gguf.bad_hparam", a + "rope.scaling.type = '" + scaling +
                                       "' is not a RoPE scaling type (none, linear, yarn, longrope)");
  double factor = 0.0;
  if (f.has(a + "rope.scaling.factor")) {
    IG_TRY_ASSIGN(v, f.get_float(a + "rope.scaling.factor"));
    factor = v;
  } else if (f.has(a + "rope.scale_linear")) {
    IG_TRY_ASSIGN(v, f.get_float(a + "rope.scale_linear"));
    factor = v;
  }
  if (factor < 0.0 || !std::isfinite(factor) || (factor != 0.0 && factor < 1e-6))
    return fail("gguf.bad_hparam", a + "rope.scaling.factor must be positive");
  float freq_scale = factor == 0.0 ? 1.0f : static_cast<float>(1.0 / factor);
  if (scaling == "none") freq_scale = 1.0f;
  IG_TRY_ASSIGN(attn_factor, positive_float(a + "rope.scaling.attn_factor",
                                            f.get_float_or(a + "rope.scaling.attn_factor", 1.0)));

  // Sliding-window attention: none of llama / qwen2 / qwen3 runs with a window in llama.cpp,
  // and a window at least as long as the context is plain causal attention; a shorter one
  // would change the math, so refuse it rather than run something else.
  if (f.has(a + "attention.sliding_window")) {
    IG_TRY_ASSIGN(window, f.get_uint(a + "attention.sliding_window"));
    if (window != 0 && window < n_ctx)
      return fail("gguf.unsupported_hparam",
                  a + "attention.sliding_window = " + std::to_string(window) +
                      " is shorter than the context (" + std::to_string(n_ctx) +
                      "): sliding-window attention is not implemented");
  }
  // Mixture-of-experts keys mean another graph.
  if (f.has(a + "expert_count")) {
    IG_TRY_ASSIGN(experts, f.get_uint(a + "expert_count"));
    if (experts != 0)
      return fail("gguf.unsupported_hparam", a + "expert_count = " + std::to_string(experts) +
                                                 ": mixture-of-experts models are not supported");
  }

  IG_TRY_ASSIGN(n_vocab, vocab_size(f));
  p.n_embd = n_embd;
  p.n_layer = n_layer;
  p.n_head = n_head;
  p.n_head_kv = n_head_kv;
  p.n_ff = n_ff;
  p.n_ctx = n_ctx;
  p.n_vocab = n_vocab;
  p.head_dim = head_dim;
  p.rope_dim = rope_dim;
  p.rope_freq_base = freq_base;
  p.rope_freq_scale = freq_scale;
  p.rope_attn_factor = attn_factor;
  p.rope_scaling = scaling;
  p.rms_eps = static_cast<float>(eps);
  return p;
}

}  // namespace ig::gguf
