// Random-weight models in the K-quants (pure Q4_K/Q5_K/Q6_K and llama.cpp's Q4_K_M/Q5_K_M
// mixes), written by ig_gguf_make: the mix's per-tensor types, fast backend vs reference, bitwise
// batch/thread/variant invariance of the fast backend, greedy generation equal to the reference
// backend's, and hostile K-quant files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <unistd.h>

#include "inference/engine/engine.hpp"
#include "tests/inference/engine/logits_helpers.hpp"
#include "tests/inference/engine/model_files.hpp"
#include "inference/gguf/kquant_mix.hpp"
#include "inference/gguf/random_model.hpp"
#include "inference/receipt/result.hpp"
#include "inference/receipt/verifier.hpp"

namespace ig::engine {
namespace {

namespace fs = std::filesystem;
using gguf::TensorType;

struct Spec {
  std::string arch;
  std::string type;  // infergrid-gguf make --type
  bool tied;
  uint32_t dim = 256;  // 384: rows that are not whole super-blocks take llama.cpp's fallbacks
};

std::string name_of(const Spec& s) {
  return s.arch + "_" + s.type + (s.tied ? "_tied" : "") + (s.dim != 256 ? "_" + std::to_string(s.dim) : "");
}

fs::path temp_dir() {
  static const fs::path dir = testing::test_dir("ig_engine_kquant_test");
  return dir;
}

constexpr int kVocab = 512;

gguf::RandomModelSpec spec_of(const Spec& s) {
  gguf::RandomModelSpec r;
  r.arch = s.arch;
  r.dim = s.dim;
  r.layers = 4;  // use_more_bits(i, 4): layers 2 and 3 get Q6_K attn_v/ffn_down in the mixes
  r.heads = 4;
  r.kv_heads = 2;
  r.ffn = 512;
  r.vocab = kVocab;
  r.ctx = 256;
  auto q = gguf::parse_matrix_quant(s.type);
  if (!q) throw std::runtime_error(q.error().to_string());
  r.type = q->type;
  r.mix = q->mix;
  r.tied = s.tied;
  r.seed = 91;
  return r;
}

fs::path model_path(const Spec& s) { return testing::write_once(spec_of(s), temp_dir() / (name_of(s) + ".gguf")); }

Model load(const Spec& s) { return testing::open_model(model_path(s)); }

std::vector<int32_t> tokens(int n, uint32_t seed) { return testing::random_tokens(n, seed, kVocab); }
using testing::prefill;
using testing::stepwise;

std::unique_ptr<kernels::Backend> backend(kernels::BackendKind k, int threads, const std::string& variant = "") {
  auto b = kernels::make_backend({k, threads, variant});
  if (!b) throw std::runtime_error(b.error().to_string());
  return std::move(*b);
}

class EngineKQuant : public ::testing::TestWithParam<Spec> {};

TEST_P(EngineKQuant, FastMatchesReferenceWithinTolerance) {
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
  // The fast path's 8-bit activations, here with one scale per 256 values (Q8_K, as llama.cpp)
  // rather than per 32 (Q8_0: 3e-2 in engine_random_test), through four layers.
  EXPECT_LE(worst, 5e-2 * scale) << name_of(GetParam()) << " worst " << worst << " scale " << scale;
  EXPECT_GT(worst, 0.0);
}

TEST_P(EngineKQuant, TokenByTokenEqualsPrefillBitwiseFor1And2Threads) {
  const Model m = load(GetParam());
  const auto t = tokens(70, 5);  // crosses the 64-token prefill chunk
  auto one = backend(kernels::BackendKind::Cpu, 1);
  auto two = backend(kernels::BackendKind::Cpu, 2);
  const auto a = prefill(m, *one, t);
  const auto b = stepwise(m, *one, t);
  const auto c = prefill(m, *two, t);
  const auto d = stepwise(m, *two, t);
  ASSERT_EQ(a.size(), size_t(70) * kVocab);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4)) << "prefill vs token-by-token";
  EXPECT_EQ(0, std::memcmp(a.data(), c.data(), a.size() * 4)) << "1 vs 2 threads";
  EXPECT_EQ(0, std::memcmp(a.data(), d.data(), a.size() * 4));
}

