// The engine on the CUDA backend (skipped without a device): stories260K greedy
// output, GPU batch invariance, CPU receipts accepted by a GPU verifier in
// tolerant mode, and a Q5_0/Q5_1 copy with RoPE scaling and rope_freqs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "inference/engine/engine.hpp"
#include "inference/gguf/kquant_mix.hpp"
#include "inference/gguf/quant.hpp"
#include "inference/gguf/random_model.hpp"
#include "tests/inference/engine/model_files.hpp"
#include "inference/gguf/writer.hpp"
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

// stories260K with its matrices re-quantized (rows of whole 32-value blocks alternately Q5_0 and
// Q5_1, the K-quant mixes' fallbacks), linear RoPE scaling, attn_factor and a rope_freqs tensor:
// the paths the CUDA backend used to refuse, through the whole graph.
Model scaled_q5_stories() {
  auto f = gguf::File::open(kData + "/models/stories260K.gguf");
  if (!f) throw std::runtime_error(f.error().to_string());
  gguf::Writer w;
  for (const auto& kv : f->metadata()) w.set(kv.key, kv.value);
  w.set("llama.rope.scaling.factor", gguf::Value::of_f32(2.0f));
  w.set("llama.rope.scaling.attn_factor", gguf::Value::of_f32(1.1f));
  int n = 0;
  for (const auto& t : f->tensors()) {
    std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    std::vector<uint8_t> data(t.data, t.data + t.n_bytes);
    gguf::TensorType type = t.type;
    if (t.n_dims == 2 && t.ne[0] % 32 == 0) {
      type = n++ % 2 ? gguf::TensorType::Q5_1 : gguf::TensorType::Q5_0;
      const int64_t cols = int64_t(t.ne[0]);
      const size_t rb = kernels::row_bytes(kernels::DType(uint32_t(type)), cols);
      const size_t in_rb = t.n_bytes / t.n_rows();
      std::vector<float> row(static_cast<size_t>(cols));
      data.assign(rb * t.n_rows(), 0);
      for (uint64_t r = 0; r < t.n_rows(); ++r) {
        auto st = gguf::dequantize_row(t.type, t.data + r * in_rb, row.data(), cols);
        if (st) st = gguf::quantize_row(type, row.data(), data.data() + r * rb, cols);
        if (!st) throw std::runtime_error(st.error().to_string());
      }
    }
    auto st = w.add_tensor(t.name, type, ne, std::move(data));
    if (!st) throw std::runtime_error(st.error().to_string());
  }
  if (n == 0) throw std::runtime_error("no matrix re-quantized");
  auto m0 = Model::open(kData + "/models/stories260K.gguf");
  if (!m0) throw std::runtime_error(m0.error().to_string());
  const int half = m0->config().rope.rope_dim / 2;
  std::vector<float> ff(static_cast<size_t>(half));
  for (int i = 0; i < half; ++i) ff[size_t(i)] = 1.f + 3.f * float(i) / float(std::max(1, half - 1));
  std::vector<uint8_t> ffb(ff.size() * 4);
  std::memcpy(ffb.data(), ff.data(), ffb.size());
  auto st = w.add_tensor("rope_freqs.weight", gguf::TensorType::F32, {uint64_t(half)}, std::move(ffb));
  if (!st) throw std::runtime_error(st.error().to_string());
  auto bytes = w.to_bytes();
  if (!bytes) throw std::runtime_error(bytes.error().to_string());
  auto g = gguf::File::from_bytes(*bytes);
  if (!g) throw std::runtime_error(g.error().to_string());
  auto m = Model::from_gguf(std::move(*g));
  if (!m) throw std::runtime_error(m.error().to_string());
  return std::move(*m);
}

