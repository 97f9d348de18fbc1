// llama.cpp's test-tokenizer-0 vectors: every input of the .inp file must encode
// (without BOS) to exactly the ids on the same line of the .out file.
#include <gtest/gtest.h>

#include "inference/gguf/gguf.hpp"
#include "inference/tokenizer/tokenizer.hpp"
#include "vectors.hpp"

namespace {
using ig::test::kTokenizerDir;

ig::tok::Tokenizer load(const std::string& name) {
  auto f = ig::gguf::File::open(kTokenizerDir + name);
  EXPECT_TRUE(f.has_value()) << (f ? "" : f.error().to_string());
  auto t = ig::tok::Tokenizer::from_gguf(*f);
  EXPECT_TRUE(t.has_value()) << (t ? "" : t.error().to_string());
  return *t;
}

void check_all_lines(const std::string& vocab, bool exact_roundtrip) {
  const auto tok = load(vocab);
  const auto ins = ig::test::vector_inputs(kTokenizerDir + vocab + ".inp");
  const auto outs = ig::test::vector_ids(kTokenizerDir + vocab + ".out");
  ASSERT_EQ(ins.size(), 46u);
  ASSERT_EQ(outs.size(), ins.size());
  for (size_t k = 0; k < ins.size(); ++k) {
    auto ids = tok.encode(ins[k], /*add_bos=*/false);
    ASSERT_TRUE(ids.has_value()) << ids.error().to_string();
    EXPECT_EQ(*ids, outs[k]) << "line " << k << " input '" << ins[k] << "'";
    auto text = tok.decode(*ids);
    ASSERT_TRUE(text.has_value());
    // SPM decodes the dummy-prefix space back; byte-level BPE is lossless.
    const std::string want = exact_roundtrip || ins[k].empty() ? ins[k] : " " + ins[k];
    EXPECT_EQ(*text, want) << "line " << k;
  }
}
}  // namespace

TEST(TokenizerVocabFiles, LlamaSpmReproducesEveryLine) { check_all_lines("ggml-vocab-llama-spm.gguf", false); }

TEST(TokenizerVocabFiles, Gpt2ReproducesEveryLine) { check_all_lines("ggml-vocab-gpt-2.gguf", true); }

TEST(TokenizerVocabFiles, HelloWorldExamples) {
  EXPECT_EQ(*load("ggml-vocab-llama-spm.gguf").encode("Hello world", false), (std::vector<int32_t>{15043, 3186}));
  EXPECT_EQ(*load("ggml-vocab-gpt-2.gguf").encode("Hello world", false), (std::vector<int32_t>{15496, 995}));
}

TEST(TokenizerVocabFiles, SpmMetadataDefaults) {
  const auto tok = load("ggml-vocab-llama-spm.gguf");
  EXPECT_EQ(tok.vocab_size(), 32000u);
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_TRUE(tok.vocab().add_bos);
  EXPECT_EQ(*tok.encode_default("Hello world"), (std::vector<int32_t>{1, 15043, 3186}));
  EXPECT_TRUE(tok.is_end_of_generation(2));
  EXPECT_FALSE(tok.is_end_of_generation(1));
}

TEST(TokenizerVocabFiles, Gpt2SpecialTokens) {
  const auto tok = load("ggml-vocab-gpt-2.gguf");
  EXPECT_EQ(tok.bos(), 50256);
  EXPECT_EQ(tok.eos(), 50256);
  EXPECT_FALSE(tok.vocab().add_bos);
  // Without parse_special the marker is ordinary text; with it, one token.
  auto plain = tok.encode("a<|endoftext|>", false, false);
  auto special = tok.encode("a<|endoftext|>", false, true);
  ASSERT_TRUE(plain && special);
  EXPECT_GT(plain->size(), 2u);
  EXPECT_EQ(*special, (std::vector<int32_t>{64, 50256}));
  EXPECT_EQ(*tok.token_text(50256), "<|endoftext|>");
}

TEST(TokenizerVocabFiles, SpmByteFallbackForUnknownCharacters) {
  const auto tok = load("ggml-vocab-llama-spm.gguf");
  // U+1F9D9 is not a piece of the Llama-2 vocab: its four UTF-8 bytes become <0xF0> <0x9F> <0xA7> <0x99>.
  auto ids = tok.encode("\xf0\x9f\xa7\x99", false);
  ASSERT_TRUE(ids.has_value());
  ASSERT_EQ(ids->size(), 5u);  // "▁" then four bytes
  EXPECT_EQ((*ids)[1], 0xF0 + 3);
  EXPECT_EQ((*ids)[4], 0x99 + 3);
  EXPECT_EQ(*tok.decode(*ids), " \xf0\x9f\xa7\x99");
}
