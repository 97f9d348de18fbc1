// Random-weight llama and qwen2 models in every tensor type (written by
// ig_gguf_make into a temp dir): fast backend vs reference within a stated
// tolerance, and bitwise batch/thread invariance of the fast backend.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <unistd.h>

#include "inference/engine/engine.hpp"
#include "tests/inference/engine/logits_helpers.hpp"
#include "tests/inference/engine/model_files.hpp"
#include "inference/gguf/random_model.hpp"

namespace ig::engine {
namespace {

namespace fs = std::filesystem;

struct Spec {
  std::string arch;
  gguf::TensorType type;
  bool tied;
};

std::string name_of(const Spec& s) {
  static const char* names[] = {"F32", "F16", "Q4_0", "", "", "", "", "", "Q8_0"};
  return s.arch + "_" + names[uint32_t(s.type)] + (s.tied ? "_tied" : "");
}

fs::path temp_dir() {
  static const fs::path dir = testing::test_dir("ig_engine_test");
  return dir;
}

Model load(const Spec& s) {
  return testing::open_model(
      testing::write_once(testing::small_model(s.arch, s.type, s.tied, 77), temp_dir() / (name_of(s) + ".gguf")));
}

std::vector<int32_t> tokens(int n, uint32_t seed) { return testing::random_tokens(n, seed, 512); }
using testing::prefill;
using testing::stepwise;

std::unique_ptr<kernels::Backend> backend(kernels::BackendKind k, int threads) {
  return std::move(*kernels::make_backend({k, threads}));
}

// Stated tolerance, relative to the largest reference logit magnitude: float
// types differ only in summation order; quantized types additionally have the
// fast path's Q8_0 activation quantization (as in llama.cpp).
double tolerance(gguf::TensorType t) {
  return (t == gguf::TensorType::F32 || t == gguf::TensorType::F16) ? 1e-4 : 3e-2;
}

class EngineRandom : public ::testing::TestWithParam<Spec> {};

TEST_P(EngineRandom, FastMatchesReferenceWithinTolerance) {
  const Model m = load(GetParam());
  const auto t = tokens(20, 3);
  auto ref = prefill(m, *backend(kernels::BackendKind::Reference, 1), t);
  auto fast = prefill(m, *backend(kernels::BackendKind::Cpu, 2), t);
  ASSERT_EQ(ref.size(), fast.size());
  double scale = 1, worst = 0;
  for (float v : ref) scale = std::max(scale, double(std::fabs(v)));
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, double(std::fabs(ref[i] - fast[i])));
  RecordProperty("max_abs_diff", std::to_string(worst));
  RecordProperty("max_abs_logit", std::to_string(scale));
  EXPECT_LE(worst, tolerance(GetParam().type) * scale) << name_of(GetParam()) << " worst " << worst << " scale " << scale;
  EXPECT_GT(worst, 0.0);  // the two backends really are different code
}

TEST_P(EngineRandom, TokenByTokenEqualsPrefillBitwiseFor1And2Threads) {
  const Model m = load(GetParam());
  const auto t = tokens(70, 5);  // crosses the 64-token prefill chunk
  auto one = backend(kernels::BackendKind::Cpu, 1);
  auto two = backend(kernels::BackendKind::Cpu, 2);
  const auto a = prefill(m, *one, t);
  const auto b = stepwise(m, *one, t);
  const auto c = prefill(m, *two, t);
  const auto d = stepwise(m, *two, t);
  ASSERT_EQ(a.size(), size_t(70) * 512);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4)) << "prefill vs token-by-token";
  EXPECT_EQ(0, std::memcmp(a.data(), c.data(), a.size() * 4)) << "1 vs 2 threads";
  EXPECT_EQ(0, std::memcmp(a.data(), d.data(), a.size() * 4));
}

// A verifier's prefill asks for logits from the prompt's last token on: those rows must be the
// same bits as in a full prefill, and no row before it reported (across a chunk boundary too).
TEST_P(EngineRandom, LogitsFromAnIndexAreTheFullPrefillsRows) {
  const Model m = load(GetParam());
  const auto t = tokens(90, 6);
  auto be = backend(kernels::BackendKind::Cpu, 2);
  const auto all = prefill(m, *be, t);
  for (int from : {0, 1, 63, 64, 70, 89, 90}) {
    auto s = Session::create(m, *be, int(t.size()));
    ASSERT_TRUE(s);
    std::vector<int> seen;
    std::vector<float> got;
    ASSERT_TRUE(s->eval_from(t, from, [&](int i, std::span<const float> l) {
      seen.push_back(i);
      got.insert(got.end(), l.begin(), l.end());
    }));
    ASSERT_EQ(seen.size(), size_t(90 - from)) << "from " << from;
    for (size_t k = 0; k < seen.size(); ++k) EXPECT_EQ(seen[k], from + int(k));
    ASSERT_EQ(got.size(), all.size() - size_t(from) * 512);
    EXPECT_EQ(0, std::memcmp(got.data(), all.data() + size_t(from) * 512, got.size() * 4)) << "from " << from;
    EXPECT_EQ(s->position(), 90);
  }
}

TEST_P(EngineRandom, GenerationIsDeterministicAndStopsAtMaxTokens) {
  const Model m = load(GetParam());
  ig::SamplingParams p;
  p.max_tokens = 12;
  p.temperature_milli = 900;
  p.top_k = 50;
  p.top_p_milli = 950;
  p.seed = 1234;
  const auto prompt = tokens(6, 8);
  auto g1 = generate(m, *backend(kernels::BackendKind::Cpu, 1), prompt, p, -1);
  auto g2 = generate(m, *backend(kernels::BackendKind::Cpu, 2), prompt, p, -1);
  ASSERT_TRUE(g1 && g2);
  EXPECT_EQ(g1->tokens.size(), 12u);
  EXPECT_EQ(g1->tokens, g2->tokens);
  for (size_t i = 0; i < g1->steps.size(); ++i) {
    EXPECT_EQ(std::memcmp(&g1->steps[i].logit, &g2->steps[i].logit, 4), 0);
    EXPECT_GE(g1->steps[i].logit, g1->steps[i].runner_up - 1e9f);
  }
}

