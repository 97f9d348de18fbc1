// The vocabularies written into random models are real, working tokenizers.
#include <gtest/gtest.h>

#include "inference/gguf/random_model.hpp"
#include "inference/tokenizer/tokenizer.hpp"

namespace {
ig::tok::Tokenizer tokenizer_of(const std::string& arch, uint32_t vocab) {
  ig::gguf::RandomModelSpec spec;
  spec.arch = arch;
  spec.vocab = vocab;
  spec.dim = 32;
  spec.heads = 2;
  spec.kv_heads = 1;
  spec.ffn = 32;
  spec.layers = 1;
  auto w = ig::gguf::build_random_model(spec);
  EXPECT_TRUE(w.has_value()) << (w ? "" : w.error().to_string());
  auto f = ig::gguf::File::from_bytes(*w->to_bytes());
  EXPECT_TRUE(f.has_value());
  auto t = ig::tok::Tokenizer::from_gguf(*f);
  EXPECT_TRUE(t.has_value()) << (t ? "" : t.error().to_string());
  return *t;
}

const std::string kText = "Once upon a time, there was a little girl named Lily. \xc3\xa9t\xc3\xa9 \xe2\x82\xac" "42!\n";
}  // namespace

TEST(TokenizerSynthetic, SpmRoundTripsAndMerges) {
  for (uint32_t n : {260u, 1000u, 5000u}) {
    auto tok = tokenizer_of("llama", n);
    EXPECT_EQ(tok.vocab_size(), n);
    auto ids = tok.encode(kText, true);
    ASSERT_TRUE(ids.has_value());
    EXPECT_EQ(ids->front(), 1);
    EXPECT_EQ(*tok.decode(*ids), " " + kText);
    for (int32_t id : *ids) EXPECT_LT(static_cast<size_t>(id), n);
    if (n >= 1000) {  // whole common words are single pieces
      EXPECT_EQ(tok.encode("there was a little girl", false)->size(), 5u);
    }
  }
}

TEST(TokenizerSynthetic, BpeRoundTripsAndMerges) {
  for (uint32_t n : {259u, 1000u, 5000u}) {
    auto tok = tokenizer_of("qwen2", n);
    EXPECT_EQ(tok.vocab_size(), n);
    EXPECT_EQ(tok.vocab().pre, "qwen2");
    auto ids = tok.encode(kText, false);
    ASSERT_TRUE(ids.has_value());
    EXPECT_EQ(*tok.decode(*ids), kText);
    if (n >= 1000) {
      EXPECT_EQ(tok.encode("there was a little girl", false)->size(), 5u);
    }
    EXPECT_TRUE(tok.is_end_of_generation(tok.eos()));
    auto chat = tok.encode("<|im_start|>hi<|im_end|>", false, true);
    ASSERT_TRUE(chat.has_value());
    EXPECT_EQ(chat->front(), static_cast<int32_t>(n - 2));
    EXPECT_EQ(chat->back(), static_cast<int32_t>(n - 1));
  }
}