// Every CPU variant this machine runs gives the same logits bit for bit (the K-quant kernels
// are bitwise equal across variants; see dot_kquants.hpp).
TEST_P(EngineKQuant, EveryCpuVariantGivesTheSameLogits) {
  const Model m = load(GetParam());
  const auto t = tokens(9, 7);
  const auto want = prefill(m, *backend(kernels::BackendKind::Cpu, 1, "avx2"), t);
  int n = 0;
  for (const char* v : {"avxvnni", "avx512", ""}) {
    auto b = kernels::make_backend({kernels::BackendKind::Cpu, 2, v});
    if (!b) continue;
    ++n;
    const auto got = prefill(m, **b, t);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * 4)) << "variant '" << v << "'";
  }
  RecordProperty("variants_compared", n);
}

std::vector<Spec> all_specs() {
  return {{"llama", "q4_k", false},  {"llama", "q5_k", false},       {"qwen2", "q6_k", false},
          {"llama", "q4_k_m", false}, {"qwen2", "q4_k_m", true},       {"qwen2", "q5_k_m", false},
          {"qwen2", "q4_k_m", false, 384}, {"llama", "q5_k_m", true, 384}};
}

INSTANTIATE_TEST_SUITE_P(Models, EngineKQuant, ::testing::ValuesIn(all_specs()),
                         [](const auto& i) { return name_of(i.param); });

// The per-tensor types of llama.cpp's Q4_K_M on a 4-layer model: output Q6_K; attn_v and
// ffn_down Q6_K in layers 2 and 3 (use_more_bits); Q4_K everywhere else; norms F32.
TEST(EngineKQuantMix, Q4KMHasLlamaCppsTensorTypes) {
  const Model m = load({"llama", "q4_k_m", false});
  const gguf::File& f = m.file();
  auto type_of = [&](const std::string& n) {
    auto t = f.get_tensor(n);
    EXPECT_TRUE(t) << n;
    return t ? (*t)->type : TensorType::F32;
  };
  EXPECT_EQ(type_of("output.weight"), TensorType::Q6_K);
  EXPECT_EQ(type_of("token_embd.weight"), TensorType::Q4_K);
  EXPECT_EQ(type_of("output_norm.weight"), TensorType::F32);
  for (int l = 0; l < 4; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const TensorType more = l >= 2 ? TensorType::Q6_K : TensorType::Q4_K;
    EXPECT_EQ(type_of(p + "attn_v.weight"), more) << l;
    EXPECT_EQ(type_of(p + "ffn_down.weight"), more) << l;
    for (const char* n : {"attn_q.weight", "attn_k.weight", "attn_output.weight", "ffn_gate.weight", "ffn_up.weight"})
      EXPECT_EQ(type_of(p + n), TensorType::Q4_K) << p << n;
    EXPECT_EQ(type_of(p + "attn_norm.weight"), TensorType::F32);
  }
  auto ft = f.get_uint("general.file_type");
  ASSERT_TRUE(ft);
  EXPECT_EQ(*ft, 15u);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
  // Tied embeddings: the embedding doubles as the output and gets the output's Q6_K.
  const Model tied = load({"qwen2", "q4_k_m", true});
  EXPECT_EQ((*tied.file().get_tensor("token_embd.weight"))->type, TensorType::Q6_K);
  EXPECT_EQ(tied.output().data, tied.token_embd().data);
  EXPECT_EQ(tied.output().type, kernels::DType::Q6_K);
}

// Rows of 384 values (like Qwen2.5-0.5B's 896, not whole super-blocks) take llama.cpp's
// fallbacks: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0; ffn_down (rows of ffn = 512) stays K.
TEST(EngineKQuantMix, FallbackTypesForRowsThatAreNotSuperBlocks) {
  const Model m = load({"qwen2", "q4_k_m", false, 384});
  const Model m5 = load({"llama", "q5_k_m", true, 384});
  auto type_of = [](const Model& mm, const std::string& n) { return (*mm.file().get_tensor(n))->type; };
  EXPECT_EQ(type_of(m, "output.weight"), TensorType::Q8_0);
  EXPECT_EQ(type_of(m, "token_embd.weight"), TensorType::Q5_0);
  EXPECT_EQ(type_of(m, "blk.0.attn_q.weight"), TensorType::Q5_0);
  EXPECT_EQ(type_of(m, "blk.0.attn_v.weight"), TensorType::Q5_0);
  EXPECT_EQ(type_of(m, "blk.3.attn_v.weight"), TensorType::Q8_0);  // Q6_K's fallback
  EXPECT_EQ(type_of(m, "blk.0.ffn_down.weight"), TensorType::Q4_K);
  EXPECT_EQ(type_of(m, "blk.3.ffn_down.weight"), TensorType::Q6_K);
  EXPECT_EQ(type_of(m5, "token_embd.weight"), TensorType::Q8_0);  // tied: the output's Q6_K -> Q8_0
  EXPECT_EQ(type_of(m5, "blk.1.ffn_up.weight"), TensorType::Q5_1);
  EXPECT_EQ(type_of(m5, "blk.1.ffn_down.weight"), TensorType::Q5_K);
  EXPECT_EQ(m.layers()[0].wq.type, kernels::DType::Q5_0);
  EXPECT_EQ(m5.layers()[0].wq.type, kernels::DType::Q5_1);
}

