// Property checks over random input: SPM with byte fallback is lossless for any
// bytes at all; byte-level BPE is lossless for any valid UTF-8.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "inference/gguf/gguf.hpp"
#include "inference/tokenizer/tokenizer.hpp"
#include "inference/tokenizer/unicode.hpp"
#include "vectors.hpp"

namespace {
ig::tok::Tokenizer load(const std::string& name) {
  auto f = ig::gguf::File::open(ig::test::kTokenizerDir + name);
  EXPECT_TRUE(f.has_value());
  return *ig::tok::Tokenizer::from_gguf(*f);
}

// Characters from ASCII, Latin-1, CJK and emoji ranges, plus whitespace runs.
std::string random_utf8(std::mt19937& rng, size_t chars) {
  static const uint32_t ranges[][2] = {{0x20, 0x7e}, {0x09, 0x0d}, {0xa0, 0x24f}, {0x400, 0x4ff},
                                       {0x4e00, 0x4fff}, {0x1f600, 0x1f64f}, {0x660, 0x669}};
  std::string out;
  for (size_t k = 0; k < chars; ++k) {
    const auto& r = ranges[rng() % std::size(ranges)];
    out += ig::tok::detail::encode_utf8(r[0] + rng() % (r[1] - r[0] + 1));
  }
  return out;
}
}  // namespace

TEST(TokenizerRoundTrip, SpmIsLosslessForArbitraryBytes) {
  const auto tok = load("ggml-vocab-llama-spm.gguf");
  std::mt19937 rng(3);
  for (int iter = 0; iter < 300; ++iter) {
    std::string text(1 + rng() % 40, '\0');
    for (auto& c : text) c = static_cast<char>(rng());
    auto ids = tok.encode(text, false);
    ASSERT_TRUE(ids.has_value());
    for (int32_t id : *ids) ASSERT_NE(id, 0) << "no <unk>: every byte has a byte token";
    ASSERT_EQ(*tok.decode(*ids), " " + text);
  }
}

TEST(TokenizerRoundTrip, SpmAndBpeAreLosslessForRandomUtf8) {
  const auto spm = load("ggml-vocab-llama-spm.gguf");
  const auto bpe = load("ggml-vocab-gpt-2.gguf");
  std::mt19937 rng(4);
  for (int iter = 0; iter < 300; ++iter) {
    const std::string text = random_utf8(rng, 1 + rng() % 30);
    auto a = spm.encode(text, false);
    auto b = bpe.encode(text, false);
    ASSERT_TRUE(a.has_value() && b.has_value());
    ASSERT_EQ(*spm.decode(*a), " " + text);
    ASSERT_EQ(*bpe.decode(*b), text);
  }
}

TEST(TokenizerRoundTrip, EncodingIsDeterministicAcrossThreads) {
  const auto bpe = load("ggml-vocab-gpt-2.gguf");
  std::mt19937 rng(5);
  const std::string text = random_utf8(rng, 2000);
  const auto want = *bpe.encode(text, false);
  std::vector<std::vector<int32_t>> got(4);
  std::vector<std::thread> threads;
  for (size_t k = 0; k < got.size(); ++k)
    threads.emplace_back([&, k] { got[k] = *bpe.encode(text, false); });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
}
