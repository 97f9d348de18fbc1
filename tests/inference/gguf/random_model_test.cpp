// Random-weight models: llama.cpp tensor names and shapes, F32 norms/biases,
// valid metadata, deterministic bytes, and shape validation.
#include <gtest/gtest.h>

#include <cmath>

#include "inference/gguf/quant.hpp"
#include "inference/gguf/random_model.hpp"

namespace {
using ig::gguf::File;
using ig::gguf::RandomModelSpec;
using ig::gguf::TensorType;

RandomModelSpec small(const std::string& arch, TensorType type) {
  RandomModelSpec s;
  s.arch = arch;
  s.type = type;
  s.dim = 64;
  s.layers = 2;
  s.heads = 4;
  s.kv_heads = 2;
  s.ffn = 96;
  s.vocab = 300;
  s.ctx = 128;
  s.seed = 5;
  return s;
}

File build(const RandomModelSpec& s) {
  auto w = ig::gguf::build_random_model(s);
  EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().to_string());
  auto f = File::from_bytes(*w->to_bytes());
  EXPECT_TRUE(f.has_value()) << (f ? "" : f.error().to_string());
  return *f;
}

std::string code_of(const RandomModelSpec& s) {
  auto st = ig::gguf::validate(s);
  return st ? "ok" : st.error().code + " " + st.error().message;
}
}  // namespace

TEST(GgufRandomModel, LlamaTensorsAndParamsInEveryType) {
  for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::Q8_0, TensorType::Q4_0}) {
    const File f = build(small("llama", type));
    auto p = ig::gguf::read_model_params(f);
    ASSERT_TRUE(p.has_value()) << p.error().to_string();
    EXPECT_EQ(p->n_embd, 64u);
    EXPECT_EQ(p->n_layer, 2u);
    EXPECT_EQ(p->n_head, 4u);
    EXPECT_EQ(p->n_head_kv, 2u);
    EXPECT_EQ(p->n_ff, 96u);
    EXPECT_EQ(p->n_vocab, 300u);
    EXPECT_EQ(p->rope_dim, 16u);
    EXPECT_EQ(p->rope_freq_base, 10000.0f);
    EXPECT_EQ(f.tensors().size(), 3u + 2u * 9u);
    const auto* k = *f.get_tensor("blk.1.attn_k.weight");
    EXPECT_EQ(k->type, type);
    EXPECT_EQ(k->ne[0], 64u);
    EXPECT_EQ(k->ne[1], 32u);  // kv_heads * head_dim
    const auto* down = *f.get_tensor("blk.0.ffn_down.weight");
    EXPECT_EQ(down->ne[0], 96u);
    EXPECT_EQ(down->ne[1], 64u);
    EXPECT_EQ((*f.get_tensor("output.weight"))->ne[1], 300u);
    EXPECT_EQ((*f.get_tensor("blk.0.attn_norm.weight"))->type, TensorType::F32);
    EXPECT_EQ((*f.get_tensor("output_norm.weight"))->n_dims, 1u);
    EXPECT_EQ(f.find_tensor("blk.0.attn_q.bias"), nullptr);
  }
}

TEST(GgufRandomModel, Qwen2HasBiasesAndOptionalTiedOutput) {
  auto s = small("qwen2", TensorType::Q8_0);
  s.tied = true;
  const File f = build(s);
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);
  const auto* qb = *f.get_tensor("blk.0.attn_q.bias");
  EXPECT_EQ(qb->type, TensorType::F32);
  EXPECT_EQ(qb->ne[0], 64u);
  EXPECT_EQ((*f.get_tensor("blk.1.attn_v.bias"))->ne[0], 32u);
  auto p = ig::gguf::read_model_params(f);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->arch, "qwen2");
  EXPECT_EQ(p->rope_freq_base, 1000000.0f);
  EXPECT_EQ(*f.get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(*f.get_uint("general.file_type"), 7u);
}

TEST(GgufRandomModel, WeightsAreDeterministicAndScaled) {
  const auto a = *ig::gguf::build_random_model(small("llama", TensorType::F32))->to_bytes();
  const auto b = *ig::gguf::build_random_model(small("llama", TensorType::F32))->to_bytes();
  EXPECT_EQ(a, b);
  auto other = small("llama", TensorType::F32);
  other.seed = 6;
  EXPECT_NE(a, *ig::gguf::build_random_model(other)->to_bytes());

  const File f = *File::from_bytes(a);
  const auto* q = *f.get_tensor("blk.0.attn_q.weight");
  const auto* w = reinterpret_cast<const float*>(q->data);
  const float limit = std::sqrt(3.0f / 64.0f);
  double sum2 = 0;
  for (uint64_t k = 0; k < q->n_elements(); ++k) {
    ASSERT_LE(std::fabs(w[k]), limit);
    sum2 += w[k] * w[k];
  }
  // Uniform(-l, l) has variance l^2/3 = 1/dim.
  EXPECT_NEAR(sum2 / q->n_elements(), 1.0 / 64.0, 0.1 / 64.0);
  const auto* norm = reinterpret_cast<const float*>((*f.get_tensor("output_norm.weight"))->data);
  for (int k = 0; k < 64; ++k) EXPECT_NEAR(norm[k], 1.0f, 0.1f);
}

TEST(GgufRandomModel, QuantizedWeightsDequantizeNearF32) {
  const File f32 = build(small("llama", TensorType::F32));
  const File q8 = build(small("llama", TensorType::Q8_0));
  const auto* a = *f32.get_tensor("blk.1.ffn_up.weight");
  const auto* b = *q8.get_tensor("blk.1.ffn_up.weight");
  std::vector<float> row(64);
  ASSERT_TRUE(ig::gguf::dequantize_row(TensorType::Q8_0, b->data, row.data(), 64));
  const auto* ref = reinterpret_cast<const float*>(a->data);
  for (int k = 0; k < 64; ++k) EXPECT_NEAR(row[k], ref[k], 0.01f);
}

TEST(GgufRandomModel, ValidatesShapes) {
  EXPECT_EQ(code_of(small("llama", TensorType::F32)), "ok");
  auto s = small("mistral", TensorType::F32);
  EXPECT_NE(code_of(s).find("gguf.bad_spec"), std::string::npos);
  s = small("llama", TensorType::F32);
  s.heads = 5;
  EXPECT_NE(code_of(s).find("multiple of heads"), std::string::npos);
  s = small("llama", TensorType::F32);
  s.kv_heads = 3;
  EXPECT_NE(code_of(s).find("kv-heads"), std::string::npos);
  s = small("llama", TensorType::Q4_0);
  s.ffn = 100;
  EXPECT_NE(code_of(s).find("multiples of 32"), std::string::npos);
  s = small("llama", TensorType::F32);
  s.dim = 36;
  s.heads = 4;  // head_dim 9 is odd
  EXPECT_NE(code_of(s).find("even"), std::string::npos);
  s = small("llama", TensorType::F32);
  s.vocab = 100;
  EXPECT_NE(code_of(s).find("vocab"), std::string::npos);
  s = small("llama", TensorType::Q2_K);  // Q4_K/Q5_K/Q6_K are written (engine_kquant_test)
  EXPECT_NE(code_of(s).find("type"), std::string::npos);
  s = small("llama", TensorType::F32);
  s.layers = 0;
  EXPECT_NE(code_of(s).find("positive"), std::string::npos);
}