// The rules on a 32-layer model, as llama.cpp applies them to Llama-2-7B / Qwen2.5-7B sizes.
TEST(EngineKQuantMix, UseMoreBitsLayersOfA32LayerModel) {
  const gguf::MatrixQuant q{TensorType::Q4_K, gguf::QuantMix::Q4_K_M};
  std::vector<int> six;
  for (int l = 0; l < 32; ++l)
    if (gguf::mix_tensor_type(q, "blk." + std::to_string(l) + ".ffn_down.weight", 32, true) == TensorType::Q6_K)
      six.push_back(l);
  // i < 4, i >= 28, (i - 4) % 3 == 2
  EXPECT_EQ(six, (std::vector<int>{0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}));
  EXPECT_EQ(gguf::mix_tensor_type(q, "blk.5.attn_q.weight", 32, true), TensorType::Q4_K);
  EXPECT_EQ(gguf::mix_tensor_type(q, "token_embd.weight", 32, true), TensorType::Q4_K);
  EXPECT_EQ(gguf::mix_tensor_type(q, "token_embd.weight", 32, false), TensorType::Q6_K);
  const gguf::MatrixQuant q5{TensorType::Q5_K, gguf::QuantMix::Q5_K_M};
  EXPECT_EQ(gguf::mix_tensor_type(q5, "blk.3.attn_v.weight", 32, true), TensorType::Q6_K);
  EXPECT_EQ(gguf::mix_tensor_type(q5, "blk.4.attn_v.weight", 32, true), TensorType::Q5_K);
  // Rows that are not whole super-blocks: llama.cpp's fallbacks.
  EXPECT_EQ(gguf::kquant_fallback(TensorType::Q4_K, 896), TensorType::Q5_0);
  EXPECT_EQ(gguf::kquant_fallback(TensorType::Q5_K, 896), TensorType::Q5_1);
  EXPECT_EQ(gguf::kquant_fallback(TensorType::Q6_K, 896), TensorType::Q8_0);
  EXPECT_EQ(gguf::kquant_fallback(TensorType::Q6_K, 172), TensorType::F16);
  EXPECT_EQ(gguf::kquant_fallback(TensorType::Q6_K, 4864), TensorType::Q6_K);
  EXPECT_EQ(gguf::llama_file_type(q5), 17u);
}

// A generated Q4_K_M model generates, and its greedy output is the reference backend's.
// Random weights give flat next-token distributions: decision margins of a few hundredths,
// the size of the fast path's 8-bit-activation noise, so on some prompts the two backends
// legitimately part at a near tie (what tolerant verification is for). This prompt's margins
// are checked to exceed the logit differences, so equal outputs are required, not lucky.
TEST(EngineKQuantMix, Q4KMGreedyGenerationMatchesTheReferenceBackend) {
  const Model m = load({"llama", "q4_k_m", false});
  ig::SamplingParams p;
  p.max_tokens = 16;
  p.temperature_milli = 0;
  const auto prompt = tokens(5, 26);
  auto fast = generate(m, *backend(kernels::BackendKind::Cpu, 2), prompt, p, -1);
  auto ref = generate(m, *backend(kernels::BackendKind::Reference, 1), prompt, p, -1);
  ASSERT_TRUE(fast) << fast.error().to_string();
  ASSERT_TRUE(ref) << ref.error().to_string();
  ASSERT_EQ(fast->tokens.size(), 16u);
  EXPECT_EQ(fast->tokens, ref->tokens);
  for (size_t i = 0; i < ref->steps.size() && i < fast->steps.size(); ++i) {
    const float margin = ref->steps[i].logit - ref->steps[i].runner_up;
    const float diff = std::fabs(ref->steps[i].logit - fast->steps[i].logit) +
                       std::fabs(ref->steps[i].runner_up - fast->steps[i].runner_up);
    EXPECT_GT(margin, diff) << "step " << i;
  }
  // The fast backend's greedy run is reproducible bit for bit on one thread.
  auto again = generate(m, *backend(kernels::BackendKind::Cpu, 1), prompt, p, -1);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->tokens, fast->tokens);
  for (size_t i = 0; i < fast->steps.size(); ++i)
    EXPECT_EQ(std::memcmp(&fast->steps[i].logit, &again->steps[i].logit, 4), 0) << i;
}

