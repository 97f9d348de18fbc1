// What a miner and a verifier do to one task, without a network: run the task on the bundled
// model, carry the result in a SubmitResult through the chain codec, verify it; and the
// cheats the demo miner makes are caught at exactly the altered step with evidence the chain
// can check.
#include <gtest/gtest.h>

#include <cmath>

#include "chain/codec.hpp"
#include "chain/tx.hpp"
#include "inference/receipt/result.hpp"
#include "inference/receipt/fingerprint.hpp"
#include "inference/receipt/verifier.hpp"
#include "workers/cheat.hpp"
#include "workers/model_catalog.hpp"
#include "workers/verifier.hpp"

namespace ig::workers {
namespace {

const std::string kModel = std::string(INFERGRID_SHARED_DATA) + "/models/stories260K.gguf";

class RoundTrip : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto c = ModelCatalog::load({kModel});
    ASSERT_TRUE(c) << c.error().to_string();
    catalog_ = new ModelCatalog(std::move(*c));
  }
  static void TearDownTestSuite() { delete catalog_; }

  const CatalogModel& model() { return *catalog_->find(catalog_->ids_hex().front()); }
  std::unique_ptr<kernels::Backend> backend(kernels::BackendKind kind = kernels::BackendKind::Cpu) {
    auto b = kernels::make_backend({kind, 1});
    EXPECT_TRUE(b);
    return std::move(*b);
  }
  receipt::TaskResult run(const SamplingParams& p, const std::string& prompt = "Once upon a time",
                          kernels::BackendKind kind = kernels::BackendKind::Cpu) {
    auto b = backend(kind);
    auto r = receipt::run_task(*model().model, model().id, *b, prompt, p);
    EXPECT_TRUE(r) << r.error().to_string();
    return *r;
  }
  receipt::Verdict verify(const receipt::TaskResult& r) {
    auto b = backend();
    auto v = receipt::verify(*model().model, model().id, *b, r, receipt::mode_for(r.receipt, *b));
    EXPECT_TRUE(v) << v.error().to_string();
    return *v;
  }

  static ModelCatalog* catalog_;
};
ModelCatalog* RoundTrip::catalog_ = nullptr;

SamplingParams greedy(uint32_t n) {
  SamplingParams p;
  p.max_tokens = n;
  return p;
}
SamplingParams sampled(uint32_t n, uint64_t seed) {
  SamplingParams p = greedy(n);
  p.temperature_milli = 800;
  p.top_k = 40;
  p.top_p_milli = 950;
  p.seed = seed;
  return p;
}

TEST_F(RoundTrip, CatalogNamesTheModelByItsFileHash) {
  auto id = file_sha256(kModel);
  ASSERT_TRUE(id);
  EXPECT_EQ(chain::to_hex(*id), "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");  // SOURCES.md
  EXPECT_NE(catalog_->find(*id), nullptr);
}

TEST_F(RoundTrip, HonestResultsTravelThroughTheChainCodecAndVerify) {
  for (const auto& p : {greedy(24), sampled(24, 7)}) {
    receipt::TaskResult r = run(p);
    ASSERT_FALSE(r.output.empty());
    EXPECT_EQ(r.receipt.prompt_hash, ig::prompt_hash("Once upon a time"));
    EXPECT_EQ(r.receipt.params_hash, ig::sampling_params_hash(p));
    chain::SubmitResult payload{42, r.output, r.fingerprints, r.text, r.receipt};
    chain::Writer w;
    chain::encode_payload(w, payload);
    chain::Reader rd(w.data());
    chain::Payload back = chain::read_payload(rd);
    ASSERT_TRUE(rd.finish()) << "the codec refused its own encoding";
    ASSERT_TRUE(std::holds_alternative<chain::SubmitResult>(back));
    EXPECT_EQ(std::get<chain::SubmitResult>(back), payload);
    receipt::TaskResult from_chain = r;
    const auto& s = std::get<chain::SubmitResult>(back);
    from_chain.output = s.output_tokens;
    from_chain.fingerprints = s.fingerprints;
    from_chain.text = s.text;
    from_chain.receipt = s.receipt;
    auto v = verify(from_chain);
    EXPECT_TRUE(v.accepted) << v.code << ": " << v.reason;
  }
}

