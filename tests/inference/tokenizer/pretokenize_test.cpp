// Pre-tokenizer splits, hand-checked against the regexes' definitions (the
// Llama-3 and Qwen2 vocab files are not available, so their splitting is
// tested on its own here).
#include <gtest/gtest.h>

#include "inference/tokenizer/tokenizer.hpp"

namespace {
using Words = std::vector<std::string>;

Words split(const std::string& pre, const std::string& text) {
  auto r = ig::tok::pre_tokenize(pre, text);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
  return r ? *r : Words{};
}
}  // namespace

TEST(TokenizerPreTokenize, Gpt2) {
  EXPECT_EQ(split("gpt-2", "Hello world"), (Words{"Hello", " world"}));
  EXPECT_EQ(split("gpt-2", "I'm 12345 ok!!"), (Words{"I", "'m", " 12345", " ok", "!!"}));
  // Whitespace before a word stays with the word; the rest is its own piece.
  EXPECT_EQ(split("gpt-2", "a   b"), (Words{"a", "  ", " b"}));
  // "\s+(?!\S)" leaves the last newline before a letter to the "\s+" fallback.
  EXPECT_EQ(split("gpt-2", "a\n\nb "), (Words{"a", "\n", "\n", "b", " "}));
  // Contractions are case-sensitive in GPT-2.
  EXPECT_EQ(split("gpt-2", "I'M"), (Words{"I", "'", "M"}));
}

TEST(TokenizerPreTokenize, Llama3) {
  EXPECT_EQ(split("llama-bpe", "Hello world"), (Words{"Hello", " world"}));
  // Digits group in threes; contractions are case-insensitive.
  EXPECT_EQ(split("llama3", "12345 I'M"), (Words{"123", "45", " I", "'M"}));
  // A punctuation character may lead a word; newlines gather separately.
  EXPECT_EQ(split("llama3", "x.y\n\n  z"), (Words{"x", ".y", "\n\n", " ", " z"}));
  EXPECT_EQ(split("llama3", "ok!!\n"), (Words{"ok", "!!\n"}));
}

TEST(TokenizerPreTokenize, Qwen2) {
  // Qwen2 splits every digit.
  EXPECT_EQ(split("qwen2", "12345 I'M"), (Words{"1", "2", "3", "4", "5", " I", "'M"}));
  EXPECT_EQ(split("qwen2", "Hello world"), (Words{"Hello", " world"}));
}

TEST(TokenizerPreTokenize, UnicodeLettersAndNumbers) {
  // \p{L} covers Cyrillic and CJK; \p{N} covers non-ASCII digits such as U+0663.
  EXPECT_EQ(split("gpt-2", "\xd0\xbf\xd1\x80\xd0\xb8 \xe4\xb8\xad\xe6\x96\x87"),
            (Words{"\xd0\xbf\xd1\x80\xd0\xb8", " \xe4\xb8\xad\xe6\x96\x87"}));
  EXPECT_EQ(split("gpt-2", "x\xd9\xa3"), (Words{"x", "\xd9\xa3"}));
}

TEST(TokenizerPreTokenize, PiecesConcatenateToInput) {
  const std::string text = "  Hello,\tworld!\n\n 3.14159 don't \xf0\x9f\x98\x80\xf0\x9f\x98\x80 end  ";
  for (const char* pre : {"gpt-2", "llama3", "qwen2"}) {
    std::string joined;
    for (const auto& w : split(pre, text)) joined += w;
    EXPECT_EQ(joined, text) << pre;
  }
}

TEST(TokenizerPreTokenize, Errors) {
  auto unknown = ig::tok::pre_tokenize("no-such-pre", "x");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, "tokenizer.unsupported_pre");
  auto bad = ig::tok::pre_tokenize("gpt-2", std::string("ab\xff\xfe", 4));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, "tokenizer.bad_utf8");
}