// With tied embeddings the input token's own logit dominates (margins of whole units), so the
// greedy outputs must agree on any prompt.
TEST(EngineKQuantMix, TiedQ4KMGreedyGenerationMatchesTheReferenceBackend) {
  const Model m = load({"qwen2", "q4_k_m", true});
  ig::SamplingParams p;
  p.max_tokens = 12;
  p.temperature_milli = 0;
  for (uint32_t seed : {1u, 2u, 3u}) {
    const auto prompt = tokens(4, seed);
    auto fast = generate(m, *backend(kernels::BackendKind::Cpu, 2), prompt, p, -1);
    auto ref = generate(m, *backend(kernels::BackendKind::Reference, 1), prompt, p, -1);
    ASSERT_TRUE(fast && ref);
    EXPECT_EQ(fast->tokens, ref->tokens) << "prompt seed " << seed;
  }
}

// A miner's task on a Q4_K_M model (with Q5_0/Q8_0 fallbacks) verifies exactly on another
// thread count, and tolerantly on the reference backend.
TEST(EngineKQuantMix, TaskResultsVerifyExactlyAcrossThreadCounts) {
  const Model m = load({"qwen2", "q4_k_m", false, 384});
  ig::Hash32 id{};
  id.fill(0x4b);
  ig::SamplingParams p;
  p.max_tokens = 20;
  p.temperature_milli = 800;
  p.top_k = 40;
  p.top_p_milli = 950;
  p.seed = 3;
  auto one = backend(kernels::BackendKind::Cpu, 1);
  auto two = backend(kernels::BackendKind::Cpu, 2);
  auto r = receipt::run_task(m, id, *one, "Once upon a time", p);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->output.size(), 20u);
  auto r2 = receipt::run_task(m, id, *two, "Once upon a time", p);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r->receipt, r2->receipt);  // the same bits on 1 and 2 threads
  auto v = receipt::verify(m, id, *two, *r, receipt::mode_for(r->receipt, *two));
  ASSERT_TRUE(v) << v.error().to_string();
  EXPECT_TRUE(v->accepted) << v->code << " " << v->reason;
  EXPECT_EQ(v->mode, receipt::Mode::Exact);
  auto ref = backend(kernels::BackendKind::Reference, 1);
  auto vt = receipt::verify(m, id, *ref, *r, receipt::mode_for(r->receipt, *ref));
  ASSERT_TRUE(vt) << vt.error().to_string();
  EXPECT_EQ(vt->mode, receipt::Mode::Tolerant);
  // (the thresholds were calibrated on Q8_0/Q4_0 models; this K-quant task passes them)
  EXPECT_TRUE(vt->accepted) << vt->code << " " << vt->reason;
  // One flipped output token is caught exactly.
  auto bad = *r;
  bad.output[5] = (bad.output[5] + 1) % kVocab;
  ASSERT_TRUE(receipt::reseal(m, bad));
  auto vb = receipt::verify(m, id, *two, bad, receipt::Mode::Exact);
  ASSERT_TRUE(vb);
  EXPECT_FALSE(vb->accepted);
}

std::vector<uint8_t> file_bytes(const fs::path& p) {
  std::vector<uint8_t> b(fs::file_size(p));
  FILE* f = std::fopen(p.string().c_str(), "rb");
  EXPECT_NE(f, nullptr);
  EXPECT_EQ(std::fread(b.data(), 1, b.size(), f), b.size());
  std::fclose(f);
  return b;
}

