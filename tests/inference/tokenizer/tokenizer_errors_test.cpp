// Bad vocabularies and bad ids get clear errors; odd input never crashes.
#include <gtest/gtest.h>

#include "inference/gguf/gguf.hpp"
#include "inference/gguf/writer.hpp"
#include "inference/tokenizer/tokenizer.hpp"

namespace {
using ig::gguf::Value;
using ig::gguf::ValueType;
using ig::tok::TokenType;
using ig::tok::Vocab;

Vocab tiny_spm() {
  Vocab v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b", "\xe2\x96\x81" "a", "ab"};
  v.scores = {0, 0, 0, -1, -2, -3, -4, -5};
  v.types = {TokenType::Unknown, TokenType::Control, TokenType::Control, TokenType::Normal,
             TokenType::Normal,  TokenType::Normal,  TokenType::Normal,  TokenType::Normal};
  v.bos = 1;
  v.eos = 2;
  v.unk = 0;
  return v;
}

Vocab tiny_bpe() {
  Vocab v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  v.tokens = {"a", "b", "ab", "\xc4\xa0", "\xc4\xa0" "ab"};  // Ġ = mapped space
  v.merges = {"a b", "\xc4\xa0 ab"};
  return v;
}

std::string code_of(const ig::Expected<ig::tok::Tokenizer>& t) { return t ? "ok" : t.error().code; }

ig::gguf::File file_with(const std::function<void(ig::gguf::Writer&)>& fill) {
  ig::gguf::Writer w;
  fill(w);
  auto bytes = w.to_bytes();
  EXPECT_TRUE(bytes.has_value());
  auto f = ig::gguf::File::from_bytes(*bytes);
  EXPECT_TRUE(f.has_value()) << (f ? "" : f.error().to_string());
  return *f;
}

Value strings(std::vector<std::string> items) {
  std::vector<Value> vals;
  for (auto& s : items) vals.push_back(Value::of_string(s));
  return Value::of_array(ValueType::STRING, std::move(vals));
}
}  // namespace

TEST(TokenizerErrors, TinyVocabulariesWork) {
  auto spm = ig::tok::Tokenizer::from_vocab(tiny_spm());
  ASSERT_TRUE(spm.has_value());
  EXPECT_EQ(*spm->encode("ab a", true), (std::vector<int32_t>{1, 6, 5, 6}));  // ▁a b ▁a: "ab" never forms
  auto bpe = ig::tok::Tokenizer::from_vocab(tiny_bpe());
  ASSERT_TRUE(bpe.has_value());
  EXPECT_EQ(*bpe->encode("ab ab", false), (std::vector<int32_t>{2, 4}));
  EXPECT_EQ(*bpe->decode(std::vector<int32_t>{2, 4}), "ab ab");
}

TEST(TokenizerErrors, RejectsBadVocabularies) {
  auto v = tiny_spm();
  v.model = "bert";
  EXPECT_EQ(code_of(ig::tok::Tokenizer::from_vocab(v)), "tokenizer.unsupported");
  v = tiny_spm();
  v.types.pop_back();
  EXPECT_EQ(code_of(ig::tok::Tokenizer::from_vocab(v)), "tokenizer.bad_vocab");
  v = tiny_spm();
  v.scores.pop_back();
  EXPECT_EQ(code_of(ig::tok::Tokenizer::from_vocab(v)), "tokenizer.bad_vocab");
  v = tiny_spm();
  v.bos = 8;
  EXPECT_EQ(code_of(ig::tok::Tokenizer::from_vocab(v)), "tokenizer.bad_id");
  v = tiny_spm();
  v.tokens.clear();
  EXPECT_EQ(code_of(ig::tok::Tokenizer::from_vocab(v)), "tokenizer.bad_vocab");
  auto b = tiny_bpe();
  b.merges.push_back("nospace");
  EXPECT_EQ(code_of(ig::tok::Tokenizer::from_vocab(b)), "tokenizer.bad_vocab");
  b = tiny_bpe();
  b.pre = "made-up";
  EXPECT_EQ(code_of(ig::tok::Tokenizer::from_vocab(b)), "tokenizer.unsupported_pre");
}

TEST(TokenizerErrors, RejectsBadGgufMetadata) {
  auto no_model = file_with([](auto& w) { w.set("tokenizer.ggml.tokens", strings({"a"})); });
  auto r = ig::tok::Tokenizer::from_gguf(no_model);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, "gguf.missing_key");

  auto wrong_kind = file_with([](auto& w) {
    w.set("tokenizer.ggml.model", Value::of_string("llama"));
    w.set("tokenizer.ggml.tokens", Value::of_array(ValueType::U32, {Value::of_u32(1)}));
  });
  EXPECT_EQ(ig::tok::Tokenizer::from_gguf(wrong_kind).error().code, "gguf.wrong_type");

  auto short_scores = file_with([](auto& w) {
    w.set("tokenizer.ggml.model", Value::of_string("llama"));
    w.set("tokenizer.ggml.tokens", strings({"<unk>", "<s>", "</s>", "a"}));
    w.set("tokenizer.ggml.scores", Value::of_array(ValueType::F32, {Value::of_f32(0)}));
  });
  EXPECT_EQ(ig::tok::Tokenizer::from_gguf(short_scores).error().code, "tokenizer.bad_vocab");

  auto bad_type = file_with([](auto& w) {
    w.set("tokenizer.ggml.model", Value::of_string("llama"));
    w.set("tokenizer.ggml.tokens", strings({"<unk>", "<s>", "</s>"}));
    w.set("tokenizer.ggml.token_type",
          Value::of_array(ValueType::I32, {Value::of_i32(2), Value::of_i32(3), Value::of_i32(9)}));
  });
  EXPECT_EQ(ig::tok::Tokenizer::from_gguf(bad_type).error().code, "tokenizer.bad_vocab");

  auto bad_bos = file_with([](auto& w) {
    w.set("tokenizer.ggml.model", Value::of_string("llama"));
    w.set("tokenizer.ggml.tokens", strings({"<unk>", "<s>", "</s>"}));
    w.set("tokenizer.ggml.bos_token_id", Value::of_u32(7));
  });
  EXPECT_EQ(ig::tok::Tokenizer::from_gguf(bad_bos).error().code, "tokenizer.bad_id");

  auto gpt2_no_merges = file_with([](auto& w) {
    w.set("tokenizer.ggml.model", Value::of_string("gpt2"));
    w.set("tokenizer.ggml.tokens", strings({"a"}));
  });
  EXPECT_EQ(ig::tok::Tokenizer::from_gguf(gpt2_no_merges).error().code, "gguf.missing_key");
}