TEST_F(RoundTrip, AChangedParameterIsRefused) {
  receipt::TaskResult r = run(sampled(16, 3));
  r.params.seed = 4;  // the verifier is told other parameters than the receipt covers
  auto v = verify(r);
  EXPECT_FALSE(v.accepted);
}

TEST_F(RoundTrip, TheDemoCheatIsCaughtAtTheAlteredStepWithCheckableEvidence) {
  CheatOptions cheat{"token", 1000, "", 99};
  for (uint64_t task = 1; task <= 4; ++task) {
    receipt::TaskResult r = run(task % 2 ? greedy(24) : sampled(24, task));
    const auto honest = r;
    const uint32_t step = alter_one_token(r, model(), cheat, task);
    ASSERT_NE(r.output[step], honest.output[step]);
    EXPECT_EQ(ig::fingerprint_root(r.fingerprints), r.receipt.fingerprint_root);  // self-consistent claim
    auto v = verify(r);
    EXPECT_FALSE(v.accepted);
    EXPECT_EQ(v.first_bad_step, static_cast<int64_t>(step)) << v.code;
    // What the chain checks before the reject counts.
    EXPECT_TRUE(ig::merkle_verify(r.receipt.fingerprint_root, ig::fingerprint_leaf(step, v.claimed), v.proof));
    EXPECT_EQ(v.proof.index, step);
    EXPECT_EQ(v.proof.leaf_count, r.output.size());
    EXPECT_EQ(static_cast<uint32_t>(v.claimed.token), r.output[step]);
    EXPECT_TRUE(v.has_proof);
    EXPECT_NE(v.claimed, receipt::differing_fingerprint(v));
  }
}

// The receipt re-sealed over altered fields, as a consistent cheater submits it.
void reseal(receipt::TaskResult& r, const CatalogModel& m, const std::string& backend_tag) {
  auto text = receipt::output_text(*m.tokenizer, r.output);
  ASSERT_TRUE(text);
  r.text = *text;
  r.receipt = receipt::make_receipt(r.receipt.model_id, r.prompt, r.params, r.output, r.fingerprints, backend_tag);
}

// Issue 10, item 4: exact mode only for the verifier's own numerics (backend family and
// numerics revision), tolerant mode with the drift test otherwise.
TEST_F(RoundTrip, TheVerifierIsExactOnlyOnItsOwnNumericsAndTolerantOtherwise) {
  auto cpu = backend();
  const std::string own = receipt::backend_tag(*cpu);
  for (const auto& p : {greedy(32), sampled(32, 11)}) {
    SCOPED_TRACE(p.greedy() ? "greedy" : "sampled");
    // Generated by this backend: exact.
    const receipt::TaskResult mine = run(p);
    ASSERT_EQ(mine.receipt.backend, own);
    auto v = check_result(model(), *cpu, mine);
    ASSERT_TRUE(v) << v.error().to_string();
    EXPECT_EQ(v->mode, receipt::Mode::Exact);
    EXPECT_TRUE(v->accepted) << v->code << ": " << v->reason;
    // Generated by the reference backend (other bits): tolerant, accepted, drift measured.
    const receipt::TaskResult ref = run(p, "Once upon a time", kernels::BackendKind::Reference);
    ASSERT_EQ(ref.receipt.backend, kernels::kNumericsReference);
    v = check_result(model(), *cpu, ref);
    ASSERT_TRUE(v) << v.error().to_string();
    EXPECT_EQ(v->mode, receipt::Mode::Tolerant);
    EXPECT_TRUE(v->accepted) << v->code << ": " << v->reason;
    EXPECT_EQ(v->steps_checked, int(ref.output.size()));
    EXPECT_GT(v->drift_limit, 0.0);  // the drift test ran on top of the step rules
    EXPECT_LE(v->drift, v->drift_limit);
    // The same family at another numerics revision (an older or newer build's kernels) and
    // a backend this verifier does not run: tolerant, and these honest bits pass.
    for (const char* tag : {"cpu/0", "cpu/99", kernels::kNumericsCuda}) {
      ASSERT_NE(own, tag);
      receipt::TaskResult other = mine;
      reseal(other, model(), tag);
      v = check_result(model(), *cpu, other);
      ASSERT_TRUE(v) << v.error().to_string();
      EXPECT_EQ(v->mode, receipt::Mode::Tolerant) << tag;
      EXPECT_TRUE(v->accepted) << tag << ": " << v->code;
    }
  }
  // And the reference backend as the verifier is exact on its own results.
  auto refb = backend(kernels::BackendKind::Reference);
  const receipt::TaskResult ref = run(greedy(16), "Once upon a time", kernels::BackendKind::Reference);
  auto v = check_result(model(), *refb, ref);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->mode, receipt::Mode::Exact);
  EXPECT_TRUE(v->accepted) << v->code;
}

