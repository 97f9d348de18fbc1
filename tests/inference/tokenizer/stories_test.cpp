// The stories260K vocabulary (512 SPM tokens, byte fallback) against the
// prompt ids of stories260K.greedy.json and llama.cpp's prompt-token counts.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "inference/gguf/gguf.hpp"
#include "inference/tokenizer/tokenizer.hpp"

namespace {
const std::string kModels = std::string(INFERGRID_SHARED_DATA) + "/models/";

ig::tok::Tokenizer stories() {
  auto f = ig::gguf::File::open(kModels + "stories260K.gguf");
  EXPECT_TRUE(f.has_value());
  auto t = ig::tok::Tokenizer::from_gguf(*f);
  EXPECT_TRUE(t.has_value());
  return *t;
}
}  // namespace

TEST(TokenizerStories, OnceUponATimeMatchesGreedyJsonPrompt) {
  std::ifstream in(kModels + "stories260K.greedy.json");
  const auto j = nlohmann::json::parse(in);
  const auto& c = j.at("cases").at(1);
  ASSERT_EQ(c.at("prompt").get<std::string>(), "Once upon a time");
  const auto want = c.at("prompt_ids_with_bos").get<std::vector<int32_t>>();
  EXPECT_EQ(want, (std::vector<int32_t>{1, 403, 407, 261, 378}));
  EXPECT_EQ(*stories().encode("Once upon a time", /*add_bos=*/true), want);
}

TEST(TokenizerStories, PromptPlusGeneratedIdsDecodeToRecordedText) {
  std::ifstream in(kModels + "stories260K.greedy.json");
  const auto j = nlohmann::json::parse(in);
  for (const auto& c : j.at("cases")) {
    auto ids = c.at("prompt_ids_with_bos").get<std::vector<int32_t>>();
    for (int32_t id : c.at("generated_ids").get<std::vector<int32_t>>()) ids.push_back(id);
    auto text = stories().decode(ids);  // BOS renders as nothing
    ASSERT_TRUE(text.has_value());
    EXPECT_EQ(*text, c.at("text").get<std::string>());
  }
}

TEST(TokenizerStories, LlamaCppPromptTokenCounts) {
  const auto tok = stories();
  EXPECT_EQ(tok.encode("I believe the meaning of life is", true)->size(), 18u);
  EXPECT_EQ(tok.encode("Write a joke about AI from a very long prompt which will not be truncated", true)->size(), 46u);
}

TEST(TokenizerStories, ByteFallbackDecodesNewline) {
  const auto tok = stories();
  auto ids = tok.encode("a\nb", false);
  ASSERT_TRUE(ids.has_value());
  EXPECT_NE(std::find(ids->begin(), ids->end(), 0x0A + 3), ids->end());  // <0x0A>
  EXPECT_EQ(*tok.decode(*ids), " a\nb");
}
