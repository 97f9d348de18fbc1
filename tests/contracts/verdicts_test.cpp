// Verdicts through real blocks: what the chain checks of a rejection's evidence before it
// counts, and what a 2/3 rejection does. (Four validators of equal power: three rejects are
// more than 2/3.)
#include "tests/contracts/harness.hpp"

namespace ig::testing {
namespace {

using ct::tasks::Status;

bool has_error(const Receipt& r, const std::string& code) { return r.error.find(code) != std::string::npos; }

class ContractsVerdicts : public ::testing::Test {
 protected:
  ContractsVerdicts() : net(short_params_json(), 4, 10'000, {"m1", "u"}) {
    setup_market(net, {"m1"});
    net.block({net.tx(net.actor("u"), task_payload(model_id("llama-7b"), "tell me a story", 5'000))});
    task = *net.task(1);
    EXPECT_EQ(task.status, Status::kAssigned);
    Receipt r = net.run_tx(net.tx(net.actor("m1"), result_for(task, tokens(8))));
    EXPECT_EQ(r.code, TxCode::kOk) << r.error;
    task = *net.task(1);
  }

  Transaction from(size_t v, chain::Verdict verdict) { return net.tx(net.validator(v).account, std::move(verdict)); }

  Net net;
  ct::tasks::Task task;
};

TEST_F(ContractsVerdicts, RejectsWhoseEvidenceTheChainCanRefuteAreRefusedAndChangeNothing) {
  std::vector<std::pair<chain::Verdict, std::string>> cases;
  auto edited = [&](const std::string& code, auto edit) {
    chain::Verdict v = reject_verdict(task, 3);
    edit(v);
    cases.emplace_back(v, code);
  };
  // The miner never committed to this fingerprint: the path does not lead to the root.
  edited("tasks.bad_evidence", [](auto& v) { v.evidence->claimed.logit_q += 5; });
  edited("tasks.bad_evidence", [](auto& v) { v.evidence->proof.siblings[0][0] ^= 1; });
  // The validator recomputed what the miner claimed: nothing is wrong at that step.
  edited("tasks.bad_evidence", [](auto& v) { v.evidence->recomputed = v.evidence->claimed; });
  // A made-up step: the proof is for another leaf, or the step is beyond the output.
  edited("tasks.bad_evidence", [](auto& v) { v.first_bad_step = 2; });
  edited("tasks.bad_evidence", [](auto& v) { v.evidence->proof.leaf_count = 9; });
  edited("tasks.bad_evidence", [](auto& v) {
    v.first_bad_step = 8;
    v.evidence->proof.index = 8;
  });
  // No evidence with a reason the chain could have checked.
  cases.emplace_back(reject_unchecked(task.id, "verify.token_mismatch"), "tasks.bad_evidence");
  cases.emplace_back(chain::Verdict{task.id, false, 3, "verify.token_mismatch", std::nullopt}, "tasks.bad_evidence");
  // Malformed reasons, and accepts that carry what only rejects may.
  edited("tasks.bad_reason", [](auto& v) { v.reason = ""; });
  edited("tasks.bad_reason", [](auto& v) { v.reason = "Verify Token!"; });
  chain::Verdict accept_with_evidence = reject_verdict(task, 3);
  accept_with_evidence.accept = true;
  cases.emplace_back(accept_with_evidence, "tasks.bad_verdict");
  cases.emplace_back(chain::Verdict{task.id, true, 2, "", std::nullopt}, "tasks.bad_verdict");
  // An unchecked reject may point at most one past the output (the stop rule's "should have gone on").
  cases.emplace_back(chain::Verdict{task.id, false, 9, std::string(chain::kReasonStopRule), std::nullopt}, "tasks.bad_verdict");

  // Each case from validators 0..2 in turn; every one is refused, so no tally ever moves.
  const Hash before = contract_state_digest(net.state());
  std::vector<Transaction> txs;
  for (size_t i = 0; i < cases.size(); ++i) txs.push_back(from(i % 3, cases[i].first));
  const auto& rec = net.block(txs);
  ASSERT_EQ(rec.receipts.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_TRUE(has_error(rec.receipts[i], cases[i].second)) << i << ": " << cases[i].second << " vs " << rec.receipts[i].error;
  EXPECT_EQ(contract_state_digest(net.state()), before);
  EXPECT_TRUE(net.task(1)->verdicts.empty());
}

// The bug this rule fixes: a reject with a made-up step and no proof slashed an honest miner.
TEST_F(ContractsVerdicts, MadeUpRejectsFromTwoThirdsDoNotSlashAnHonestMiner) {
  const Address m1 = net.actor("m1").addr();
  const Amount stake = net.stakes(m1).miner;
  std::vector<Transaction> txs;
  for (size_t v = 0; v < 3; ++v) txs.push_back(from(v, chain::Verdict{task.id, false, 2, "verify.token_mismatch", std::nullopt}));
  const auto& rec = net.block(txs);
  for (const auto& r : rec.receipts) EXPECT_TRUE(has_error(r, "tasks.bad_evidence")) << r.error;
  net.run_to(task.window_end);
  EXPECT_EQ(net.task(1)->status, Status::kSettled);
  EXPECT_EQ(net.stakes(m1).miner, stake);
  EXPECT_TRUE(net.events("slash").empty());
}

TEST_F(ContractsVerdicts, ValidRejectsWithEvidenceFromTwoThirdsSlashTheMinerAndRefundTheUser) {
  const Address user = net.actor("u").addr(), m1 = net.actor("m1").addr();
  const Amount user_before = net.balance(user);
  const Amount stake = net.stakes(m1).miner;
  // v3 accepts (and will be slashed for approving); two rejects are not yet enough.
  const auto& first = net.block({from(3, accept_verdict(task.id)), from(0, reject_verdict(task, 3)), from(1, reject_verdict(task, 3))});
  for (const auto& r : first.receipts) ASSERT_EQ(r.code, TxCode::kOk) << r.error;
  EXPECT_EQ(net.task(1)->status, Status::kSubmitted);
  const auto& second = net.block({from(2, reject_verdict(task, 5, "verify.logit_mismatch"))});
  ASSERT_EQ(second.receipts[0].code, TxCode::kOk) << second.receipts[0].error;
  auto t = *net.task(1);
  EXPECT_EQ(t.status, Status::kRejected);
  EXPECT_EQ(t.refunded, t.max_fee);
  EXPECT_EQ(t.miner_paid + t.validators_paid, 0u);
  EXPECT_EQ(net.balance(user), user_before + 5'000);  // the whole escrow came back
  EXPECT_EQ(net.stakes(m1).miner, stake - stake / 10);  // miner_fraud_slash_bps = 10%
  EXPECT_EQ(net.stakes(net.validator(3).account.addr()).validator, 9'500u);
  auto rejected = net.events("task_rejected");
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(attr(rejected[0], "miner"), address_to_string(m1));
  EXPECT_EQ(attr(rejected[0], "user"), address_to_string(user));
  EXPECT_EQ(attr(rejected[0], "refunded"), "5000");
  EXPECT_EQ(attr(rejected[0], "miner_slashed"), std::to_string(stake / 10));
  ASSERT_EQ(t.verdicts.size(), 4u);
  EXPECT_EQ(t.verdicts[3].reason, "verify.logit_mismatch");
  EXPECT_EQ(t.verdicts[3].first_bad_step, 5u);
}

// Text and stop-rule mismatches cannot be checked by the chain: such rejects count through
// the >2/3 rule alone.
TEST_F(ContractsVerdicts, UncheckableReasonsCountThroughTheTwoThirdsRuleAlone) {
  const auto& rec = net.block({from(0, reject_unchecked(task.id)), from(1, reject_unchecked(task.id, std::string(chain::kReasonStopRule))),
                               from(2, chain::Verdict{task.id, false, 8, std::string(chain::kReasonStopRule), std::nullopt})});
  for (const auto& r : rec.receipts) EXPECT_EQ(r.code, TxCode::kOk) << r.error;
  EXPECT_EQ(net.task(1)->status, Status::kRejected);
  auto t = *net.task(1);
  EXPECT_FALSE(t.verdicts[0].evidence);
  EXPECT_EQ(t.verdicts[0].reason, chain::kReasonTextMismatch);
}

}  // namespace
}  // namespace ig::testing
