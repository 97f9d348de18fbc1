// Architectures and hyper-parameters read as llama.cpp reads them: Llama 3.1 RoPE scaling
// (rope_freqs), qwen3 (per-head Q/K RMSNorm, head_dim from attention.key_length), rope
// scaling keys, end-of-generation ids, and the clear errors for what is not supported
// (architectures, keys, tensors of the wrong shape or of another graph).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <unistd.h>

#include "inference/engine/engine.hpp"
#include "inference/gguf/random_model.hpp"
#include "inference/gguf/writer.hpp"
#include "tests/inference/engine/model_files.hpp"
#include "kernels/reference/scalar_ops.hpp"

namespace ig::engine {
namespace {

using gguf::TensorType;
using gguf::Value;

// The engine tests' small model (model_files.hpp) with the spec's default type, untied, seed 5.
gguf::RandomModelSpec small(const std::string& arch) {
  return testing::small_model(arch, gguf::RandomModelSpec{}.type, false, 5);
}

gguf::File file_of(const gguf::Writer& w) {
  auto bytes = w.to_bytes();
  if (!bytes) throw std::runtime_error(bytes.error().to_string());
  auto f = gguf::File::from_bytes(*bytes);
  if (!f) throw std::runtime_error(f.error().to_string());
  return std::move(*f);
}

gguf::File file_of(const gguf::RandomModelSpec& s) {
  auto w = gguf::build_random_model(s);
  if (!w) throw std::runtime_error(w.error().to_string());
  return file_of(*w);
}

// A copy of `f` with keys dropped / replaced and tensors dropped / reshaped by the callbacks.
using KeyEdit = std::function<bool(const std::string& key, Value& v)>;  // false: drop
struct TensorEdit {
  std::string name;
  bool drop = false;
  std::vector<uint64_t> ne;  // non-empty: new shape (F32, data resized with zeros)
};
gguf::File rewrite(const gguf::File& f, const KeyEdit& keys, std::vector<TensorEdit> tensors = {},
                   std::vector<std::pair<std::string, std::vector<float>>> extra = {}) {
  gguf::Writer w;
  for (const auto& kv : f.metadata()) {
    Value v = kv.value;
    if (keys && !keys(kv.key, v)) continue;
    w.set(kv.key, v);
  }
  for (const auto& t : f.tensors()) {
    const TensorEdit* e = nullptr;
    for (const auto& te : tensors)
      if (te.name == t.name) e = &te;
    if (e && e->drop) continue;
    std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    std::vector<uint8_t> data(t.data, t.data + t.n_bytes);
    if (e && !e->ne.empty()) {
      ne = e->ne;
      uint64_t n = 1;
      for (auto d : ne) n *= d;
      data.assign(n * 4, 0);
    }
    auto st = w.add_tensor(t.name, t.type, ne, data);
    if (!st) throw std::runtime_error(st.error().to_string());
  }
  for (auto& [name, values] : extra) {
    std::vector<uint8_t> data(values.size() * 4);
    std::memcpy(data.data(), values.data(), data.size());
    auto st = w.add_tensor(name, TensorType::F32, {values.size()}, data);
    if (!st) throw std::runtime_error(st.error().to_string());
  }
  return file_of(w);
}

KeyEdit set_key(const std::string& key, Value nv) {
  return [key, nv](const std::string& k, Value& v) {
    if (k == key) v = nv;
    return true;
  };
}
KeyEdit drop_key(const std::string& key) {
  return [key](const std::string& k, Value&) { return k != key; };
}
gguf::File with_key(const gguf::File& f, const std::string& key, Value v) {
  gguf::Writer w;
  for (const auto& kv : f.metadata()) w.set(kv.key, kv.value);
  w.set(key, v);
  for (const auto& t : f.tensors()) {
    auto st = w.add_tensor(t.name, t.type, std::vector<uint64_t>(t.ne.begin(), t.ne.begin() + t.n_dims),
                           std::vector<uint8_t>(t.data, t.data + t.n_bytes));
    if (!st) throw std::runtime_error(st.error().to_string());
  }
  return file_of(w);
}

Error load_error(const gguf::File& f) {
  auto m = Model::from_gguf(f);
  if (m) return Error{"ok", "loaded"};
  return m.error();
}

std::vector<float> last_logits(const Model& m, kernels::Backend& be, std::span<const int32_t> ids) {
  auto s = Session::create(m, be, int(ids.size()));
  if (!s) throw std::runtime_error(s.error().to_string());
  std::vector<float> out;
  auto st = s->eval(ids, Logits::Last, [&](int, std::span<const float> l) { out.assign(l.begin(), l.end()); });
  if (!st) throw std::runtime_error(st.error().to_string());
  return out;
}

const std::vector<int32_t> kIds = {1, 40, 300, 7, 99, 250, 12, 480, 33, 3, 200, 201, 202, 17, 64, 128,
                                   5, 6, 7, 8, 90, 91, 92, 93, 400, 401, 402, 403, 11, 22, 33, 44};

// ---------------------------------------------------------------------------------------
// RoPE with scaling and frequency factors (scalar::rope, shared by the reference and CPU
// backends): against the formula written out.

TEST(EngineArch, RopeWithFrequencyFactorsAndLinearScale) {
  const int head_dim = 8, heads = 2;
  const float factors[4] = {1.f, 2.f, 4.5f, 8.f};
  kernels::RopeParams p{head_dim, 500000.f, false, 0.5f, 1.25f, factors};
  std::vector<float> x(size_t(heads) * head_dim), y;
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.1f * float(i) - 0.4f;
  y = x;
  const int32_t pos[1] = {37};
  kernels::scalar::rope(y.data(), 1, heads, head_dim, pos, p);
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < head_dim / 2; ++i) {
      const double theta = 37.0 * std::pow(500000.0, -2.0 * i / head_dim) * 0.5 / factors[i];
      const double c = std::cos(theta) * 1.25, s = std::sin(theta) * 1.25;
      const double x0 = x[h * head_dim + 2 * i], x1 = x[h * head_dim + 2 * i + 1];
      EXPECT_NEAR(y[h * head_dim + 2 * i], x0 * c - x1 * s, 1e-6);
      EXPECT_NEAR(y[h * head_dim + 2 * i + 1], x0 * s + x1 * c, 1e-6);
    }
  // No factors, no scale: exactly the plain rotation's bits.
  std::vector<float> a = x, b = x;
  kernels::scalar::rope(a.data(), 1, heads, head_dim, pos, kernels::RopeParams{head_dim, 10000.f, true});
  kernels::RopeParams q{head_dim, 10000.f, true, 1.f, 1.f, nullptr};
  kernels::scalar::rope(b.data(), 1, heads, head_dim, pos, q);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4));
}

