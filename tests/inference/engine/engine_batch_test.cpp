// Batched decode (batch.hpp, forward.hpp): generations decoded together give bitwise the
// logits and decisions of each one run alone, on every weight type, with prompts longer than
// a pass, generations joining and leaving mid-run, and 1 or 2 threads. Plus the batch's errors.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "inference/engine/engine.hpp"
#include "inference/gguf/kquant_mix.hpp"
#include "inference/gguf/random_model.hpp"
#include "tests/inference/engine/logits_helpers.hpp"
#include "tests/inference/engine/model_files.hpp"

namespace ig::engine {
namespace {

namespace fs = std::filesystem;
using testing::random_tokens;

constexpr int kVocab = 512;

struct Spec {
  std::string arch;
  std::string type;  // infergrid-gguf make --type
};

fs::path temp_dir() {
  static const fs::path dir = testing::test_dir("ig_engine_batch_test");
  return dir;
}

Model load(const Spec& s) {
  gguf::RandomModelSpec r;
  r.arch = s.arch;
  r.dim = 256;  // a whole K-quant super-block per row
  r.layers = 2;
  r.heads = 4;
  r.kv_heads = 2;
  r.ffn = 256;
  r.vocab = kVocab;
  r.ctx = 256;
  auto q = gguf::parse_matrix_quant(s.type);
  if (!q) throw std::runtime_error(q.error().to_string());
  r.type = q->type;
  r.mix = q->mix;
  r.seed = 17;
  return testing::open_model(testing::write_once(r, temp_dir() / (s.arch + "_" + s.type + ".gguf")));
}

std::unique_ptr<kernels::Backend> cpu(int threads) {
  auto b = kernels::make_backend({kernels::BackendKind::Cpu, threads});
  if (!b) throw std::runtime_error(b.error().to_string());
  return std::move(*b);
}

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void expect_same(const Generation& solo, const Generation& batched, const std::string& what) {
  ASSERT_EQ(solo.tokens, batched.tokens) << what;
  ASSERT_EQ(solo.steps.size(), batched.steps.size()) << what;
  for (size_t i = 0; i < solo.steps.size(); ++i) {
    EXPECT_EQ(solo.steps[i].token, batched.steps[i].token) << what << " step " << i;
    EXPECT_EQ(std::memcmp(&solo.steps[i].logit, &batched.steps[i].logit, 4), 0) << what << " step " << i;
    EXPECT_EQ(std::memcmp(&solo.steps[i].runner_up, &batched.steps[i].runner_up, 4), 0) << what << " step " << i;
  }
  EXPECT_EQ(solo.stopped_on_eos, batched.stopped_on_eos) << what;
  EXPECT_EQ(solo.prompt_tokens, batched.prompt_tokens) << what;
}

// Five requests for a batch of four: the fifth joins when the first (the shortest) leaves.
// Prompts of 1 to 90 tokens (longer than a 64-token pass), greedy and sampled.
std::vector<GenerationRequest> requests(const Model& m) {
  auto params = [](uint32_t max_tokens, uint32_t temp, uint64_t seed) {
    ig::SamplingParams p;
    p.max_tokens = max_tokens;
    p.temperature_milli = temp;
    p.top_k = temp ? 40 : 0;
    p.top_p_milli = temp ? 900 : 1000;
    p.seed = seed;
    return p;
  };
  const auto& eog = m.config().eog_ids;
  return {
      {random_tokens(5, 1, kVocab), params(3, 0, 0), eog},
      {random_tokens(90, 2, kVocab), params(20, 800, 7), eog},
      {random_tokens(1, 3, kVocab), params(24, 0, 0), eog},
      {random_tokens(17, 4, kVocab), params(12, 1200, 99), eog},
      {random_tokens(33, 5, kVocab), params(16, 0, 0), eog},
  };
}

class BatchAllTypes : public ::testing::TestWithParam<Spec> {};

TEST_P(BatchAllTypes, EachGenerationIsBitwiseItsSoloRun) {
  const Model m = load(GetParam());
  for (int threads : {1, 2}) {
    auto be = cpu(threads);
    auto reqs = requests(m);
    std::vector<Generation> solo;
    for (const auto& r : reqs) {
      auto g = generate(m, *be, r.prompt, r.params, std::span<const int32_t>(r.stop_ids));
      ASSERT_TRUE(g) << g.error().to_string();
      solo.push_back(std::move(*g));
    }
    auto batched = generate_batch(m, *be, reqs, 4);
    ASSERT_EQ(batched.size(), reqs.size());
    for (size_t i = 0; i < reqs.size(); ++i) {
      ASSERT_TRUE(batched[i]) << batched[i].error().to_string();
      expect_same(solo[i], *batched[i], "request " + std::to_string(i) + ", " + std::to_string(threads) + " threads");
    }
  }
}

// The logits themselves: three sequences' pieces in one pass (a 70-token prefill split over
// two passes, a 1-token decode, a 9-token prefill) against each sequence's own prefill.
TEST_P(BatchAllTypes, PiecesInOnePassGiveEachSequencesLogits) {
  const Model m = load(GetParam());
  auto be = cpu(2);
  const std::vector<std::vector<int32_t>> seqs = {random_tokens(70, 11, kVocab), random_tokens(1, 12, kVocab),
                                                  random_tokens(9, 13, kVocab)};
  std::vector<KvCache> caches;
  for (const auto& s : seqs) caches.push_back(*KvCache::create(m.config(), int(s.size())));
  std::vector<Piece> pieces;
  for (size_t i = 0; i < seqs.size(); ++i) pieces.push_back({&caches[i], seqs[i], 0});
  std::vector<std::vector<float>> got(seqs.size());
  Forward f(m, *be);
  auto st = f.eval(pieces, [&](int p, int index, std::span<const float> l) {
    EXPECT_EQ(size_t(index) * kVocab, got[size_t(p)].size());  // in order within a piece
    got[size_t(p)].insert(got[size_t(p)].end(), l.begin(), l.end());
  });
  ASSERT_TRUE(st) << st.error().to_string();
  for (size_t i = 0; i < seqs.size(); ++i) {
    EXPECT_EQ(caches[i].position, int(seqs[i].size()));
    EXPECT_TRUE(same_bits(got[i], testing::prefill(m, *be, seqs[i]))) << "sequence " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Types, BatchAllTypes,
                         ::testing::Values(Spec{"llama", "f32"}, Spec{"qwen2", "f16"}, Spec{"llama", "q8_0"},
                                           Spec{"qwen3", "q4_0"}, Spec{"llama", "q4_k_m"}, Spec{"qwen2", "q5_k_m"},
                                           Spec{"llama", "q6_k"}),
                         [](const auto& info) { return info.param.arch + "_" + info.param.type; });

TEST(Batch, StopRulesArePerGeneration) {
  const Model m = load({"llama", "q8_0"});
  auto be = cpu(2);
  const auto prompt = random_tokens(6, 21, kVocab);
  ig::SamplingParams p;
  p.max_tokens = 12;
  auto free_run = generate(m, *be, prompt, p, std::span<const int32_t>());
  ASSERT_TRUE(free_run);
  // The token of step 4 as a stop id: that generation ends there; the others run on.
  const std::vector<int32_t> stop = {free_run->tokens[4]};
  int seen = 0;
  std::vector<GenerationRequest> reqs = {
      {prompt, p, stop},
      {prompt, p, {}},
      {prompt, p, {}, [&](int32_t) { return ++seen < 3; }},  // cancelled after 3 tokens
  };
  auto out = generate_batch(m, *be, reqs, 3);
  ASSERT_TRUE(out[0] && out[1] && out[2]);
  auto first = std::find(free_run->tokens.begin(), free_run->tokens.end(), stop[0]) - free_run->tokens.begin();
  EXPECT_EQ(out[0]->tokens.size(), size_t(first) + 1);
  EXPECT_TRUE(out[0]->stopped_on_eos);
  EXPECT_EQ(out[1]->tokens, free_run->tokens);
  EXPECT_FALSE(out[1]->stopped_on_eos);
  EXPECT_EQ(out[2]->tokens.size(), 3u);
  EXPECT_EQ(std::vector<int32_t>(free_run->tokens.begin(), free_run->tokens.begin() + 3), out[2]->tokens);
}

TEST(Batch, RefusesBadRequestsAndAddsNothing) {
  const Model m = load({"llama", "q8_0"});
  auto be = cpu(1);
  EXPECT_EQ(BatchGenerator::create(m, *be, 0).error().code, "engine.bad_batch");
  EXPECT_EQ(BatchGenerator::create(m, *be, Forward::kChunk + 1).error().code, "engine.bad_batch");
  auto b = BatchGenerator::create(m, *be, 2);
  ASSERT_TRUE(b);
  ig::SamplingParams ok;
  ok.max_tokens = 4;
  ig::SamplingParams bad = ok;
  bad.top_p_milli = 0;
  ig::SamplingParams huge = ok;
  huge.max_tokens = 1000;  // past the 256-position context
  EXPECT_EQ(b->add({{}, ok, {}}).error().code, "engine.empty_prompt");
  EXPECT_EQ(b->add({{1, 2}, bad, {}}).error().code, "sampler.bad_params");
  EXPECT_EQ(b->add({{1, 2}, huge, {}}).error().code, "engine.context_full");
  EXPECT_EQ(b->add({{1, kVocab}, ok, {}}).error().code, "engine.bad_token");
  EXPECT_EQ(b->add({{1, -1}, ok, {}}).error().code, "engine.bad_token");
  EXPECT_EQ(b->active(), 0);
  EXPECT_TRUE(b->step().empty());
  ASSERT_TRUE(b->add({{1, 2}, ok, {}}));
  ASSERT_TRUE(b->add({{3}, ok, {}}));
  EXPECT_EQ(b->add({{4}, ok, {}}).error().code, "engine.batch_full");
  EXPECT_EQ(b->active(), 2);
  int steps = 0;
  size_t finished = 0;
  while (b->active() > 0 && steps < 100) {
    for (auto& f : b->step()) {
      ASSERT_TRUE(f.result);
      EXPECT_EQ(f.result->tokens.size(), 4u);
      ++finished;
    }
    ++steps;
  }
  EXPECT_EQ(finished, 2u);
  EXPECT_EQ(steps, 4);  // one step per token: the prompt's pass chooses the first
}

TEST(Batch, ForwardRefusesAPassItCannotRun) {
  const Model m = load({"llama", "q8_0"});
  auto be = cpu(1);
  Forward f(m, *be);
  auto kv = KvCache::create(m.config(), 4);
  ASSERT_TRUE(kv);
  EXPECT_EQ(KvCache::create(m.config(), 0).error().code, "engine.bad_context");
  EXPECT_EQ(KvCache::create(m.config(), 257).error().code, "engine.bad_context");
  const std::vector<int32_t> two = {1, 2}, five = {1, 2, 3, 4, 5};
  auto none = [](int, int, std::span<const float>) {};
  const Piece twice[] = {{&*kv, two, 0}, {&*kv, two, 0}};
  EXPECT_EQ(f.eval(twice, none).error().code, "engine.bad_input");
  const Piece no_cache[] = {{nullptr, two, 0}};
  EXPECT_EQ(f.eval(no_cache, none).error().code, "engine.bad_input");
  const Piece too_long[] = {{&*kv, five, 0}};
  EXPECT_EQ(f.eval(too_long, none).error().code, "engine.context_full");
  const Piece empty[] = {{&*kv, {}, 0}};
  EXPECT_EQ(f.eval(empty, none).error().code, "engine.empty_input");
  EXPECT_EQ(kv->position, 0);  // nothing was evaluated
}

}  // namespace
}  // namespace ig::engine
