// stories260K (a real TinyStories Llama) reproduces its published greedy output.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "inference/engine/engine.hpp"
#include "inference/tokenizer/tokenizer.hpp"

namespace ig::engine {
namespace {

const std::string kData = INFERGRID_SHARED_DATA;

struct Case {
  std::vector<int32_t> prompt, expected;
};

std::vector<Case> load_cases() {
  std::ifstream in(kData + "/models/stories260K.greedy.json");
  auto j = nlohmann::json::parse(in);
  std::vector<Case> out;
  for (const auto& c : j["cases"])
    out.push_back({c["prompt_ids_with_bos"].get<std::vector<int32_t>>(),
                   c["generated_ids"].get<std::vector<int32_t>>()});
  return out;
}

std::vector<int32_t> greedy(kernels::BackendKind kind, int threads, const std::vector<int32_t>& prompt,
                            uint32_t n) {
  auto model = Model::open(kData + "/models/stories260K.gguf");
  EXPECT_TRUE(model) << model.error().to_string();
  auto be = kernels::make_backend({kind, threads});
  ig::SamplingParams p;
  p.max_tokens = n;
  auto g = generate(*model, **be, prompt, p, /*eos=*/-1);
  EXPECT_TRUE(g) << g.error().to_string();
  return g->tokens;
}

class EngineStories : public ::testing::TestWithParam<kernels::BackendKind> {};

TEST_P(EngineStories, PromptCaseMatchesExactly) {
  auto cases = load_cases();
  ASSERT_EQ(cases.size(), 2u);
  const Case& c = cases[1];
  ASSERT_EQ(c.prompt, (std::vector<int32_t>{1, 403, 407, 261, 378}));
  auto got = greedy(GetParam(), 2, c.prompt, uint32_t(c.expected.size()));
  EXPECT_EQ(got, c.expected);
}

TEST_P(EngineStories, BosCaseMatchesFirst180) {
  const Case c = load_cases()[0];
  auto got = greedy(GetParam(), 2, c.prompt, uint32_t(c.expected.size()));
  ASSERT_EQ(got.size(), c.expected.size());
  for (size_t i = 0; i < 180; ++i) ASSERT_EQ(got[i], c.expected[i]) << "step " << i;
  size_t same = 0;
  while (same < got.size() && got[same] == c.expected[same]) ++same;
  RecordProperty("matching_prefix", int(same));
}

INSTANTIATE_TEST_SUITE_P(Backends, EngineStories,
                         ::testing::Values(kernels::BackendKind::Cpu, kernels::BackendKind::Reference),
                         [](const auto& i) { return std::string(kernels::backend_kind_name(i.param)); });

TEST(EngineStoriesText, PromptTextEncodesToTheCaseIdsAndDecodesTheStory) {
  auto file = gguf::File::open(kData + "/models/stories260K.gguf");
  ASSERT_TRUE(file);
  auto tok = tok::Tokenizer::from_gguf(*file);
  ASSERT_TRUE(tok) << tok.error().to_string();
  auto ids = tok->encode("Once upon a time", true);
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<int32_t>{1, 403, 407, 261, 378}));
  auto out = greedy(kernels::BackendKind::Cpu, 1, *ids, 40);
  auto text = tok->decode(out);
  ASSERT_TRUE(text);
  EXPECT_EQ(text->rfind(", there was a little girl named Lily.", 0), 0u) << *text;
}

TEST(EngineStoriesModel, ConfigIsReadFromMetadata) {
  auto m = Model::open(kData + "/models/stories260K.gguf");
  ASSERT_TRUE(m);
  const auto& c = m->config();
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.ffn_dim, 172);
  EXPECT_EQ(c.vocab, 512);
  EXPECT_EQ(c.rope.rope_dim, 8);
  EXPECT_FALSE(c.rope.neox);
  EXPECT_EQ(c.eos_id, 2);
}

TEST(EngineStoriesModel, Llama2TinyRandomF16Loads) {
  auto m = Model::open(kData + "/models/llama-2-tiny-random.gguf");
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->config().vocab, 32000);
  auto be = kernels::make_backend({kernels::BackendKind::Cpu, 2});
  ig::SamplingParams p;
  p.max_tokens = 8;
  auto g = generate(*m, **be, std::vector<int32_t>{1, 15043}, p, m->config().eos_id);
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_GE(g->tokens.size(), 1u);
}

TEST(EngineStoriesModel, GenerateRejectsBadInput) {
  auto m = Model::open(kData + "/models/stories260K.gguf");
  ASSERT_TRUE(m);
  auto be = kernels::make_backend({kernels::BackendKind::Cpu, 1});
  ig::SamplingParams p;
  p.max_tokens = 4;
  EXPECT_EQ(generate(*m, **be, std::vector<int32_t>{}, p, 2).error().code, "engine.empty_prompt");
  EXPECT_EQ(generate(*m, **be, std::vector<int32_t>{1, 512}, p, 2).error().code, "engine.bad_token");
  EXPECT_EQ(generate(*m, **be, std::vector<int32_t>{1, -3}, p, 2).error().code, "engine.bad_token");
  p.max_tokens = 5000;
  EXPECT_EQ(generate(*m, **be, std::vector<int32_t>{1}, p, 2).error().code, "engine.context_full");
  p.max_tokens = 4;
  p.top_p_milli = 0;
  EXPECT_EQ(generate(*m, **be, std::vector<int32_t>{1}, p, 2).error().code, "sampler.bad_params");
  EXPECT_FALSE(Model::open(kData + "/tokenizers/ggml-vocab-llama-spm.gguf"));  // vocab only
  EXPECT_FALSE(Model::open(kData + "/models/stories260K.greedy.json"));         // not GGUF
}

}  // namespace
}  // namespace ig::engine
