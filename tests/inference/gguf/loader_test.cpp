// The loader against the real files in shared/data, whose headers SOURCES.md documents.
#include <gtest/gtest.h>

#include <cstring>

#include "inference/gguf/gguf.hpp"

namespace {
using ig::gguf::File;
using ig::gguf::TensorType;
using ig::gguf::ValueType;

const std::string kData = INFERGRID_SHARED_DATA;

File open_ok(const std::string& rel) {
  auto f = File::open(kData + "/" + rel);
  EXPECT_TRUE(f.has_value()) << (f ? "" : f.error().to_string());
  return *f;
}
}  // namespace

TEST(GgufLoader, Stories260KHeader) {
  const File f = open_ok("models/stories260K.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.metadata().size(), 19u);
  EXPECT_EQ(f.tensors().size(), 48u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset(), 14176u);
  EXPECT_EQ(f.file_size(), 1185376u);
  EXPECT_FALSE(f.has("general.alignment"));
  EXPECT_EQ(*f.architecture(), "llama");
  EXPECT_EQ(*f.get_uint("llama.embedding_length"), 64u);
  EXPECT_FLOAT_EQ(static_cast<float>(*f.get_float("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
  EXPECT_EQ(*f.get_uint("tokenizer.ggml.padding_token_id"), 0xFFFFFFFFu);
  uint64_t total = 0;
  for (const auto& t : f.tensors()) {
    EXPECT_EQ(t.type, TensorType::F32) << t.name;
    total += t.n_bytes;
  }
  EXPECT_EQ(f.data_offset() + total, f.file_size());
}

TEST(GgufLoader, Stories260KTensors) {
  const File f = open_ok("models/stories260K.gguf");
  const auto* emb = f.find_tensor("token_embd.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->n_dims, 2u);
  EXPECT_EQ(emb->ne[0], 64u);
  EXPECT_EQ(emb->ne[1], 512u);
  EXPECT_EQ(emb->offset, 0u);
  EXPECT_EQ(emb->n_bytes, 64u * 512u * 4u);
  EXPECT_EQ(emb->data, f.raw().data() + 14176);
  const auto* out = f.find_tensor("output.weight");
  ASSERT_NE(out, nullptr);
  // The original model ties these: the bytes are identical.
  EXPECT_EQ(std::memcmp(emb->data, out->data, emb->n_bytes), 0);
  const auto* q = *f.get_tensor("blk.0.attn_q.weight");
  EXPECT_EQ(q->offset, 262400u);
  const auto* k = *f.get_tensor("blk.4.attn_k.weight");
  EXPECT_EQ(k->ne[0], 64u);
  EXPECT_EQ(k->ne[1], 32u);
  const auto* down = *f.get_tensor("blk.2.ffn_down.weight");
  EXPECT_EQ(down->ne[0], 172u);
  EXPECT_EQ(down->ne[1], 64u);
  EXPECT_EQ(f.find_tensor("blk.5.attn_q.weight"), nullptr);
  EXPECT_EQ(f.get_tensor("nope").error().code, "gguf.missing_tensor");
}

TEST(GgufLoader, Stories260KModelParams) {
  auto p = ig::gguf::read_model_params(open_ok("models/stories260K.gguf"));
  ASSERT_TRUE(p.has_value()) << p.error().to_string();
  EXPECT_EQ(p->arch, "llama");
  EXPECT_EQ(p->n_embd, 64u);
  EXPECT_EQ(p->n_layer, 5u);
  EXPECT_EQ(p->n_head, 8u);
  EXPECT_EQ(p->n_head_kv, 4u);
  EXPECT_EQ(p->n_ff, 172u);
  EXPECT_EQ(p->n_ctx, 2048u);
  EXPECT_EQ(p->n_vocab, 512u);
  EXPECT_EQ(p->head_dim, 8u);
  EXPECT_EQ(p->rope_dim, 8u);
  EXPECT_EQ(p->rope_freq_base, 10000.0f);
  EXPECT_EQ(p->rms_eps, 1e-5f);
}

TEST(GgufLoader, TinyRandomF16) {
  const File f = open_ok("models/llama-2-tiny-random.gguf");
  EXPECT_EQ(f.metadata().size(), 18u);
  EXPECT_EQ(f.tensors().size(), 12u);
  EXPECT_EQ(f.data_offset(), 724416u);
  EXPECT_EQ(*f.get_uint("general.file_type"), 1u);
  const auto* emb = *f.get_tensor("token_embd.weight");
  EXPECT_EQ(emb->type, TensorType::F16);
  EXPECT_EQ(emb->ne[1], 32000u);
  EXPECT_EQ(emb->n_bytes, 8u * 32000u * 2u);
  EXPECT_EQ((*f.get_tensor("output_norm.weight"))->type, TensorType::F32);
  auto p = ig::gguf::read_model_params(f);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->n_vocab, 32000u);
  EXPECT_EQ(p->rope_dim, 4u);
}

TEST(GgufLoader, VocabOnlyFilesEndBeforeDataStart) {
  for (const char* name : {"tokenizers/ggml-vocab-llama-spm.gguf", "tokenizers/ggml-vocab-gpt-2.gguf"}) {
    const File f = open_ok(name);
    EXPECT_TRUE(f.tensors().empty());
    EXPECT_GT(f.data_offset(), f.file_size()) << name;
  }
  const File spm = open_ok("tokenizers/ggml-vocab-llama-spm.gguf");
  EXPECT_EQ(spm.get_string_array("tokenizer.ggml.tokens")->size(), 32000u);
  EXPECT_EQ(spm.get_float_array("tokenizer.ggml.scores")->size(), 32000u);
  EXPECT_EQ((*spm.get_int_array("tokenizer.ggml.token_type"))[1], 3);
  EXPECT_TRUE(*spm.get_bool("tokenizer.ggml.add_bos_token"));
  const File gpt2 = open_ok("tokenizers/ggml-vocab-gpt-2.gguf");
  const auto merges = *gpt2.get_string_array("tokenizer.ggml.merges");
  ASSERT_EQ(merges.size(), 50000u);
  EXPECT_EQ(merges[0], "\xc4\xa0 t");
  // gpt2 is not a model architecture this engine runs.
  EXPECT_EQ(ig::gguf::read_model_params(gpt2).error().code, "gguf.unsupported_arch");
}

TEST(GgufLoader, TypedAccessorsCheckKinds) {
  const File f = open_ok("models/stories260K.gguf");
  EXPECT_EQ(f.get_uint("general.name").error().code, "gguf.wrong_type");
  EXPECT_EQ(f.get_string("llama.block_count").error().code, "gguf.wrong_type");
  EXPECT_EQ(f.get_bool("llama.block_count").error().code, "gguf.wrong_type");
  EXPECT_EQ(f.get_uint("no.such.key").error().code, "gguf.missing_key");
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.scores").error().code, "gguf.wrong_type");
  EXPECT_EQ(f.get_float_array("general.name").error().code, "gguf.wrong_type");
  EXPECT_EQ(*f.get_uint_or("llama.rope.freq_base", 7), 7u);
  EXPECT_EQ(f.get_uint_or("general.name", 7).error().code, "gguf.wrong_type");
  EXPECT_EQ(*f.get_float("llama.block_count"), 5.0);  // integers widen to float
  EXPECT_EQ(f.find("tokenizer.ggml.tokens")->type, ValueType::ARRAY);
  EXPECT_EQ(f.find("tokenizer.ggml.tokens")->elem_type, ValueType::STRING);
}

TEST(GgufLoader, OpenErrors) {
  EXPECT_EQ(File::open("/nonexistent/model.gguf").error().code, "gguf.io");
  EXPECT_EQ(File::open("/tmp").error().code, "gguf.io");
  EXPECT_EQ(File::open(kData + "/models/stories260K.greedy.json").error().code, "gguf.bad_magic");
  EXPECT_EQ(File::from_bytes({}).error().code, "gguf.truncated");
}