TEST(EngineArch, Llama3FactorsAsTheConverterComputesThem) {
  auto s = small("llama");
  s.rope_scaling = "llama3";
  s.rope_orig_ctx = 8192;
  s.dim = 512;
  s.heads = 4;  // head_dim 128, base 500000: Llama 3.1 8B's table
  const auto ff = gguf::llama3_rope_freqs(s);
  ASSERT_EQ(ff.size(), 64u);
  EXPECT_EQ(ff.front(), 1.0f);   // short wavelengths untouched
  EXPECT_EQ(ff.back(), 8.0f);    // long ones divided by the factor
  for (size_t i = 1; i < ff.size(); ++i) EXPECT_GE(ff[i], ff[i - 1]);
  int smooth = 0;
  for (float f : ff) smooth += f > 1.0f && f < 8.0f;
  EXPECT_GT(smooth, 0);  // and a blend between
}

TEST(EngineArch, Llama3ModelReadsRopeFreqs) {
  auto s = small("llama");
  s.rope_scaling = "llama3";
  s.rope_orig_ctx = 16;
  auto m = Model::from_gguf(file_of(s));
  ASSERT_TRUE(m.has_value()) << m.error().to_string();
  const auto& c = m->config();
  EXPECT_EQ(c.rope.freq_base, 500000.f);
  ASSERT_NE(c.rope.freq_factors, nullptr);
  const auto ff = gguf::llama3_rope_freqs(s);
  for (size_t i = 0; i < ff.size(); ++i) EXPECT_EQ(c.rope.freq_factors[i], ff[i]);
  EXPECT_FALSE(c.rope.neox);
}