// The posted Verdict's reason is the code of the check that failed, with step evidence the
// chain checks for a step rule and none for the drift test over the whole output.
TEST_F(RoundTrip, ThePostedVerdictNamesTheCheckThatFailed) {
  auto cpu = backend();
  const std::string own = receipt::backend_tag(*cpu);
  auto post = [&](const receipt::TaskResult& r, receipt::Mode mode, const std::string& code) {
    auto v = check_result(model(), *cpu, r);
    ASSERT_TRUE(v) << v.error().to_string();
    EXPECT_EQ(v->mode, mode);
    EXPECT_FALSE(v->accepted);
    EXPECT_EQ(v->code, code) << v->reason;
    auto posted = chain_verdict(7, *v);
    ASSERT_TRUE(posted) << posted.error().to_string();
    EXPECT_FALSE(posted->accept);
    EXPECT_EQ(posted->reason, code);
    if (code == chain::kReasonLogitDrift) {
      EXPECT_FALSE(posted->evidence.has_value());
    } else {
      ASSERT_TRUE(posted->evidence.has_value());
      EXPECT_EQ(posted->first_bad_step, uint32_t(v->first_bad_step));
      EXPECT_TRUE(receipt::check_evidence(r.receipt, *v));
      EXPECT_NE(posted->evidence->recomputed, posted->evidence->claimed);
    }
  };
  const receipt::TaskResult honest = run(greedy(48));
  {  // exact mode: one unit of 2^-16 in one claimed logit
    receipt::TaskResult r = honest;
    r.fingerprints[5].logit_q += 1;
    reseal(r, model(), own);
    post(r, receipt::Mode::Exact, "verify.logit_mismatch");
  }
  {  // tolerant mode: a token changed (the demo cheat), claimed on another backend
    receipt::TaskResult r = honest;
    alter_one_token(r, model(), CheatOptions{"token", 1000, "", 3}, 1);
    reseal(r, model(), kernels::kNumericsReference);
    post(r, receipt::Mode::Tolerant, "verify.token_mismatch");
  }
  {  // tolerant mode: a greedy claim whose own numbers say another token won
    receipt::TaskResult r = honest;
    r.fingerprints[9].runner_up_q = r.fingerprints[9].logit_q + 100;
    reseal(r, model(), kernels::kNumericsReference);
    post(r, receipt::Mode::Tolerant, "verify.greedy_claim");
  }
  {  // tolerant mode: every logit 5 noise sigmas off, alternately up and down: no single
     // step is beyond its bound, the output as a whole is (the statistical test)
    receipt::TaskResult r = honest;
    reseal(r, model(), kernels::kNumericsReference);
    auto c = receipt::verify_detailed(*model().model, *model().tokenizer, model().id, *cpu, r, receipt::Mode::Tolerant);
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->verdict.accepted);
    const receipt::Tolerance tol = receipt::default_tolerance(c->verdict.noise);
    ASSERT_GT(tol.logit_k, 5.0);
    for (size_t t = 0; t < r.fingerprints.size(); ++t) {
      const int32_t shift = int32_t(std::lround(5.0 * receipt::step_sigma(c->steps[t], tol) * receipt::kLogitScale));
      const int sign = t % 2 ? 1 : -1;
      r.fingerprints[t].logit_q = c->steps[t].recomputed.logit_q + sign * shift;
      r.fingerprints[t].runner_up_q = c->steps[t].recomputed.runner_up_q + sign * shift;
    }
    reseal(r, model(), kernels::kNumericsReference);
    post(r, receipt::Mode::Tolerant, std::string(chain::kReasonLogitDrift));
  }
}

TEST_F(RoundTrip, CheatsOnTheConfiguredShareOfTasks) {
  CheatOptions c{"token", 300, "", 5};
  int n = 0;
  for (uint64_t id = 0; id < 10'000; ++id) n += cheats_on(c, id);
  EXPECT_NEAR(n, 3000, 300);
  EXPECT_FALSE(cheats_on(CheatOptions{}, 1));
}

}  // namespace
}  // namespace ig::workers
