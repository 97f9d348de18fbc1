// The engine on the CUDA backend (skipped without a device): stories260K greedy
// output, GPU batch invariance, and CPU receipts accepted by a GPU verifier in
// tolerant mode.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "inference/engine/engine.hpp"
#include "inference/receipt/ids.hpp"
#include "inference/receipt/verifier.hpp"

namespace ig::engine {
namespace {

const std::string kData = INFERGRID_SHARED_DATA;

TEST(EngineCuda, StoriesPromptCaseMatchesOnGpu) {
  if (!kernels::cuda_available()) GTEST_SKIP() << "no CUDA device";
  auto m = Model::open(kData + "/models/stories260K.gguf");
  ASSERT_TRUE(m);
  std::ifstream in(kData + "/models/stories260K.greedy.json");
  auto j = nlohmann::json::parse(in);
  const auto prompt = j["cases"][1]["prompt_ids_with_bos"].get<std::vector<int32_t>>();
  const auto expected = j["cases"][1]["generated_ids"].get<std::vector<int32_t>>();
  auto gpu = kernels::make_backend({kernels::BackendKind::Cuda, 1});
  ASSERT_TRUE(gpu) << gpu.error().to_string();
  ig::SamplingParams p;
  p.max_tokens = uint32_t(expected.size());
  auto g = generate(*m, **gpu, prompt, p, -1);
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_EQ(g->tokens, expected);
}

TEST(EngineCuda, PrefillEqualsTokenByTokenBitwiseOnGpu) {
  if (!kernels::cuda_available()) GTEST_SKIP() << "no CUDA device";
  auto m = Model::open(kData + "/models/stories260K.gguf");
  ASSERT_TRUE(m);
  auto gpu = kernels::make_backend({kernels::BackendKind::Cuda, 1});
  ASSERT_TRUE(gpu);
  std::vector<int32_t> t = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315};
  std::vector<float> a, b;
  auto s1 = Session::create(*m, **gpu, int(t.size()));
  ASSERT_TRUE(s1->eval(t, Logits::All, [&](int, std::span<const float> l) { a.insert(a.end(), l.begin(), l.end()); }));
  auto s2 = Session::create(*m, **gpu, int(t.size()));
  for (int32_t tok : t)
    ASSERT_TRUE(s2->eval(std::span<const int32_t>(&tok, 1), Logits::Last,
                         [&](int, std::span<const float> l) { b.insert(b.end(), l.begin(), l.end()); }));
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4));
}

TEST(EngineCuda, GpuVerifierAcceptsCpuReceiptInTolerantMode) {
  if (!kernels::cuda_available()) GTEST_SKIP() << "no CUDA device";
  auto m = Model::open(kData + "/models/stories260K.gguf");
  ASSERT_TRUE(m);
  auto cpu = kernels::make_backend({kernels::BackendKind::Cpu, 2});
  auto gpu = kernels::make_backend({kernels::BackendKind::Cuda, 1});
  ASSERT_TRUE(cpu && gpu);
  ig::SamplingParams p;
  p.max_tokens = 32;
  p.temperature_milli = 800;
  p.top_k = 40;
  p.seed = 3;
  const auto id = receipt::model_id(m->file());
  auto r = receipt::run_task(*m, id, **cpu, "Once upon a time", p);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ((*gpu)->numerics(), "cuda/1");
  ASSERT_EQ(receipt::mode_for(r->receipt, **gpu), receipt::Mode::Tolerant);  // other numerics
  auto v = receipt::verify(*m, id, **gpu, *r, receipt::Mode::Tolerant);
  ASSERT_TRUE(v) << v.error().to_string();
  EXPECT_TRUE(v->accepted) << v->code << " step " << v->first_bad_step;
  // and a GPU result verifies exactly on the GPU
  auto g = receipt::run_task(*m, id, **gpu, "Once upon a time", p);
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_EQ(g->receipt.backend, "cuda/1");
  auto e = receipt::verify(*m, id, **gpu, *g, receipt::mode_for(g->receipt, **gpu));
  ASSERT_TRUE(e) << e.error().to_string();
  EXPECT_TRUE(e->accepted && e->mode == receipt::Mode::Exact) << e->code << " step " << e->first_bad_step;
}

}  // namespace
}  // namespace ig::engine