// The new paths (frequency factors, per-head norm, head_dim != dim/heads) on both backends:
// fast vs reference within float noise, and the fast one bitwise batch-invariant.
TEST(EngineArch, NewGraphsAgreeAcrossBackendsAndBatches) {
  auto l3 = small("llama");
  l3.rope_scaling = "llama3";
  l3.rope_orig_ctx = 16;
  auto q3 = small("qwen3");
  q3.head_dim = 32;
  for (const auto& spec : {l3, q3}) {
    SCOPED_TRACE(spec.arch);
    auto m = Model::from_gguf(file_of(spec));
    ASSERT_TRUE(m.has_value()) << m.error().to_string();
    auto cpu = kernels::make_backend({kernels::BackendKind::Cpu, 2});
    auto ref = kernels::make_backend({kernels::BackendKind::Reference, 1});
    ASSERT_TRUE(cpu && ref);
    const auto a = last_logits(*m, **cpu, kIds);
    const auto b = last_logits(*m, **ref, kIds);
    ASSERT_EQ(a.size(), b.size());
    double max_diff = 0;
    for (size_t i = 0; i < a.size(); ++i) max_diff = std::max(max_diff, double(std::fabs(a[i] - b[i])));
    EXPECT_LT(max_diff, 1e-3);
    // token by token == one prefill, bit for bit
    auto s = Session::create(*m, **cpu, int(kIds.size()));
    ASSERT_TRUE(s.has_value());
    std::vector<float> step;
    for (int32_t t : kIds) {
      const int32_t one[1] = {t};
      ASSERT_TRUE(s->eval(one, Logits::Last, [&](int, std::span<const float> l) { step.assign(l.begin(), l.end()); }));
    }
    EXPECT_EQ(0, std::memcmp(step.data(), a.data(), a.size() * 4));
  }
}

TEST(EngineArch, Qwen3ReadsKeyLengthAndNorms) {
  auto s = small("qwen3");
  s.head_dim = 32;
  auto m = Model::from_gguf(file_of(s));
  ASSERT_TRUE(m.has_value()) << m.error().to_string();
  const auto& c = m->config();
  EXPECT_EQ(c.arch, Arch::Qwen3);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.q_dim(), 128);
  EXPECT_EQ(c.kv_dim(), 64);
  EXPECT_TRUE(c.rope.neox);
  EXPECT_EQ(c.rope.rope_dim, 32);
  for (const auto& l : m->layers()) {
    EXPECT_NE(l.q_norm, nullptr);
    EXPECT_NE(l.k_norm, nullptr);
    EXPECT_EQ(l.bq, nullptr);
  }
  // The norms are used: a model whose q/k norm weights are all 1 gives other logits.
  auto ones = rewrite(file_of(s), nullptr);
  gguf::Writer w;
  for (const auto& kv : ones.metadata()) w.set(kv.key, kv.value);
  for (const auto& t : ones.tensors()) {
    std::vector<uint8_t> data(t.data, t.data + t.n_bytes);
    if (t.name.find("_norm.weight") != std::string::npos && t.name.find("attn_q_norm") != std::string::npos) {
      std::vector<float> v(t.ne[0], 1.0f);
      std::memcpy(data.data(), v.data(), data.size());
    }
    ASSERT_TRUE(w.add_tensor(t.name, t.type, std::vector<uint64_t>(t.ne.begin(), t.ne.begin() + t.n_dims), data));
  }
  auto m1 = Model::from_gguf(file_of(w));
  ASSERT_TRUE(m1.has_value());
  auto cpu = kernels::make_backend({kernels::BackendKind::Cpu, 1});
  ASSERT_TRUE(cpu.has_value());
  EXPECT_NE(last_logits(*m, **cpu, kIds), last_logits(*m1, **cpu, kIds));
}