std::vector<float> all_logits(const Model& m, kernels::Backend& be, const std::vector<int32_t>& t,
                              bool one_by_one) {
  std::vector<float> out;
  auto s = Session::create(m, be, int(t.size()));
  if (!s) throw std::runtime_error(s.error().to_string());
  auto keep = [&](int, std::span<const float> l) { out.insert(out.end(), l.begin(), l.end()); };
  if (!one_by_one) {
    auto st = s->eval(t, Logits::All, keep);
    if (!st) throw std::runtime_error(st.error().to_string());
  } else {
    for (int32_t tok : t) {
      auto st = s->eval(std::span<const int32_t>(&tok, 1), Logits::Last, keep);
      if (!st) throw std::runtime_error(st.error().to_string());
    }
  }
  return out;
}

TEST(EngineCuda, Q5AndRopeScalingMatchReferenceAndAreBatchInvariantOnGpu) {
  if (!kernels::cuda_available()) GTEST_SKIP() << "no CUDA device";
  const Model m = scaled_q5_stories();
  ASSERT_NE(m.config().rope.freq_factors, nullptr);
  ASSERT_EQ(m.config().rope.freq_scale, 0.5f);
  auto gpu = kernels::make_backend({kernels::BackendKind::Cuda, 1});
  auto ref = kernels::make_backend({kernels::BackendKind::Reference, 1});
  ASSERT_TRUE(gpu && ref);
  const std::vector<int32_t> t = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315};
  const auto a = all_logits(m, **gpu, t, false);
  const auto b = all_logits(m, **gpu, t, true);
  const auto r = all_logits(m, **ref, t, false);
  ASSERT_TRUE((*gpu)->status()) << (*gpu)->status().error().to_string();
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4));
  ASSERT_EQ(a.size(), r.size());
  float top = 0.f;
  for (float v : r) top = std::max(top, std::fabs(v));
  // float sums against double ones on the same dequantized weights: float noise, not 1e-3
  for (size_t i = 0; i < r.size(); ++i) ASSERT_NEAR(a[i], r[i], 1e-3f * (1.f + top)) << i;
}

// The K-quant mixes on the GPU: a random 256-wide qwen2 model in Q4_K_M (Q4_K, Q6_K) and
// Q5_K_M (Q5_K, Q6_K; 256-wide rows need no fallback), GPU against the reference, and one
// prefill against token by token, bit for bit.
TEST(EngineCuda, KQuantMixesMatchReferenceAndAreBatchInvariantOnGpu) {
  if (!kernels::cuda_available()) GTEST_SKIP() << "no CUDA device";
  for (const char* type : {"q4_k_m", "q5_k_m"}) {
    gguf::RandomModelSpec spec;
    spec.arch = "qwen2";
    spec.dim = 256;
    spec.layers = 4;
    spec.heads = 4;
    spec.kv_heads = 2;
    spec.ffn = 512;
    spec.vocab = 512;
    spec.ctx = 128;
    auto q = gguf::parse_matrix_quant(type);
    ASSERT_TRUE(q);
    spec.type = q->type;
    spec.mix = q->mix;
    spec.seed = 5;
    const auto m = testing::open_model(
        testing::write_once(spec, testing::test_dir("ig_engine_cuda_test") / (std::string(type) + ".gguf")));
    auto gpu = kernels::make_backend({kernels::BackendKind::Cuda, 1});
    auto ref = kernels::make_backend({kernels::BackendKind::Reference, 1});
    ASSERT_TRUE(gpu && ref);
    const std::vector<int32_t> t = {1, 40, 77, 300, 12, 499, 256, 8, 91, 450};
    const auto a = all_logits(m, **gpu, t, false);
    const auto b = all_logits(m, **gpu, t, true);
    const auto r = all_logits(m, **ref, t, false);
    ASSERT_TRUE((*gpu)->status()) << (*gpu)->status().error().to_string();
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4)) << type;
    ASSERT_EQ(a.size(), r.size());
    float top = 0.f;
    for (float v : r) top = std::max(top, std::fabs(v));
    for (size_t i = 0; i < r.size(); ++i) ASSERT_NEAR(a[i], r[i], 1e-3f * (1.f + top)) << type << " " << i;
  }
}

}  // namespace
}  // namespace ig::engine
