// Tolerant verification against every cheat kind of the verification study
// (docs/verification.md), each on a fixed seed, and honest results across backends (among them
// the issue's Qwen2-shaped Q8_0 model, fast CPU backend against the reference backend, greedy
// and sampled). Every rejection's evidence goes the way the verifier worker posts it
// (workers::chain_verdict), through the chain's codec, into the verdict rules of the chain's
// contract (contracts::tasks::check_verdict).
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "chain/codec.hpp"
#include "contracts/tasks.hpp"
#include "inference/engine/engine.hpp"
#include "inference/gguf/derive.hpp"
#include "inference/gguf/random_model.hpp"
#include "inference/receipt/fingerprint.hpp"
#include "inference/receipt/ids.hpp"
#include "inference/receipt/verifier.hpp"
#include "workers/verifier.hpp"

namespace ig::receipt {
namespace {

namespace fs = std::filesystem;
const std::string kData = INFERGRID_SHARED_DATA;
const std::string kPrompt = "Once upon a time, a little girl found a red ball.";

struct M {
  engine::Model model;
  tok::Tokenizer tk;
  ig::Hash32 id;
};

fs::path temp_dir() {
  static const fs::path d = [] {
    auto p = fs::temp_directory_path() / ("ig_receipt_cheats_" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

M open(const std::string& path) {
  auto m = engine::Model::open(path);
  if (!m) throw std::runtime_error(m.error().to_string());
  auto tk = model_tokenizer(*m);
  if (!tk) throw std::runtime_error(tk.error().to_string());
  const ig::Hash32 id = model_id(m->file());
  return M{std::move(*m), std::move(*tk), id};
}

const M& stories() {
  static const M m = open(kData + "/models/stories260K.gguf");
  return m;
}

// stories260K with its matrices re-quantized or noised (inference/gguf/derive.hpp).
const M& derived(const std::string& name, std::optional<gguf::TensorType> type, double noise) {
  static std::map<std::string, M> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  gguf::DeriveSpec spec;
  spec.matrix_type = type;
  spec.noise = noise;
  const std::string path = (temp_dir() / (name + ".gguf")).string();
  if (auto st = gguf::write_derived_model(kData + "/models/stories260K.gguf", spec, path); !st)
    throw std::runtime_error(st.error().to_string());
  return cache.emplace(name, open(path)).first->second;
}
const M& stories_q8() { return derived("stories-q8", gguf::TensorType::Q8_0, 0); }
const M& stories_q4() { return derived("stories-q4", gguf::TensorType::Q4_0, 0); }

// The issue's model: infergrid-gguf make --arch qwen2 --dim 512 --layers 8 --heads 8
// --kv-heads 2 --ffn 1536 --vocab 32000 --type q8_0 --seed 3.
const M& issue_q8() {
  static const M m = [] {
    gguf::RandomModelSpec s;
    s.arch = "qwen2";
    s.dim = 512;
    s.layers = 8;
    s.heads = 8;
    s.kv_heads = 2;
    s.ffn = 1536;
    s.vocab = 32000;
    s.type = gguf::TensorType::Q8_0;
    s.seed = 3;
    const std::string path = (temp_dir() / "qwen-q8.gguf").string();
    if (auto st = gguf::write_random_model(s, path); !st) throw std::runtime_error(st.error().to_string());
    return open(path);
  }();
  return m;
}

std::unique_ptr<kernels::Backend> backend(const std::string& name) {
  kernels::BackendOptions o;
  o.threads = 1;
  if (name == "reference") o.kind = kernels::BackendKind::Reference;
  else if (name != "cpu") o.cpu_variant = name;  // "scalar", "avx2", "avx512"
  auto b = kernels::make_backend(o);
  return b ? std::move(*b) : nullptr;
}

ig::SamplingParams params(bool sampled, uint64_t seed = 7, uint32_t n = 64) {
  ig::SamplingParams p;
  p.max_tokens = n;
  if (sampled) {
    p.temperature_milli = 800;
    p.top_k = 40;
    p.top_p_milli = 950;
    p.seed = seed;
  }
  return p;
}

TaskResult produce(const M& m, const ig::Hash32& claimed_id, const std::string& be, const ig::SamplingParams& p,
                   const std::string& prompt = kPrompt) {
  auto r = run_task(m.model, m.tk, claimed_id, *backend(be), prompt, p);
  if (!r) throw std::runtime_error(r.error().to_string());
  return *r;
}
TaskResult produce(const M& m, const std::string& be, const ig::SamplingParams& p, const std::string& prompt = kPrompt) {
  return produce(m, m.id, be, p, prompt);
}

Verdict check(const M& m, const TaskResult& r, const std::string& be = "reference") {
  auto b = backend(be);
  auto v = verify(m.model, m.tk, m.id, *b, r, mode_for(r.receipt, *b));
  if (!v) throw std::runtime_error(v.error().to_string());
  return *v;
}

void reseal(const M& m, TaskResult& r) {
  r.text = *output_text(m.tk, r.output);
  r.receipt = make_receipt(r.receipt.model_id, r.prompt, r.params, r.output, r.fingerprints, r.receipt.backend);
}

// The rejection as the verifier worker posts it, through the chain's codec, accepted by the
// chain's verdict rules for this task.
void expect_chain_accepts(const TaskResult& r, const Verdict& v) {
  ASSERT_FALSE(v.accepted);
  auto posted = workers::chain_verdict(42, v);
  ASSERT_TRUE(posted) << posted.error().to_string();
  chain::Writer w;
  chain::encode_payload(w, chain::Payload{*posted});
  chain::Reader rd(w.data());
  const chain::Payload back = chain::read_payload(rd);
  ASSERT_TRUE(rd.finish());
  ASSERT_TRUE(std::holds_alternative<chain::Verdict>(back));
  contracts::tasks::Task task;
  task.id = 42;
  task.output_tokens = r.output;
  task.receipt = r.receipt;
  auto st = contracts::tasks::check_verdict(task, std::get<chain::Verdict>(back));
  EXPECT_TRUE(st) << v.code << ": " << st.error().to_string();
  EXPECT_EQ(std::get<chain::Verdict>(back).reason, v.code == "verify.too_long" ? "verify.stop_rule" : v.code);
  EXPECT_EQ(std::get<chain::Verdict>(back).evidence.has_value(), v.has_proof);
}

bool step_code(const Verdict& v) {
  return v.code == "verify.token_mismatch" || v.code == "verify.logit_mismatch" || v.code == "verify.greedy_claim" ||
         v.code == "verify.logit_drift";
}

TEST(ReceiptCheats, TheIssuesQ8ModelVerifiesAcrossBackendsGreedyAndSampled) {
  const M& m = issue_q8();
  ASSERT_EQ(noise_class(m.model), NoiseClass::Quantized);
  for (const auto& p : {params(false), params(true, 3), params(true, 11)}) {
    const TaskResult r = produce(m, "cpu", p);
    ASSERT_EQ(r.output.size(), 64u);
    const Verdict v = check(m, r, "reference");
    EXPECT_EQ(v.mode, Mode::Tolerant);
    EXPECT_TRUE(v.accepted) << v.code << " at " << v.first_bad_step << ": " << v.reason;
    EXPECT_LT(v.drift, v.drift_limit);
  }
  const TaskResult back = produce(m, "reference", params(true, 5), "The quick brown fox");
  const Verdict v = check(m, back, "cpu");
  EXPECT_EQ(v.mode, Mode::Tolerant);
  EXPECT_TRUE(v.accepted) << v.code << " at " << v.first_bad_step;
}

TEST(ReceiptCheats, HonestResultsVerifyAcrossBackendsAndCpuVariants) {
  for (const M* m : {&stories(), &stories_q8()}) {
    for (bool sampled : {false, true}) {
      const ig::SamplingParams p = params(sampled, 21);
      for (auto [miner, verifier] : {std::pair{"cpu", "reference"}, {"reference", "cpu"}, {"scalar", "cpu"}}) {
        const TaskResult r = produce(*m, miner, p);
        const Verdict v = check(*m, r, verifier);
        EXPECT_EQ(v.mode, Mode::Tolerant) << miner << "->" << verifier;
        EXPECT_TRUE(v.accepted) << miner << "->" << verifier << ": " << v.code << " at " << v.first_bad_step;
      }
      if (kernels::cpu_has_avx2() && backend("avx512")) {  // the same numerics tag: exact
        const Verdict v = check(*m, produce(*m, "avx2", p), "avx512");
        EXPECT_EQ(v.mode, Mode::Exact);
        EXPECT_TRUE(v.accepted) << v.code;
      }
    }
  }
}

TEST(ReceiptCheats, AQuantizationDowngradeIsRejectedWithin64Tokens) {
  // Q4_0 weights run for a Q8_0 model, and Q8_0 weights for an F32 one; the receipt names the
  // claimed model. Checked on another backend, in tolerant mode.
  for (auto [used, claimed] : {std::pair{&stories_q4(), &stories_q8()}, {&stories_q8(), &stories()}}) {
    for (bool sampled : {false, true}) {
      const TaskResult r = produce(*used, claimed->id, "cpu", params(sampled, 9));
      const Verdict v = check(*claimed, r, "reference");
      EXPECT_FALSE(v.accepted);
      EXPECT_TRUE(step_code(v)) << v.code;
      EXPECT_LT(v.first_bad_step, 64);
      expect_chain_accepts(r, v);
    }
  }
}

TEST(ReceiptCheats, AnotherModelIsRejectedWithin16Tokens) {
  // A "fine-tuned" copy (0.1% noise on every matrix) and a random model with the same vocabulary.
  gguf::RandomModelSpec spec;
  spec.dim = 64;
  spec.heads = 8;
  spec.kv_heads = 4;
  spec.vocab = 512;
  const std::string path = (temp_dir() / "other.gguf").string();
  ASSERT_TRUE(gguf::write_random_model(spec, path));
  const M other = open(path);
  for (const M* used : {&derived("stories-n3", std::nullopt, 1e-3), &other}) {
    for (bool sampled : {false, true}) {
      TaskResult r = produce(*used, stories().id, "cpu", params(sampled, 4));
      reseal(stories(), r);  // the text as the claimed model's tokenizer renders it
      const Verdict v = check(stories(), r, "reference");
      EXPECT_FALSE(v.accepted);
      EXPECT_TRUE(step_code(v)) << v.code;
      EXPECT_LT(v.first_bad_step, 16);
      expect_chain_accepts(r, v);
    }
  }
}

TEST(ReceiptCheats, AOnePercentNeighbourOfAQ8ModelIsCaughtWithin64Tokens) {
  // The study's hardest substitution: stories260K's Q8_0 file with noise of 1% of each
  // matrix's RMS added, run for the Q8_0 model. Its logits differ from the claimed model's by
  // about 3x the honest noise between the fast CPU and the reference backend, so single steps
  // rarely show it; over 64 tokens the residuals do (the study: ~95% within 64 tokens, 13%
  // within 16). On these fixed seeds every result is rejected within 64 tokens.
  const M& neighbour = derived("stories-q8-n2", gguf::TensorType::Q8_0, 1e-2);
  int drift = 0;
  for (uint64_t seed : {1, 2, 3}) {
    for (bool sampled : {false, true}) {
      const std::string prompt = "Once upon a time, " + std::to_string(seed) + " little birds sang.";
      const TaskResult r = produce(neighbour, stories_q8().id, "cpu", params(sampled, seed), prompt);
      ASSERT_EQ(r.output.size(), 64u);
      const Verdict v = check(stories_q8(), r, "reference");
      EXPECT_FALSE(v.accepted) << seed << (sampled ? " sampled" : " greedy");
      EXPECT_TRUE(step_code(v)) << v.code;
      EXPECT_LT(v.first_bad_step, 64);
      drift += v.code == "verify.logit_drift";
      if (!v.accepted) expect_chain_accepts(r, v);
    }
  }
  EXPECT_GT(drift, 0);  // the statistical test, not only the per-step rules, carries this cheat
}

TEST(ReceiptCheats, AChangedTokenIsCaughtAtItsStep) {
  for (const M* m : {&stories(), &stories_q8(), &issue_q8()}) {
    const int vocab = m->model.config().vocab;
    const int32_t eos = m->model.config().eos_id;
    for (bool sampled : {false, true}) {
      const TaskResult honest = produce(*m, "cpu", params(sampled, 13, 24));
      for (uint32_t k : {0u, 11u, 23u}) {
        TaskResult r = honest;
        uint32_t t = (r.output[k] + 97) % uint32_t(vocab);
        if (int32_t(t) == eos) t = (t + 1) % uint32_t(vocab);
        r.output[k] = t;
        r.fingerprints[k].token = int32_t(t);  // with the numbers of the token it replaced
        reseal(*m, r);
        const Verdict v = check(*m, r, "reference");
        EXPECT_FALSE(v.accepted);
        EXPECT_EQ(v.first_bad_step, int64_t(k)) << v.code;
        EXPECT_TRUE(v.code == "verify.token_mismatch" || v.code == "verify.logit_mismatch") << v.code;
        EXPECT_TRUE(check_evidence(r.receipt, v));
        expect_chain_accepts(r, v);
      }
    }
  }
}

TEST(ReceiptCheats, ATruncatedOutputIsRejected) {
  const TaskResult honest = produce(stories(), "cpu", params(false, 1, 40));
  TaskResult cut = honest;
  cut.output.resize(17);
  cut.fingerprints.resize(17);
  reseal(stories(), cut);
  Verdict v = check(stories(), cut);
  EXPECT_EQ(v.code, "verify.stop_rule");
  EXPECT_FALSE(v.has_proof);
  expect_chain_accepts(cut, v);
  cut.output.back() = uint32_t(stories().model.config().eos_id);  // dressed up with an EOS
  cut.fingerprints.back().token = stories().model.config().eos_id;
  reseal(stories(), cut);
  v = check(stories(), cut);
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.first_bad_step, 16);
  EXPECT_TRUE(v.has_proof);
  expect_chain_accepts(cut, v);
}

TEST(ReceiptCheats, GreedyClaimedButSampledIsRejected) {
  for (const M* m : {&stories(), &stories_q8()}) {
    TaskResult r = produce(*m, "cpu", params(true, 17, 32));
    r.params = params(false, 0, 32);
    Verdict v = check(*m, r);  // the claim's own numbers betray it
    EXPECT_EQ(v.code, "verify.params_mismatch");
    reseal(*m, r);
    v = check(*m, r);
    EXPECT_EQ(v.code, "verify.greedy_claim");
    expect_chain_accepts(r, v);
    for (auto& f : r.fingerprints) f.runner_up_q = std::min(f.runner_up_q, f.logit_q);  // hidden
    reseal(*m, r);
    v = check(*m, r);
    EXPECT_FALSE(v.accepted);
    EXPECT_TRUE(v.code == "verify.token_mismatch" || v.code == "verify.logit_mismatch") << v.code;
    expect_chain_accepts(r, v);
  }
}

TEST(ReceiptCheats, SampledWithAnotherSeedIsRejected) {
  for (const M* m : {&stories(), &stories_q8(), &issue_q8()}) {
    TaskResult r = produce(*m, "cpu", params(true, 101, 32));
    r.params.seed = 102;
    reseal(*m, r);
    const Verdict v = check(*m, r);
    EXPECT_EQ(v.code, "verify.token_mismatch");
    EXPECT_LT(v.first_bad_step, 16);
    expect_chain_accepts(r, v);
  }
}

TEST(ReceiptCheats, TheDriftTestCatchesWhatNoSingleStepShows) {
  // Every claimed logit and runner-up moved by 5 noise sigmas: each step is within the per-step
  // bound (logit_k = 8 sigmas), the output as a whole is not.
  const M& m = stories_q8();
  const TaskResult honest = produce(m, "cpu", params(false, 0, 64));
  auto ref = backend("reference");
  auto c = verify_detailed(m.model, m.tk, m.id, *ref, honest, Mode::Tolerant);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->verdict.accepted) << c->verdict.code;
  const Tolerance tol = default_tolerance(NoiseClass::Quantized);
  ASSERT_GT(tol.logit_k, 5.0);
  TaskResult r = honest;
  for (size_t t = 0; t < r.fingerprints.size(); ++t) {
    const int32_t shift = int32_t(std::lround(5.0 * step_sigma(c->steps[t], tol) * kLogitScale));
    const int sign = t % 2 ? 1 : -1;
    r.fingerprints[t].logit_q = c->steps[t].recomputed.logit_q + sign * shift;
    r.fingerprints[t].runner_up_q = c->steps[t].recomputed.runner_up_q + sign * shift;
  }
  reseal(m, r);
  const Verdict v = check(m, r);
  EXPECT_EQ(v.code, "verify.logit_drift");
  EXPECT_GT(v.drift, v.drift_limit);
  EXPECT_FALSE(v.has_proof);  // a property of the whole output: no step proves it
  EXPECT_GE(v.first_bad_step, 0);
  expect_chain_accepts(r, v);
}

TEST(ReceiptCheats, ExactModeStillDemandsEveryBit) {
  // On the same numerics tag nothing is tolerated: one unit of 2^-16 in one fingerprint.
  const M& m = issue_q8();
  TaskResult r = produce(m, "cpu", params(false, 0, 16));
  r.fingerprints[3].runner_up_q += 1;
  reseal(m, r);
  const Verdict v = check(m, r, "cpu");
  EXPECT_EQ(v.mode, Mode::Exact);
  EXPECT_EQ(v.code, "verify.logit_mismatch");
  EXPECT_EQ(v.first_bad_step, 3);
  expect_chain_accepts(r, v);
}

}  // namespace
}  // namespace ig::receipt