std::vector<Spec> all_specs() {
  std::vector<Spec> s;
  for (const char* arch : {"llama", "qwen2"})
    for (auto t : {gguf::TensorType::F32, gguf::TensorType::F16, gguf::TensorType::Q8_0, gguf::TensorType::Q4_0})
      s.push_back({arch, t, false});
  s.push_back({"qwen2", gguf::TensorType::Q8_0, true});
  return s;
}

INSTANTIATE_TEST_SUITE_P(Models, EngineRandom, ::testing::ValuesIn(all_specs()),
                         [](const auto& i) { return name_of(i.param); });

// A Q4_0 or Q8_0 model regrouped at load (ModelOptions::interleave, the default on AVX-512 CPUs)
// and the same file in GGUF order: the model id stays the file's SHA-256, and every backend
// gives bitwise the same logits, in one prefill and token by token (tied and separate heads).
TEST(EngineRandomModel, RegroupedModelGivesTheFilesLogitsAndId) {
  for (const Spec& spec : {Spec{"qwen2", gguf::TensorType::Q4_0, false}, Spec{"qwen2", gguf::TensorType::Q4_0, true},
                           Spec{"llama", gguf::TensorType::Q8_0, true}}) {
    SCOPED_TRACE(name_of(spec));
    const fs::path path = temp_dir() / (name_of(spec) + ".gguf");
    load(spec);  // writes the file once
    auto plain = Model::open(path.string(), ModelOptions{.interleave = false});
    auto grouped = Model::open(path.string(), ModelOptions{.interleave = true});
    ASSERT_TRUE(plain && grouped);
    EXPECT_EQ(plain->layers()[1].w_down.layout, kernels::Layout::Rows);
    for (const auto* w : {&grouped->token_embd(), &grouped->output(), &grouped->layers()[1].w_down,
                          &grouped->layers()[0].wk})
      EXPECT_EQ(w->layout, kernels::Layout::Interleaved16);
    std::ifstream in(path, std::ios::binary);
    const std::vector<uint8_t> disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(grouped->file().image_sha256(), sha256(disk)) << "the model id is the file's";
    EXPECT_FALSE(std::equal(disk.begin(), disk.end(), grouped->file().raw().begin())) << "nothing was regrouped";
    const auto t = tokens(20, 8);
    for (auto kind : {kernels::BackendKind::Reference, kernels::BackendKind::Cpu}) {
      auto be = backend(kind, 2);
      const auto want = prefill(*plain, *be, t);
      const auto got = prefill(*grouped, *be, t);
      const auto steps = stepwise(*grouped, *be, t);
      ASSERT_EQ(want.size(), got.size());
      EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * 4)) << kernels::backend_kind_name(kind);
      EXPECT_EQ(0, std::memcmp(want.data(), steps.data(), want.size() * 4)) << kernels::backend_kind_name(kind);
    }
  }
}

TEST(EngineRandomModel, Qwen2HasBiasesNeoxRopeAndTiedOutput) {
  const Model m = load({"qwen2", gguf::TensorType::F32, true});
  EXPECT_EQ(m.config().arch, Arch::Qwen2);
  EXPECT_TRUE(m.config().rope.neox);
  EXPECT_NE(m.layers()[0].bq, nullptr);
  EXPECT_EQ(m.output().data, m.token_embd().data);
  const Model l = load({"llama", gguf::TensorType::F32, false});
  EXPECT_FALSE(l.config().rope.neox);
  EXPECT_EQ(l.layers()[0].bq, nullptr);
  EXPECT_NE(l.output().data, l.token_embd().data);
}

TEST(EngineRandomModel, MissingOrMisshapenTensorsAreErrors) {
  const Model good = load({"llama", gguf::TensorType::F32, false});
  // Re-assemble the file without blk.1.ffn_up.weight.
  gguf::Writer cut;
  const gguf::File& src = good.file();
  for (const auto& kv : src.metadata()) cut.set(kv.key, kv.value);
  for (const auto& t : src.tensors()) {
    if (t.name == "blk.1.ffn_up.weight") continue;
    std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    ASSERT_TRUE(cut.add_tensor(t.name, t.type, ne, std::vector<uint8_t>(t.data, t.data + t.n_bytes)));
  }
  auto bytes = cut.to_bytes();
  ASSERT_TRUE(bytes);
  auto f = gguf::File::from_bytes(*bytes);
  ASSERT_TRUE(f);
  auto m = Model::from_gguf(*f);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("blk.1.ffn_up.weight"), std::string::npos) << m.error().to_string();

  // A transposed attn_q shape.
  gguf::Writer bad;
  for (const auto& kv : src.metadata()) bad.set(kv.key, kv.value);
  for (const auto& t : src.tensors()) {
    std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    if (t.name == "blk.0.ffn_gate.weight") std::swap(ne[0], ne[1]);
    ASSERT_TRUE(bad.add_tensor(t.name, t.type, ne, std::vector<uint8_t>(t.data, t.data + t.n_bytes)));
  }
  auto f2 = gguf::File::from_bytes(*bad.to_bytes());
  ASSERT_TRUE(f2);
  auto m2 = Model::from_gguf(*f2);
  ASSERT_FALSE(m2);
  EXPECT_EQ(m2.error().code, "engine.bad_shape");
}

}  // namespace
}  // namespace ig::engine