TEST(EngineArch, RopeScalingKeys) {
  const auto base = file_of(small("qwen2"));
  // linear (llama.cpp's default type): freq_scale = 1 / factor
  auto lin = Model::from_gguf(with_key(base, "qwen2.rope.scaling.factor", Value::of_f32(4.0f)));
  ASSERT_TRUE(lin.has_value()) << lin.error().to_string();
  EXPECT_EQ(lin->config().rope.freq_scale, 0.25f);
  // "none" ignores the factor
  auto none = Model::from_gguf(with_key(with_key(base, "qwen2.rope.scaling.factor", Value::of_f32(4.0f)),
                                        "qwen2.rope.scaling.type", Value::of_string("none")));
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->config().rope.freq_scale, 1.0f);
  // YaRN (Qwen2.5's long-context recipe when a converter declares it) and LongRoPE: refused by name
  for (const char* t : {"yarn", "longrope"}) {
    const Error e = load_error(with_key(base, "qwen2.rope.scaling.type", Value::of_string(t)));
    EXPECT_EQ(e.code, "gguf.unsupported_rope_scaling") << t;
    EXPECT_NE(e.message.find("qwen2.rope.scaling.type"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(t), std::string::npos) << e.message;
  }
  EXPECT_EQ(load_error(with_key(base, "qwen2.rope.scaling.type", Value::of_string("bogus"))).code, "gguf.bad_hparam");
  // Qwen2.5's long-context keys that change nothing here load: freq base and context length.
  auto long_ctx = Model::from_gguf(with_key(with_key(base, "qwen2.context_length", Value::of_u32(32768)),
                                            "qwen2.rope.freq_base", Value::of_f32(1000000.0f)));
  ASSERT_TRUE(long_ctx.has_value());
  EXPECT_EQ(long_ctx->config().context, 32768);
  EXPECT_EQ(long_ctx->config().rope.freq_base, 1000000.0f);
}

TEST(EngineArch, SlidingWindowIsRefusedWhenItWouldMatter) {
  const auto base = file_of(small("qwen2"));  // context 256
  const Error e = load_error(with_key(base, "qwen2.attention.sliding_window", Value::of_u32(128)));
  EXPECT_EQ(e.code, "gguf.unsupported_hparam");
  EXPECT_NE(e.message.find("sliding_window"), std::string::npos) << e.message;
  EXPECT_TRUE(Model::from_gguf(with_key(base, "qwen2.attention.sliding_window", Value::of_u32(256))).has_value());
}

TEST(EngineArch, EndOfGenerationIds) {
  // The BPE synthetic vocab's specials include <|endoftext|>; declared eot/eom ids join eos.
  auto f = with_key(with_key(file_of(small("qwen3")), "tokenizer.ggml.eot_token_id", Value::of_u32(300)),
                    "tokenizer.ggml.eom_token_id", Value::of_u32(301));
  auto m = Model::from_gguf(f);
  ASSERT_TRUE(m.has_value());
  const auto& c = m->config();
  EXPECT_TRUE(c.is_eog(c.eos_id));
  EXPECT_TRUE(c.is_eog(300));
  EXPECT_TRUE(c.is_eog(301));
  EXPECT_FALSE(c.is_eog(299));
  // Found by their text too, as llama.cpp does: a chat turn's end and DeepSeek's end of sentence.
  const gguf::File plain = file_of(small("qwen3"));
  Value toks = *plain.find("tokenizer.ggml.tokens");
  toks.items[300].str = "<|im_end|>";
  toks.items[301].str = "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>";
  toks.items[302].str = "<|eot_id|>x";  // not the text
  auto by_text = Model::from_gguf(with_key(plain, "tokenizer.ggml.tokens", toks));
  ASSERT_TRUE(by_text.has_value()) << by_text.error().to_string();
  EXPECT_TRUE(by_text->config().is_eog(300));
  EXPECT_TRUE(by_text->config().is_eog(301));
  EXPECT_FALSE(by_text->config().is_eog(302));
  // Generation stops at the first end-of-generation id, whichever it is.
  auto be = kernels::make_backend({kernels::BackendKind::Cpu, 1});
  ASSERT_TRUE(be.has_value());
  ig::SamplingParams p;
  p.max_tokens = 8;
  const std::vector<int32_t> prompt = {40, 41, 42};
  auto free_run = generate(*m, **be, prompt, p, std::span<const int32_t>());
  ASSERT_TRUE(free_run.has_value());
  ASSERT_EQ(free_run->tokens.size(), 8u);
  const int32_t third = free_run->tokens[2];
  auto f2 = with_key(f, "tokenizer.ggml.eot_token_id", Value::of_u32(uint32_t(third)));
  auto m2 = Model::from_gguf(f2);
  ASSERT_TRUE(m2.has_value());
  ASSERT_TRUE(m2->config().is_eog(third));
  auto stopped = generate(*m2, **be, prompt, p, m2->config().eog_ids);
  ASSERT_TRUE(stopped.has_value());
  EXPECT_TRUE(stopped->stopped_on_eos);
  const size_t first_eog = size_t(std::find_if(free_run->tokens.begin(), free_run->tokens.end(),
                                               [&](int32_t t) { return m2->config().is_eog(t); }) -
                                  free_run->tokens.begin());
  EXPECT_EQ(stopped->tokens.size(), first_eog + 1);
  EXPECT_LE(stopped->tokens.size(), 3u);
}

