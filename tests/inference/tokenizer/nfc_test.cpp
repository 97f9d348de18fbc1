// NFC (ICU) as the tokenizer applies it, and a vocabulary with the "nfc" normalizer.
#include <gtest/gtest.h>

#include "inference/tokenizer/nfc.hpp"
#include "inference/tokenizer/tokenizer.hpp"

namespace {
using ig::tok::detail::nfc;

TEST(TokenizerNfc, ComposesDecomposedText) {
  EXPECT_EQ(nfc("e\xcc\x81"), "\xc3\xa9");                        // e + U+0301 -> é
  EXPECT_EQ(nfc("A\xcc\x8a"), "\xc3\x85");                        // A + ring -> Å
  EXPECT_EQ(nfc("\xe1\x84\x80\xe1\x85\xa1"), "\xea\xb0\x80");     // Hangul jamo G + A -> 가
  EXPECT_EQ(nfc("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8"), "\xea\xb0\x81");  // + final G -> 각
}

TEST(TokenizerNfc, ReordersCombiningMarksCanonically) {
  // a + dot below (ccc 220) after grave (ccc 230): reorder, then compose a+dot below -> ạ + grave.
  EXPECT_EQ(nfc("a\xcc\x80\xcc\xa3"), "\xe1\xba\xa1\xcc\x80");
  // The same marks in canonical order give the same result.
  EXPECT_EQ(nfc("a\xcc\xa3\xcc\x80"), "\xe1\xba\xa1\xcc\x80");
}

TEST(TokenizerNfc, SingletonsAndExclusions) {
  EXPECT_EQ(nfc("\xe2\x84\xab"), "\xc3\x85");  // U+212B ANGSTROM SIGN -> U+00C5
  EXPECT_EQ(nfc("\xe2\x84\xa6"), "\xce\xa9");  // U+2126 OHM SIGN -> U+03A9
  // U+0958 DEVANAGARI QA is a composition exclusion: it stays decomposed as KA + NUKTA.
  EXPECT_EQ(nfc("\xe0\xa5\x98"), "\xe0\xa4\x95\xe0\xa4\xbc");
  // Compatibility characters are not NFC's business: the "ﬁ" ligature stays.
  EXPECT_EQ(nfc("\xef\xac\x81"), "\xef\xac\x81");
}

TEST(TokenizerNfc, LeavesNormalizedAndInvalidTextAlone) {
  EXPECT_EQ(nfc(""), "");
  EXPECT_EQ(nfc("plain ASCII, caf\xc3\xa9"), "plain ASCII, caf\xc3\xa9");
  EXPECT_EQ(nfc("\xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80"), "\xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80");
  // Invalid UTF-8 (a stray continuation byte, a surrogate, a truncated sequence) comes back as is.
  EXPECT_EQ(nfc("e\xcc\x81\x80"), "e\xcc\x81\x80");
  EXPECT_EQ(nfc("\xed\xa0\x80\xcc\x81"), "\xed\xa0\x80\xcc\x81");
  EXPECT_EQ(nfc("e\xcc"), "e\xcc");
  EXPECT_EQ(nfc(std::string_view("e\0\xcc\x81", 4)), std::string("e\0\xcc\x81", 4));  // NUL is a character
}

TEST(TokenizerNfc, ReportsTheUnicodeVersion) {
  const std::string v = ig::tok::detail::nfc_unicode_version();
  ASSERT_FALSE(v.empty());
  EXPECT_GE(std::stoi(v), 10) << v;  // ICU 60 (the first with normalizeUTF8) has Unicode 10
}

// A byte-level vocabulary whose only multi-character token is "é" in its NFC form: with the
// normalizer the decomposed input becomes that one token, without it two characters remain.
ig::tok::Vocab tiny_vocab(const std::string& normalizer) {
  ig::tok::Vocab v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  for (int b = 0; b < 256; ++b) v.tokens.push_back(ig::tok::byte_to_unicode(static_cast<uint8_t>(b)));
  const std::string e_acute = ig::tok::byte_to_unicode(0xC3) + ig::tok::byte_to_unicode(0xA9);
  v.tokens.push_back(e_acute);
  v.merges.push_back(ig::tok::byte_to_unicode(0xC3) + " " + ig::tok::byte_to_unicode(0xA9));
  v.types.assign(v.tokens.size(), ig::tok::TokenType::Normal);
  v.normalizer = normalizer;
  return v;
}

TEST(TokenizerNfc, VocabularyNormalizerAppliesBeforeBpe) {
  auto with = ig::tok::Tokenizer::from_vocab(tiny_vocab("nfc"));
  auto without = ig::tok::Tokenizer::from_vocab(tiny_vocab(""));
  ASSERT_TRUE(with && without);
  EXPECT_EQ(*with->encode("e\xcc\x81", false), (std::vector<int32_t>{256}));
  EXPECT_EQ(*without->encode("e\xcc\x81", false), (std::vector<int32_t>{'e', 0xCC, 0x81}));
  EXPECT_EQ(*with->decode(*with->encode("e\xcc\x81", false)), "\xc3\xa9");
}

TEST(TokenizerNfc, UnknownNormalizerIsRefused) {
  auto t = ig::tok::Tokenizer::from_vocab(tiny_vocab("nfkc"));
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, "tokenizer.unsupported");
}
}  // namespace
