// What a miner and a verifier do to one task, without a network: run the task on the bundled
// model, carry the result in a SubmitResult through the chain codec, verify it; and the
// cheats the demo miner makes are caught at exactly the altered step with evidence the chain
// can check.
#include <gtest/gtest.h>

#include "chain/codec.hpp"
#include "chain/tx.hpp"
#include "inference/receipt/result.hpp"
#include "inference/receipt/verifier.hpp"
#include "workers/cheat.hpp"
#include "workers/model_catalog.hpp"

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
  std::unique_ptr<kernels::Backend> backend() {
    auto b = kernels::make_backend({kernels::BackendKind::Cpu, 1});
    EXPECT_TRUE(b);
    return std::move(*b);
  }
  receipt::TaskResult run(const SamplingParams& p, const std::string& prompt = "Once upon a time") {
    auto b = backend();
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

TEST_F(RoundTrip, CheatsOnTheConfiguredShareOfTasks) {
  CheatOptions c{"token", 300, "", 5};
  int n = 0;
  for (uint64_t id = 0; id < 10'000; ++id) n += cheats_on(c, id);
  EXPECT_NEAR(n, 3000, 300);
  EXPECT_FALSE(cheats_on(CheatOptions{}, 1));
}

}  // namespace
}  // namespace ig::workers