// ---------------------------------------------------------------------------------------
// Bad input: named errors, no crash.

TEST(EngineArch, UnsupportedArchitectureIsNamed) {
  for (const char* arch : {"gemma2", "phi3", "qwen2moe", "deepseek2"}) {
    const Error e = load_error(rewrite(file_of(small("llama")), set_key("general.architecture", Value::of_string(arch))));
    EXPECT_EQ(e.code, "gguf.unsupported_arch");
    EXPECT_NE(e.message.find(arch), std::string::npos) << e.message;
  }
}

TEST(EngineArch, MissingRequiredKeyIsNamed) {
  for (const char* key : {"qwen3.embedding_length", "qwen3.block_count", "qwen3.attention.head_count",
                          "qwen3.feed_forward_length", "qwen3.context_length",
                          "qwen3.attention.layer_norm_rms_epsilon"}) {
    const Error e = load_error(rewrite(file_of(small("qwen3")), drop_key(key)));
    EXPECT_EQ(e.code, "gguf.missing_key") << key;
    EXPECT_NE(e.message.find(key), std::string::npos) << e.message;
  }
}

TEST(EngineArch, InconsistentShapesAndTensorsAreNamed) {
  auto q3 = small("qwen3");
  const auto f = file_of(q3);
  // a per-head norm of the wrong length
  Error e = load_error(rewrite(f, nullptr, {{"blk.1.attn_k_norm.weight", false, {8}}}));
  EXPECT_EQ(e.code, "engine.bad_shape");
  EXPECT_NE(e.message.find("blk.1.attn_k_norm.weight"), std::string::npos) << e.message;
  // a missing one
  e = load_error(rewrite(f, nullptr, {{"blk.0.attn_q_norm.weight", true, {}}}));
  EXPECT_EQ(e.code, "gguf.missing_tensor");
  EXPECT_NE(e.message.find("blk.0.attn_q_norm.weight"), std::string::npos) << e.message;
  // a head dimension that does not match the matrices
  const auto hd32 = with_key(with_key(f, "qwen3.attention.key_length", Value::of_u32(32)),
                             "qwen3.attention.value_length", Value::of_u32(32));
  e = load_error(hd32);  // rope.dimension_count still 16
  EXPECT_EQ(e.code, "gguf.bad_hparam");
  EXPECT_NE(e.message.find("qwen3.rope.dimension_count"), std::string::npos) << e.message;
  e = load_error(with_key(hd32, "qwen3.rope.dimension_count", Value::of_u32(32)));
  EXPECT_EQ(e.code, "engine.bad_shape");
  EXPECT_NE(e.message.find("blk.0.attn_q.weight"), std::string::npos) << e.message;
  // key_length != value_length
  e = load_error(with_key(f, "qwen3.attention.value_length", Value::of_u32(8)));
  EXPECT_EQ(e.code, "gguf.unsupported_hparam");
  EXPECT_NE(e.message.find("value_length"), std::string::npos) << e.message;
  // a tensor of another graph: qwen2 biases in a qwen3 file, rope_freqs in a qwen2 file
  e = load_error(rewrite(f, nullptr, {}, {{"blk.0.attn_q.bias", std::vector<float>(128, 0.f)}}));
  EXPECT_EQ(e.code, "engine.unexpected_tensor");
  EXPECT_NE(e.message.find("blk.0.attn_q.bias"), std::string::npos) << e.message;
  e = load_error(rewrite(file_of(small("qwen2")), nullptr, {}, {{"rope_freqs.weight", std::vector<float>(8, 1.f)}}));
  EXPECT_EQ(e.code, "engine.unexpected_tensor");
  EXPECT_NE(e.message.find("rope_freqs.weight"), std::string::npos) << e.message;
  // rope_freqs of the wrong length, and with a non-positive factor
  const auto llama = file_of(small("llama"));
  e = load_error(rewrite(llama, nullptr, {}, {{"rope_freqs.weight", std::vector<float>(5, 1.f)}}));
  EXPECT_EQ(e.code, "engine.bad_shape");
  EXPECT_NE(e.message.find("rope_freqs.weight"), std::string::npos) << e.message;
  e = load_error(rewrite(llama, nullptr, {}, {{"rope_freqs.weight", std::vector<float>{1, 1, 0, 1, 1, 1, 1, 1}}}));
  EXPECT_EQ(e.code, "engine.bad_tensor");
  // llama's rope dimension must be the head dimension (llama.cpp: "invalid n_rot")
  e = load_error(rewrite(llama, set_key("llama.rope.dimension_count", Value::of_u32(8))));
  EXPECT_EQ(e.code, "gguf.bad_hparam");
  EXPECT_NE(e.message.find("rope.dimension_count"), std::string::npos) << e.message;
  // qwen2 without its biases
  e = load_error(rewrite(file_of(small("qwen2")), nullptr, {{"blk.1.attn_v.bias", true, {}}}));
  EXPECT_EQ(e.code, "gguf.missing_tensor");
  EXPECT_NE(e.message.find("blk.1.attn_v.bias"), std::string::npos) << e.message;
}

