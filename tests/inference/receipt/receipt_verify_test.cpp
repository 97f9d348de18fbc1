// The verifier on stories260K: honest outputs verify; tampered, truncated,
// re-seeded and other-model outputs are rejected at the right step with a
// Merkle proof that checks.
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "inference/engine/engine.hpp"
#include "inference/gguf/random_model.hpp"
#include "inference/receipt/verifier.hpp"

namespace ig::receipt {
namespace {

const std::string kData = INFERGRID_SHARED_DATA;
using kernels::BackendKind;

struct Fixture {
  engine::Model model;
  Digest id;
};

const Fixture& stories() {
  static const Fixture f = [] {
    auto m = engine::Model::open(kData + "/models/stories260K.gguf");
    if (!m) throw std::runtime_error(m.error().to_string());
    Digest id = model_id(m->file());
    return Fixture{std::move(*m), id};
  }();
  return f;
}

std::unique_ptr<kernels::Backend> backend(BackendKind k = BackendKind::Cpu, int threads = 2) {
  return std::move(*kernels::make_backend({k, threads}));
}

Bundle produce(const engine::Model& m, const Digest& id, const engine::SamplingParams& p,
               std::vector<int32_t> prompt = {1, 403, 407, 261, 378}) {
  auto g = engine::generate(m, *backend(), prompt, p, m.config().eos_id);
  if (!g) throw std::runtime_error(g.error().to_string());
  Bundle b = seal(id, prompt, p, *g);
  EXPECT_EQ(b.output_ids, g->tokens);
  EXPECT_EQ(b.fingerprints.size(), g->steps.size());
  EXPECT_EQ(b.receipt.steps, g->tokens.size());
  return b;
}

// A cheater who rewrites the receipt consistently for its altered claims.
void reseal(Bundle& b) {
  b.receipt = make_receipt(b.receipt.model_id, b.prompt_ids, b.receipt.params, b.output_ids, b.fingerprints);
}

engine::SamplingParams greedy(uint32_t n) {
  engine::SamplingParams p;
  p.max_tokens = n;
  return p;
}

engine::SamplingParams sampled(uint32_t n, uint64_t seed) {
  engine::SamplingParams p;
  p.max_tokens = n;
  p.temperature = 0.8f;
  p.top_k = 40;
  p.top_p = 0.95f;
  p.seed = seed;
  return p;
}

Verdict run(const Bundle& b, Mode mode = Mode::Exact, BackendKind k = BackendKind::Cpu, int threads = 1) {
  const auto& s = stories();
  auto v = verify(s.model, s.id, *backend(k, threads), b, mode);
  if (!v) throw std::runtime_error(v.error().to_string());
  return *v;
}

TEST(ReceiptVerify, HonestGreedyOutputVerifiesExactlyOnAnyThreadCount) {
  const auto& s = stories();
  const Bundle b = produce(s.model, s.id, greedy(40));
  ASSERT_EQ(b.output_ids.size(), 40u);
  for (int threads : {1, 2}) {
    const Verdict v = run(b, Mode::Exact, BackendKind::Cpu, threads);
    EXPECT_TRUE(v.accepted) << v.code << " " << v.reason << " step " << v.first_bad_step;
    EXPECT_EQ(v.steps_checked, 40);
    EXPECT_EQ(v.exact_matches, 40);
  }
}

TEST(ReceiptVerify, HonestSampledOutputVerifies) {
  const auto& s = stories();
  const Bundle b = produce(s.model, s.id, sampled(48, 42));
  const Verdict v = run(b);
  EXPECT_TRUE(v.accepted) << v.code << " step " << v.first_bad_step;
  const Verdict t = run(b, Mode::Tolerant);
  EXPECT_TRUE(t.accepted) << t.code;
}

TEST(ReceiptVerify, TokenChangedAtStepKIsRejectedAtExactlyKWithValidProof) {
  const auto& s = stories();
  const Bundle honest = produce(s.model, s.id, greedy(30));
  for (uint32_t k : {0u, 7u, 29u}) {
    Bundle b = honest;
    b.output_ids[k] = (b.output_ids[k] + 100) % 512;  // any other token
    if (b.output_ids[k] == 2) b.output_ids[k] = 300;
    b.fingerprints[k].token = b.output_ids[k];
    reseal(b);
    for (Mode mode : {Mode::Exact, Mode::Tolerant}) {
      const Verdict v = run(b, mode);
      EXPECT_FALSE(v.accepted);
      EXPECT_EQ(v.code, "verify.step_mismatch");
      EXPECT_EQ(v.first_bad_step, int64_t(k));
      EXPECT_EQ(v.expected_token, honest.output_ids[k]);
      EXPECT_EQ(v.claimed.token, b.output_ids[k]);
      EXPECT_TRUE(check_evidence(b.receipt, v));
      EXPECT_FALSE(check_evidence(honest.receipt, v));  // the proof is tied to the cheater's root
    }
  }
}

TEST(ReceiptVerify, AlteredFingerprintOnlyIsRejectedInExactMode) {
  const auto& s = stories();
  Bundle b = produce(s.model, s.id, greedy(20));
  b.fingerprints[5].logit_q += 1;  // 1/65536 of a logit
  reseal(b);
  const Verdict v = run(b);
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.first_bad_step, 5);
  EXPECT_TRUE(check_evidence(b.receipt, v));
  EXPECT_TRUE(run(b, Mode::Tolerant).accepted);  // within tolerance by design
  b.fingerprints[5].logit_q += 65536 * 3;
  reseal(b);
  EXPECT_EQ(run(b, Mode::Tolerant).first_bad_step, 5);
}

TEST(ReceiptVerify, DifferentSeedIsRejected) {
  const auto& s = stories();
  Bundle b = produce(s.model, s.id, sampled(48, 1));
  b.receipt.params.seed = 2;
  reseal(b);
  const Verdict v = run(b);
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.code, "verify.step_mismatch");
  EXPECT_GE(v.first_bad_step, 0);
  EXPECT_TRUE(check_evidence(b.receipt, v));
}

