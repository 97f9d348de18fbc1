// Random weights are a pure function of (seed, tensor name, element index), so
// the same spec always produces byte-identical files.
#include "inference/gguf/random_model.hpp"

#include <cmath>
#include <cstring>

#include "inference/gguf/kquant_mix.hpp"
#include "inference/gguf/quant.hpp"
#include "inference/gguf/synthetic_vocab.hpp"

namespace ig::gguf {

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t name_key(uint64_t seed, const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ull ^ seed;  // FNV-1a over the name, seeded
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
  return splitmix64(h);
}

// Uniform in [-1, 1).
float uniform(uint64_t key, uint64_t index) {
  const uint64_t r = splitmix64(key ^ splitmix64(index));
  return static_cast<float>(r >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

enum class Init { Matrix, Embedding, Norm, Bias };

class ModelBuilder {
 public:
  ModelBuilder(const RandomModelSpec& spec, Writer& w) : spec_(spec), w_(w) {}

  Status tensor(const std::string& name, uint64_t ne0, uint64_t ne1, Init init) {
    const bool plain = init == Init::Norm || init == Init::Bias;
    const TensorType type = plain ? TensorType::F32
                                  : kquant_fallback(mix_tensor_type({spec_.type, spec_.mix}, name, spec_.layers, !spec_.tied), ne0);
    IG_TRY_ASSIGN(row, row_bytes(type, ne0));
    std::vector<uint8_t> data(row * ne1);
    std::vector<float> values(ne0);
    const uint64_t key = name_key(spec_.seed, name);
    const float scale = init == Init::Matrix ? std::sqrt(3.0f / static_cast<float>(ne0)) : 1.0f;
    for (uint64_t r = 0; r < ne1; ++r) {
      for (uint64_t c = 0; c < ne0; ++c) {
        const float u = uniform(key, r * ne0 + c);
        values[c] = init == Init::Norm ? 1.0f + 0.1f * u : init == Init::Bias ? 0.1f * u : u * scale;
      }
      IG_TRY(quantize_row(type, values.data(), data.data() + r * row, static_cast<int64_t>(ne0)));
    }
    std::vector<uint64_t> ne = ne1 == 1 && plain ? std::vector<uint64_t>{ne0} : std::vector<uint64_t>{ne0, ne1};
    return w_.add_tensor(name, type, std::move(ne), std::move(data));
  }

  Status block(uint32_t i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    const uint64_t d = spec_.dim;
    const uint64_t hd = spec_.head_dim ? spec_.head_dim : spec_.dim / spec_.heads;
    const uint64_t q = hd * spec_.heads;
    const uint64_t kv = hd * spec_.kv_heads;
    IG_TRY(tensor(p + "attn_norm.weight", d, 1, Init::Norm));
    IG_TRY(tensor(p + "attn_q.weight", d, q, Init::Matrix));
    IG_TRY(tensor(p + "attn_k.weight", d, kv, Init::Matrix));
    IG_TRY(tensor(p + "attn_v.weight", d, kv, Init::Matrix));
    if (spec_.arch == "qwen2") {
      IG_TRY(tensor(p + "attn_q.bias", q, 1, Init::Bias));
      IG_TRY(tensor(p + "attn_k.bias", kv, 1, Init::Bias));
      IG_TRY(tensor(p + "attn_v.bias", kv, 1, Init::Bias));
    }
    if (spec_.arch == "qwen3") {  // llama.cpp: LLM_TENSOR_ATTN_Q_NORM / ATTN_K_NORM, {n_embd_head_k}
      IG_TRY(tensor(p + "attn_q_norm.weight", hd, 1, Init::Norm));
      IG_TRY(tensor(p + "attn_k_norm.weight", hd, 1, Init::Norm));
    }
    IG_TRY(tensor(p + "attn_output.weight", q, d, Init::Matrix));
    IG_TRY(tensor(p + "ffn_norm.weight", d, 1, Init::Norm));
    IG_TRY(tensor(p + "ffn_gate.weight", d, spec_.ffn, Init::Matrix));
    IG_TRY(tensor(p + "ffn_up.weight", d, spec_.ffn, Init::Matrix));
    return tensor(p + "ffn_down.weight", spec_.ffn, d, Init::Matrix);
  }

 private:
  const RandomModelSpec& spec_;
  Writer& w_;
};

float default_base(const RandomModelSpec& s) {
  if (s.rope_freq_base > 0.0f) return s.rope_freq_base;
  if (s.arch != "llama") return 1000000.0f;
  return s.rope_scaling == "llama3" ? 500000.0f : 10000.0f;
}

uint32_t head_dim_of(const RandomModelSpec& s) { return s.head_dim ? s.head_dim : s.dim / s.heads; }

void add_hparams(const RandomModelSpec& s, Writer& w) {
  const std::string a = s.arch + ".";
  const bool qwen = s.arch != "llama";
  const float base = default_base(s);
  w.set("general.architecture", Value::of_string(s.arch));
  w.set("general.name", Value::of_string("infergrid-random-" + s.arch));
  w.set("general.file_type", Value::of_u32(llama_file_type({s.type, s.mix})));
  w.set(a + "context_length", Value::of_u32(s.ctx));
  w.set(a + "embedding_length", Value::of_u32(s.dim));
  w.set(a + "block_count", Value::of_u32(s.layers));
  w.set(a + "feed_forward_length", Value::of_u32(s.ffn));
  w.set(a + "attention.head_count", Value::of_u32(s.heads));
  w.set(a + "attention.head_count_kv", Value::of_u32(s.kv_heads));
  if (s.head_dim) {
    w.set(a + "attention.key_length", Value::of_u32(s.head_dim));
    w.set(a + "attention.value_length", Value::of_u32(s.head_dim));
  }
  w.set(a + "rope.dimension_count", Value::of_u32(head_dim_of(s)));
  w.set(a + "rope.freq_base", Value::of_f32(base));
  w.set(a + "attention.layer_norm_rms_epsilon", Value::of_f32(qwen ? 1e-6f : 1e-5f));
}
}  // namespace

Status validate(const RandomModelSpec& s) {
  if (s.arch != "llama" && s.arch != "qwen2" && s.arch != "qwen3")
    return fail("gguf.bad_spec", "arch must be llama, qwen2 or qwen3, not '" + s.arch + "'");
  if (!s.rope_scaling.empty() && s.rope_scaling != "llama3")
    return fail("gguf.bad_spec", "rope scaling must be llama3 (or none), not '" + s.rope_scaling + "'");
  if (!s.rope_scaling.empty() && s.arch != "llama")
    return fail("gguf.bad_spec", "llama3 rope scaling is for --arch llama");
  if (!s.rope_scaling.empty() &&
      (!(s.rope_factor >= 1.0f) || !(s.rope_low_freq_factor > 0.0f) ||
       !(s.rope_high_freq_factor > s.rope_low_freq_factor) || s.rope_orig_ctx == 0))
    return fail("gguf.bad_spec", "llama3 scaling needs factor >= 1, 0 < low_freq_factor < high_freq_factor, orig ctx > 0");
  if (s.head_dim != 0 && s.arch != "qwen3")
    return fail("gguf.bad_spec", "a head dimension other than dim/heads is for --arch qwen3");
  if (s.head_dim % 2 != 0 || s.head_dim > 4096) return fail("gguf.bad_spec", "head-dim must be even and at most 4096");
  if (s.dim == 0 || s.layers == 0 || s.heads == 0 || s.kv_heads == 0 || s.ffn == 0 || s.ctx == 0)
    return fail("gguf.bad_spec", "dim, layers, heads, kv-heads, ffn and ctx must be positive");
  if (s.dim > 65536 || s.ffn > 262144 || s.layers > 1024 || s.vocab > (1u << 22) || s.ctx > (1u << 24))
    return fail("gguf.bad_spec", "shape exceeds the supported limits");
  if (s.dim % s.heads != 0) return fail("gguf.bad_spec", "dim must be a multiple of heads");
  if (s.heads % s.kv_heads != 0) return fail("gguf.bad_spec", "heads must be a multiple of kv-heads");
  if (head_dim_of(s) % 2 != 0) return fail("gguf.bad_spec", "head dimension must be even (RoPE)");
  const bool kquant = s.type == TensorType::Q4_K || s.type == TensorType::Q5_K || s.type == TensorType::Q6_K;
  if (s.type != TensorType::F32 && s.type != TensorType::F16 && s.type != TensorType::Q8_0 &&
      s.type != TensorType::Q4_0 && !kquant)
    return fail("gguf.bad_spec", "type must be f32, f16, q8_0, q4_0, q4_k, q5_k, q6_k, q4_k_m or q5_k_m");
  if (s.mix != QuantMix::None && s.type != (s.mix == QuantMix::Q4_K_M ? TensorType::Q4_K : TensorType::Q5_K))
    return fail("gguf.bad_spec", "a K-quant mix needs its base type");
  // Rows that are not whole K-quant super-blocks take llama.cpp's fallbacks (Q5_0, Q5_1, Q8_0),
  // which need multiples of 32.
  if (kquant && (s.dim % 32 != 0 || s.ffn % 32 != 0))
    return fail("gguf.bad_spec", "k-quant types need dim and ffn to be multiples of 32 (256 for no fallbacks)");
  if (kquant && (head_dim_of(s) * s.heads) % 32 != 0)  // the fallbacks' blocks (kquant_mix.hpp)
    return fail("gguf.bad_spec", "k-quant types need head-dim * heads to be a multiple of 32");
  const bool quantized = s.type == TensorType::Q8_0 || s.type == TensorType::Q4_0;
  if (quantized && (s.dim % 32 != 0 || s.ffn % 32 != 0 || (head_dim_of(s) * s.heads) % 32 != 0))
    return fail("gguf.bad_spec", "q8_0/q4_0 need dim and ffn to be multiples of 32");
  const uint32_t min_vocab = s.arch == "llama" ? kMinSpmVocab : kMinBpeVocab;
  if (s.vocab < min_vocab)
    return fail("gguf.bad_spec", "vocab must be at least " + std::to_string(min_vocab) + " for " + s.arch);
  return {};
}

Expected<Writer> build_random_model(const RandomModelSpec& spec) {
  IG_TRY(validate(spec));
  Writer w;
  add_hparams(spec, w);
  IG_TRY(add_synthetic_vocab(w, spec.arch == "llama" ? VocabKind::Spm : VocabKind::Bpe, spec.vocab));
  ModelBuilder b(spec, w);
  IG_TRY(b.tensor("token_embd.weight", spec.dim, spec.vocab, Init::Embedding));
  IG_TRY(b.tensor("output_norm.weight", spec.dim, 1, Init::Norm));
  if (!spec.tied) IG_TRY(b.tensor("output.weight", spec.dim, spec.vocab, Init::Matrix));
  if (spec.rope_scaling == "llama3") {
    const std::vector<float> ff = llama3_rope_freqs(spec);
    std::vector<uint8_t> bytes(ff.size() * sizeof(float));
    std::memcpy(bytes.data(), ff.data(), bytes.size());
    IG_TRY(w.add_tensor("rope_freqs.weight", TensorType::F32, {ff.size()}, std::move(bytes)));
  }
  for (uint32_t i = 0; i < spec.layers; ++i) IG_TRY(b.block(i));
  return w;
}

std::vector<float> llama3_rope_freqs(const RandomModelSpec& s) {
  // As convert_hf_to_gguf.py: freqs in float32 (torch), the rest in Python doubles.
  const uint32_t dim = head_dim_of(s);
  const double base = default_base(s);
  const double factor = s.rope_factor, low = s.rope_low_freq_factor, high = s.rope_high_freq_factor;
  const double old_ctx = s.rope_orig_ctx;
  const double low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
  std::vector<float> out;
  for (uint32_t i = 0; i < dim; i += 2) {
    const float freq = static_cast<float>(1.0 / std::pow(base, double(i) / double(dim)));
    const double wavelen = 2.0 * M_PI / double(freq);
    double f;
    if (wavelen < high_wavelen) f = 1.0;
    else if (wavelen > low_wavelen) f = factor;
    else {
      const double smooth = (old_ctx / wavelen - low) / (high - low);
      f = 1.0 / ((1.0 - smooth) / factor + smooth);
    }
    out.push_back(static_cast<float>(f));
  }
  return out;
}

Status write_random_model(const RandomModelSpec& spec, const std::string& path) {
  IG_TRY_ASSIGN(w, build_random_model(spec));
  return w.write_file(path);
}

}  // namespace ig::gguf
