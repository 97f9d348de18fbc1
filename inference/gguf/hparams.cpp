// Llama/Qwen2 hyper-parameters from "<arch>.*" metadata, with the checks a
// forward pass relies on (divisible head counts, even rope dimension, ...).
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
  return positive_u32(f, key, f.get_uint(key));
}

Expected<uint32_t> vocab_size(const File& f) {
  if (const Value* toks = f.find("tokenizer.ggml.tokens"); toks && toks->type == ValueType::ARRAY)
    return positive_u32(f, "tokenizer.ggml.tokens length", Expected<uint64_t>(toks->items.size()));
  IG_TRY_ASSIGN(emb, f.get_tensor("token_embd.weight"));
  return positive_u32(f, "token_embd.weight ne[1]", Expected<uint64_t>(emb->ne[1]));
}
}  // namespace

Expected<ModelParams> read_model_params(const File& f) {
  ModelParams p;
  IG_TRY_ASSIGN(arch, f.architecture());
  if (arch != "llama" && arch != "qwen2")
    return fail("gguf.unsupported_arch", "architecture '" + arch + "' is not supported (llama, qwen2)");
  p.arch = arch;
  const std::string a = arch + ".";
  IG_TRY_ASSIGN(n_embd, required(f, a + "embedding_length"));
  IG_TRY_ASSIGN(n_layer, required(f, a + "block_count"));
  IG_TRY_ASSIGN(n_head, required(f, a + "attention.head_count"));
  IG_TRY_ASSIGN(n_ff, required(f, a + "feed_forward_length"));
  IG_TRY_ASSIGN(n_ctx, required(f, a + "context_length"));
  IG_TRY_ASSIGN(n_head_kv, positive_u32(f, a + "attention.head_count_kv",
                                        f.get_uint_or(a + "attention.head_count_kv", n_head)));
  if (n_embd % n_head != 0)
    return fail("gguf.bad_hparam", "embedding_length is not a multiple of head_count");
  if (n_head % n_head_kv != 0)
    return fail("gguf.bad_hparam", "head_count is not a multiple of head_count_kv");
  const uint32_t head_dim = n_embd / n_head;
  IG_TRY_ASSIGN(rope_dim, positive_u32(f, a + "rope.dimension_count",
                                       f.get_uint_or(a + "rope.dimension_count", head_dim)));
  if (rope_dim > head_dim || rope_dim % 2 != 0)
    return fail("gguf.bad_hparam", "rope.dimension_count must be even and at most head_dim");
  IG_TRY_ASSIGN(freq_base, f.get_float_or(a + "rope.freq_base", 10000.0));
  IG_TRY_ASSIGN(eps, f.get_float_or(a + "attention.layer_norm_rms_epsilon", 1e-5));
  if (!(freq_base > 0.0) || !(eps > 0.0) || eps > 1.0)
    return fail("gguf.bad_hparam", "rope.freq_base and layer_norm_rms_epsilon must be positive");
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
  p.rope_freq_base = static_cast<float>(freq_base);
  p.rms_eps = static_cast<float>(eps);
  return p;
}

}  // namespace ig::gguf