// Perplexity, as llama.cpp computes it, against the definition written out.
TEST(EngineArch, PerplexityIsTheSecondHalfOfEachChunk) {
  auto m = Model::from_gguf(file_of(small("llama")));
  ASSERT_TRUE(m.has_value());
  auto be = kernels::make_backend({kernels::BackendKind::Cpu, 1});
  ASSERT_TRUE(be.has_value());
  std::vector<int32_t> toks = {1};
  for (int i = 0; i < 70; ++i) toks.push_back(3 + (i * 37) % 500);
  PerplexityOptions po;
  po.ctx = 32;
  auto r = perplexity(*m, **be, toks, po);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->chunks, 2);          // 71 tokens / 32, tail dropped
  EXPECT_EQ(r->scored, 2 * 15);     // positions 16..30 predict 17..31
  double nll = 0;
  for (int c = 0; c < 2; ++c) {
    std::vector<int32_t> chunk(toks.begin() + c * 32, toks.begin() + c * 32 + 32);
    chunk[0] = m->config().bos_id;
    auto s = Session::create(*m, **be, 32);
    ASSERT_TRUE(s.has_value());
    ASSERT_TRUE(s->eval(chunk, Logits::All, [&](int p, std::span<const float> l) {
      if (p >= 16 && p <= 30) nll += token_nll(l, toks[size_t(c * 32 + p + 1)]);
    }));
  }
  EXPECT_NEAR(r->nll, nll / 30, 1e-12);
  EXPECT_NEAR(r->perplexity, std::exp(nll / 30), 1e-9);
  EXPECT_EQ(r->running.size(), 2u);
  // too short: fewer than 2 * ctx tokens
  po.ctx = 64;
  EXPECT_EQ(perplexity(*m, **be, toks, po).error().code, "perplexity.too_short");
  po.ctx = 1024;  // beyond the model's context
  EXPECT_EQ(perplexity(*m, **be, toks, po).error().code, "perplexity.bad_ctx");
}

}  // namespace
}  // namespace ig::engine