TEST(TokenizerErrors, BadIdsAndBadText) {
  auto spm = *ig::tok::Tokenizer::from_vocab(tiny_spm());
  EXPECT_EQ(spm.decode(std::vector<int32_t>{1, 8}).error().code, "tokenizer.bad_id");
  EXPECT_EQ(spm.token_to_piece(-1).error().code, "tokenizer.bad_id");
  EXPECT_EQ(spm.token_text(100).error().code, "tokenizer.bad_id");
  // SPM never fails on bytes: characters without pieces fall back to <unk> here (no byte tokens).
  auto ids = spm.encode(std::string("a\xff\x80z", 4), false);
  ASSERT_TRUE(ids.has_value());
  EXPECT_EQ(ids->front(), 6);
  EXPECT_EQ(std::count(ids->begin(), ids->end(), 0), 3);
  // Byte-level BPE needs valid UTF-8 for its Unicode-aware regex.
  auto bpe = *ig::tok::Tokenizer::from_vocab(tiny_bpe());
  EXPECT_EQ(bpe.encode(std::string("a\xff", 2), false).error().code, "tokenizer.bad_utf8");
}

TEST(TokenizerErrors, DefaultConstructedIsEmptyNotBroken) {
  ig::tok::Tokenizer t;
  EXPECT_EQ(t.encode("x", true).error().code, "tokenizer.empty");
  EXPECT_EQ(t.decode(std::vector<int32_t>{0}).error().code, "tokenizer.empty");
  EXPECT_EQ(t.vocab_size(), 0u);
  EXPECT_FALSE(t.is_end_of_generation(0));
  ig::gguf::File f;
  EXPECT_TRUE(f.raw().empty());
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_EQ(f.get_uint("x").error().code, "gguf.missing_key");
}

TEST(TokenizerErrors, ControlTokensRenderOnlyWhenAsked) {
  auto spm = *ig::tok::Tokenizer::from_vocab(tiny_spm());
  EXPECT_EQ(*spm.decode(std::vector<int32_t>{1, 6, 2}), " a");
  EXPECT_EQ(*spm.decode(std::vector<int32_t>{1, 6, 2}, true), "<s> a</s>");
  // parse_special turns "<s>" in text into the control token, and the dummy prefix follows it.
  EXPECT_EQ(*spm.encode("a<s>a", false, true), (std::vector<int32_t>{6, 1, 6}));
}

TEST(TokenizerUtf8Stream, HoldsBackIncompleteCharacters) {
  ig::tok::Utf8Stream s;
  EXPECT_EQ(s.push("a"), "a");
  EXPECT_EQ(s.push("\xf0"), "");          // lead of a 4-byte character
  EXPECT_EQ(s.push("\x9f\xa7"), "");
  EXPECT_EQ(s.push("\x99!"), "\xf0\x9f\xa7\x99!");
  EXPECT_EQ(s.push("\xc3"), "");
  EXPECT_EQ(s.push("\xa9 \xe2\x82"), "\xc3\xa9 ");
  EXPECT_EQ(s.flush(), "\xe2\x82");      // an unfinished tail comes out on flush
  EXPECT_EQ(s.flush(), "");
  EXPECT_EQ(s.push("\xff"), "\xff");      // invalid bytes are not held forever
}

TEST(TokenizerUtf8Stream, StreamsSpmByteFallbackTokens) {
  auto f = ig::gguf::File::open(std::string(INFERGRID_SHARED_DATA) + "/tokenizers/ggml-vocab-llama-spm.gguf");
  ASSERT_TRUE(f.has_value());
  auto tok = *ig::tok::Tokenizer::from_gguf(*f);
  const std::string text = "\xf0\x9f\xa7\x99 and \xe4\xb8\xad";
  const auto ids = *tok.encode(text, false);
  ig::tok::Utf8Stream s;
  std::string out;
  for (int32_t id : ids) {
    const std::string ready = s.push(*tok.token_to_piece(id));
    // Every chunk handed out is whole characters.
    for (size_t k = 0; k < ready.size();) {
      const auto c = static_cast<unsigned char>(ready[k]);
      const size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
      ASSERT_LE(k + n, ready.size());
      k += n;
    }
    out += ready;
  }
  out += s.flush();
  EXPECT_EQ(out, " " + text);
}