TEST(ReceiptVerify, TruncatedOutputIsRejected) {
  const auto& s = stories();
  const Bundle honest = produce(s.model, s.id, greedy(30));
  Bundle cut = honest;  // receipt untouched, output cut short
  cut.output_ids.resize(25);
  cut.fingerprints.resize(25);
  Verdict v = run(cut);
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.code, "verify.truncated");
  EXPECT_EQ(v.first_bad_step, 25);
  reseal(cut);  // a consistent receipt for 25 steps of a 30-token task without EOS
  v = run(cut);
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.code, "verify.truncated");
  EXPECT_EQ(v.first_bad_step, 25);
  Bundle hashes = honest;  // output changed without updating the receipt
  hashes.output_ids[3] = 7;
  EXPECT_EQ(run(hashes).code, "verify.output_mismatch");
  Bundle prompt = honest;
  prompt.prompt_ids[1] = 404;
  EXPECT_EQ(run(prompt).code, "verify.prompt_mismatch");
}

TEST(ReceiptVerify, OutputOfADifferentModelIsRejected) {
  const auto dir = std::filesystem::temp_directory_path() / ("ig_receipt_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  gguf::RandomModelSpec spec;  // llama, 512-token vocab like stories260K
  spec.dim = 64;
  spec.heads = 8;
  spec.kv_heads = 4;
  spec.vocab = 512;
  const auto path = (dir / "other.gguf").string();
  ASSERT_TRUE(gguf::write_random_model(spec, path));
  auto other = engine::Model::open(path);
  ASSERT_TRUE(other) << other.error().to_string();
  const Digest other_id = model_id(other->file());
  Bundle b = produce(*other, other_id, greedy(20), {1, 403, 407});
  Verdict v = run(b);
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.code, "verify.model_mismatch");
  b.receipt.model_id = stories().id;  // lie about the model
  v = run(b, Mode::Tolerant);
  EXPECT_FALSE(v.accepted);
  EXPECT_EQ(v.code, "verify.step_mismatch");
  EXPECT_EQ(v.first_bad_step, 0);
  EXPECT_TRUE(check_evidence(b.receipt, v));
  std::filesystem::remove_all(dir);
}

TEST(ReceiptVerify, ReferenceBackendAcceptsCpuReceiptInTolerantMode) {
  const auto& s = stories();
  for (const auto& p : {greedy(24), sampled(24, 9)}) {
    const Bundle b = produce(s.model, s.id, p);
    const Verdict v = run(b, Mode::Tolerant, BackendKind::Reference);
    EXPECT_TRUE(v.accepted) << v.code << " step " << v.first_bad_step;
  }
}

TEST(ReceiptVerify, MalformedBundlesAreRejectedNotCrashed) {
  const auto& s = stories();
  const Bundle honest = produce(s.model, s.id, greedy(10));
  Bundle b = honest;
  b.fingerprints[2].token = 9;
  reseal(b);
  EXPECT_EQ(run(b).code, "verify.fingerprint_token");
  b = honest;
  b.output_ids[4] = 9999;
  b.fingerprints[4].token = 9999;
  reseal(b);
  EXPECT_EQ(run(b).code, "verify.bad_token");
  b = honest;
  b.output_ids[3] = 2;  // EOS in the middle
  b.fingerprints[3].token = 2;
  reseal(b);
  EXPECT_EQ(run(b).code, "verify.after_eos");
  b = honest;
  b.fingerprints[1].runner_up_q ^= 4;  // receipt not resealed
  EXPECT_EQ(run(b).code, "verify.root_mismatch");
  b = honest;
  b.prompt_ids.clear();
  reseal(b);
  EXPECT_EQ(run(b).code, "verify.bad_prompt");
}

}  // namespace
}  // namespace ig::receipt