// Hostile K-quant files: truncated tensor data and rows that are not whole super-blocks are
// clear errors, never reads out of range.
TEST(EngineKQuantHostile, TruncatedDataAndBadShapesAreClearErrors) {
  const Spec s{"llama", "q4_k_m", false};
  const auto bytes = file_bytes(model_path(s));
  auto good = gguf::File::from_bytes(bytes);
  ASSERT_TRUE(good) << good.error().to_string();
  // The tensor whose data ends last; cut the file inside it.
  const gguf::TensorInfo* last = nullptr;
  for (const auto& t : good->tensors())
    if (!last || t.offset > last->offset) last = &t;
  ASSERT_NE(last, nullptr);
  for (size_t cut : {size_t(1), size_t(100), last->n_bytes - 1}) {
    std::vector<uint8_t> trunc(bytes.begin(), bytes.end() - long(cut));
    auto f = gguf::File::from_bytes(trunc);
    ASSERT_FALSE(f) << "cut " << cut;
    EXPECT_EQ(f.error().code, "gguf.out_of_range") << f.error().to_string();
    EXPECT_NE(f.error().message.find(last->name), std::string::npos) << f.error().to_string();
  }

  // blk.0.attn_q.weight [256, 256] Q4_K rewritten as [128, 512]: same element count, but a row of
  // 128 values is half a super-block.
  auto find_u64 = [&](size_t from, uint64_t v) {
    for (size_t i = from; i + 8 <= bytes.size(); ++i) {
      uint64_t x;
      std::memcpy(&x, bytes.data() + i, 8);
      if (x == v) return i;
    }
    return size_t(-1);
  };
  const std::string name = "blk.0.attn_q.weight";
  size_t at = 0;
  for (size_t i = 0; i + name.size() <= bytes.size(); ++i)
    if (std::memcmp(bytes.data() + i, name.data(), name.size()) == 0) {
      at = i + name.size();
      break;
    }
  ASSERT_GT(at, 0u);
  // layout after the name: n_dims u32, ne0 u64, ne1 u64, type u32
  uint32_t n_dims;
  std::memcpy(&n_dims, bytes.data() + at, 4);
  ASSERT_EQ(n_dims, 2u);
  ASSERT_EQ(find_u64(at + 4, 256), at + 4);
  std::vector<uint8_t> bad = bytes;
  const uint64_t ne0 = 128, ne1 = 512;
  std::memcpy(bad.data() + at + 4, &ne0, 8);
  std::memcpy(bad.data() + at + 12, &ne1, 8);
  auto f = gguf::File::from_bytes(bad);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, "gguf.bad_shape");
  EXPECT_NE(f.error().message.find("256"), std::string::npos) << f.error().to_string();
  EXPECT_NE(f.error().message.find(name), std::string::npos) << f.error().to_string();

  // A file whose Q4_K matrix has the wrong shape for the model (rows of 512 where 256 are
  // expected) loads as GGUF but is refused by the engine.
  gguf::Writer w;
  for (const auto& kv : good->metadata())
    if (kv.key != "general.alignment") w.set(kv.key, kv.value);
  for (const auto& t : good->tensors()) {
    std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    if (t.name == name) ne = {512, 128};
    ASSERT_TRUE(w.add_tensor(t.name, t.type, ne, std::vector<uint8_t>(t.data, t.data + t.n_bytes)));
  }
  auto wb = w.to_bytes();
  ASSERT_TRUE(wb);
  auto f2 = gguf::File::from_bytes(*wb);
  ASSERT_TRUE(f2) << f2.error().to_string();
  auto m = Model::from_gguf(*f2);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, "engine.bad_shape");
  EXPECT_NE(m.error().message.find(name), std::string::npos);
}

// Writing: K-quant rows must be whole super-blocks or hold llama.cpp's 32-value fallbacks.
TEST(EngineKQuantHostile, MakeRefusesShapesThatAreNotSuperBlocks) {
  gguf::RandomModelSpec r = spec_of({"llama", "q4_k_m", false});
  r.dim = 200;  // not even the fallbacks' 32
  r.heads = 4;
  auto st = gguf::build_random_model(r);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("multiples of 32"), std::string::npos) << st.error().to_string();
  r = spec_of({"llama", "q6_k", false});
  r.ffn = 650;
  st = gguf::build_random_model(r);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("multiples of 32"), std::string::npos);
}

}  // namespace
}  // namespace ig::engine
