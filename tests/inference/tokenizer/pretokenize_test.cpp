// Pre-tokenizer splits, hand-checked against the regexes' definitions (the
// Llama-3 and Qwen2 vocab files are not available, so their splitting is
// tested on its own here).
#include <gtest/gtest.h>

#include "inference/tokenizer/tokenizer.hpp"
#include "vectors.hpp"

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

TEST(TokenizerPreTokenize, DefaultAppliesFourPatternsInTurn) {
  // Punctuation runs, then the GPT-2 pattern, then digit runs, then groups of three digits.
  EXPECT_EQ(split("default", "a 12345"), (Words{"a", " ", "123", "45"}));
  EXPECT_EQ(split("gpt-2", "a 12345"), (Words{"a", " 12345"}));
  EXPECT_EQ(split("default", "x+=y, ok"), (Words{"x", "+=", "y", ",", " ok"}));
  EXPECT_EQ(split("default", ""), Words{});
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
  for (const char* pre : {"gpt-2", "default", "llama3", "qwen2"}) {
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

// BPE never merges across pre-tokenizer words, so every word yields at least one
// id: the recorded Llama-3 and Qwen2 ids bound the split from above. (Their
// vocab files are not in shared/data, so this is what the vectors can check.)
TEST(TokenizerPreTokenize, WordCountsBoundedByRecordedIds) {
  for (const auto& [vocab, pre] : {std::pair{"ggml-vocab-llama-bpe.gguf", "llama-bpe"},
                                   std::pair{"ggml-vocab-qwen2.gguf", "qwen2"},
                                   std::pair{"ggml-vocab-gpt-2.gguf", "gpt-2"}}) {
    const auto ins = ig::test::vector_inputs(ig::test::kTokenizerDir + vocab + ".inp");
    const auto ids = ig::test::vector_ids(ig::test::kTokenizerDir + vocab + ".out");
    ASSERT_EQ(ins.size(), 46u);
    ASSERT_EQ(ids.size(), ins.size());
    size_t exact = 0;
    for (size_t k = 0; k < ins.size(); ++k) {
      const auto words = split(pre, ins[k]);
      std::string joined;
      for (const auto& w : words) joined += w;
      EXPECT_EQ(joined, ins[k]) << vocab << " line " << k;
      EXPECT_LE(words.size(), ids[k].size()) << vocab << " line " << k << " '" << ins[k] << "'";
      exact += words.size() == ids[k].size();
    }
    EXPECT_GE(exact, 15u) << vocab;  // short ASCII lines are one token per word
  }
}

// Lines whose every word is a single token in Llama 3 / Qwen2, so the split must
// produce exactly as many words as the recorded ids.
TEST(TokenizerPreTokenize, SplitsMatchRecordedIdCounts) {
  EXPECT_EQ(split("llama-bpe", "Hello world").size(), 2u);    // 9906 1917
  EXPECT_EQ(split("qwen2", "Hello world").size(), 2u);        // 9707 1879
  EXPECT_EQ(split("llama-bpe", " Hello World!").size(), 3u);  // " Hello", " World", "!"
  EXPECT_EQ(split("qwen2", "333333").size(), 6u);             // one id per digit
  EXPECT_EQ(split("llama-bpe", "333333").size(), 2u);         // "333" "333"
}

// \s is Unicode's White_Space, as in Hugging Face's engines (Oniguruma, Python's regex): not
// PCRE2's own \s, which keeps U+180E, and not JavaScript's, which adds U+FEFF and drops U+0085
// (so the differential run against @lenml/tokenizers leaves those two out). Expected splits as
// Python's regex module gives them for Qwen2's pattern.
TEST(TokenizerPreTokenize, WhiteSpaceIsUnicodes) {
  EXPECT_EQ(split("qwen2", "\xed\x95\x9c \xe1\xa0\x8e" "caf\xc3\xa9"),  // 한, space, U+180E, café
            (Words{"\xed\x95\x9c", " \xe1\xa0\x8e", "caf\xc3\xa9"}));
  EXPECT_EQ(split("qwen2", "a \xef\xbb\xbf" "1"), (Words{"a", " \xef\xbb\xbf", "1"}));  // U+FEFF is not a space
  EXPECT_EQ(split("qwen2", "x \xc2\x85y"), (Words{"x", " ", "\xc2\x85y"}));            // U+0085 is one
  EXPECT_EQ(split("llama3", "a\xe1\xa0\x8e b"), (Words{"a", "\xe1\xa0\x8e", " b"}));
  // The rest of White_Space: no-break, ideographic, line and paragraph separators.
  EXPECT_EQ(split("gpt-2", "a\xc2\xa0\xe3\x80\x80\xe2\x80\xa8" "b"),
            (Words{"a", "\xc2\xa0\xe3\x80\x80", "\xe2\x80\xa8", "b"}));
}
