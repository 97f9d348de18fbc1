// tasks through real blocks: escrow, assignment, results (and every way a result is wrong),
// settlement arithmetic, cancellation and verdict rules.
#include "tests/contracts/harness.hpp"

namespace ig::testing {
namespace {

using ct::tasks::Status;

bool has_error(const Receipt& r, const std::string& code) { return r.error.find(code) != std::string::npos; }
Address escrow() { return ct::bank::module_account("tasks"); }

class ContractsTasks : public ::testing::Test {
 protected:
  ContractsTasks() : net(short_params_json(), 4, 10'000, {"m1", "m2", "u", "u2"}) { setup_market(net, {"m1", "m2"}); }

  // Submits one task from `user` and returns its id (the next id the contract hands out).
  uint64_t submit(const std::string& user = "u", Amount max_fee = 1'000, const std::string& model = "llama-7b") {
    Receipt r = net.run_tx(net.tx(net.actor(user), task_payload(model_id(model), "hello " + std::to_string(next_id_), max_fee)));
    EXPECT_EQ(r.code, TxCode::kOk) << r.error;
    return next_id_++;
  }
  Actor& assignee(uint64_t id) {
    auto t = net.task(id);
    EXPECT_TRUE(t && t->status == Status::kAssigned);
    return t->miner == net.actor("m1").addr() ? net.actor("m1") : net.actor("m2");
  }
  Actor& other(uint64_t id) { return &assignee(id) == &net.actor("m1") ? net.actor("m2") : net.actor("m1"); }

  Net net;
  uint64_t next_id_ = 1;
};

TEST_F(ContractsTasks, SubmitEscrowsTheMaxFeeAndIsAssignedInItsOwnBlock) {
  const Amount before = net.balance(net.actor("u").addr());
  uint64_t id = submit("u", 1'000);
  EXPECT_EQ(net.balance(net.actor("u").addr()), before - 1'000 - Net::kFee);
  EXPECT_EQ(net.balance(escrow()), 1'000u);
  auto t = net.task(id);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, Status::kAssigned);
  EXPECT_EQ(t->submitter, net.actor("u").addr());
  EXPECT_EQ(t->attempts, 1u);
  EXPECT_EQ(t->assigned_height, net.head());
  EXPECT_EQ(t->deadline, net.head() + net.params().result_timeout_blocks);
  EXPECT_EQ(net.miner(t->miner)->open_tasks, 1u);
  ASSERT_EQ(net.events("task_assigned").size(), 1u);
  EXPECT_EQ(attr(net.events("task_assigned")[0], "task"), std::to_string(id));
}

TEST_F(ContractsTasks, BadSubmissionsAreRefusedAndEscrowNothing) {
  ASSERT_EQ(net.run_tx(net.tx(net.validator(0).account, model_payload("tiny", 10, 8))).code, TxCode::kOk);
  Actor& u = net.actor("u");
  auto expect_refused = [&](chain::SubmitTask st, const std::string& code, TxCode tc) {
    Receipt r = net.run_tx(net.tx(u, st));
    EXPECT_EQ(r.code, tc) << code;
    EXPECT_TRUE(has_error(r, code)) << code << " vs " << r.error;
  };
  const Hash llama = model_id("llama-7b");
  expect_refused(task_payload(model_id("nope"), "p", 1'000), "tasks.unknown_model", TxCode::kNotFound);
  expect_refused(task_payload(llama, "p", 1'000, 0), "tasks.bad_params", TxCode::kInvalidPayload);
  expect_refused(task_payload(llama, "p", 1'000'000, chain::kMaxOutputTokens + 1), "tasks.bad_params", TxCode::kInvalidPayload);
  expect_refused(task_payload(model_id("tiny"), "p", 1'000, 9), "tasks.bad_params", TxCode::kInvalidPayload);  // > context
  expect_refused(task_payload(llama, "", 1'000), "tasks.bad_params", TxCode::kInvalidPayload);
  auto top_p = task_payload(llama, "p", 1'000);
  top_p.params.top_p_milli = 0;
  expect_refused(top_p, "tasks.bad_params", TxCode::kInvalidPayload);
  top_p.params.top_p_milli = 1001;
  expect_refused(top_p, "tasks.bad_params", TxCode::kInvalidPayload);
  expect_refused(task_payload(llama, "p", 159, 16), "tasks.fee_too_low", TxCode::kInvalidPayload);  // 16 x 10 = 160
  expect_refused(task_payload(llama, "p", Net::kFunds), "bank.insufficient_funds", TxCode::kInsufficientFunds);
  EXPECT_EQ(net.balance(escrow()), 0u);
  EXPECT_TRUE(ct::tasks::tasks_in(net.state(), 0, 100).empty());
}

TEST_F(ContractsTasks, WorstCaseFeeDoesNotWrap) {
  // price x max_tokens is beyond 2^64: no max_fee can cover it, and nothing wraps to a small number.
  ASSERT_EQ(net.run_tx(net.tx(net.validator(0).account, model_payload("dear", UINT64_MAX / 2, 4096))).code, TxCode::kOk);
  Receipt r = net.run_tx(net.tx(net.actor("u"), task_payload(model_id("dear"), "p", UINT64_MAX, 4)));
  EXPECT_TRUE(has_error(r, "tasks.fee_too_low")) << r.error;
}

TEST_F(ContractsTasks, ResultsFromTheWrongPlaceAreRefused) {
  uint64_t id = submit();
  auto t = *net.task(id);
  Actor& good = assignee(id);
  Actor& bad = other(id);
  chain::SubmitResult ok = result_for(t, tokens(8));
  // One block (the deadline is 3 blocks away): each transaction fails on its own.
  std::vector<std::pair<Transaction, std::string>> cases;
  chain::SubmitResult unknown = ok;
  unknown.task_id = 999;
  cases.emplace_back(net.tx(good, unknown), "tasks.unknown_task");
  cases.emplace_back(net.tx(bad, ok), "tasks.not_assigned");
  cases.emplace_back(net.tx(net.actor("u"), ok), "tasks.not_assigned");  // not even a miner
  const Hash before = contract_state_digest(net.state());
  const auto& rec = net.block([&] {
    std::vector<Transaction> txs;
    for (const auto& c : cases) txs.push_back(c.first);
    return txs;
  }());
  ASSERT_EQ(rec.receipts.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_TRUE(has_error(rec.receipts[i], cases[i].second)) << i << ": " << cases[i].second << " vs " << rec.receipts[i].error;
  EXPECT_EQ(rec.receipts[0].code, TxCode::kNotFound);
  EXPECT_EQ(rec.receipts[1].code, TxCode::kUnauthorized);
  EXPECT_EQ(contract_state_digest(net.state()), before);
  EXPECT_EQ(net.task(id)->status, Status::kAssigned);
  ASSERT_EQ(net.run_tx(net.tx(good, ok)).code, TxCode::kOk);  // the honest one still goes through
}

// Every way a result can disagree with its task or with itself is refused with its own code,
// and nothing the contracts store changes (only the fee and nonce move, in the bank).
TEST_F(ContractsTasks, ResultsThatDoNotMatchTheTaskAreRefusedWithTheirOwnError) {
  ASSERT_EQ(net.run_tx(net.tx(net.validator(0).account, model_payload("other-model"))).code, TxCode::kOk);
  uint64_t id = submit();
  auto t = *net.task(id);
  Actor& good = assignee(id);
  const chain::SubmitResult ok = result_for(t, tokens(8));
  std::vector<std::pair<chain::SubmitResult, std::string>> cases;
  auto tampered = [&](const std::string& code, auto edit) {
    chain::SubmitResult x = ok;
    edit(x);
    cases.emplace_back(x, code);
  };
  // A result for another (registered) model, whose receipt is otherwise consistent.
  tampered("tasks.wrong_model", [](auto& x) { x.receipt.model_id = model_id("other-model"); });
  tampered("tasks.wrong_prompt", [](auto& x) { x.receipt.prompt_hash = ig::prompt_hash("another prompt"); });
  tampered("tasks.wrong_params", [&](auto& x) {
    auto changed = t.params;
    changed.temperature_milli = 700;  // the engine ran other parameters
    x.receipt.params_hash = ig::sampling_params_hash(changed);
  });
  tampered("tasks.output_hash_mismatch", [](auto& x) {
    x.output_tokens[3] = 7;  // fingerprint 3 still names the old token, but the hash is checked first
  });
  // Truncated output: fewer tokens, or fewer fingerprints, than the receipt's steps.
  tampered("tasks.step_count_mismatch", [](auto& x) {
    x.output_tokens.pop_back();
    x.receipt.output_hash = ig::output_hash(x.output_tokens);
  });
  tampered("tasks.step_count_mismatch", [](auto& x) { x.fingerprints.pop_back(); });
  tampered("tasks.step_count_mismatch", [](auto& x) { x.receipt.steps = 7; });
  tampered("tasks.fingerprint_root_mismatch", [](auto& x) { x.fingerprints[5].logit_q += 1; });
  tampered("tasks.fingerprint_token_mismatch", [](auto& x) {
    x.fingerprints[2].token = 5;  // the root is recomputed, so only the token check can catch it
    x.receipt.fingerprint_root = ig::fingerprint_root(x.fingerprints);
  });
  tampered("tasks.bad_text", [](auto& x) { x.text = std::string("caf\xC3", 4); });    // cut-off UTF-8
  tampered("tasks.bad_text", [](auto& x) { x.text = std::string("\xED\xA0\x80", 3); });  // a surrogate
  tampered("tasks.too_many_tokens", [&](auto& x) { x = result_for(t, tokens(17)); });  // more than max_tokens (16)
  const Hash before = contract_state_digest(net.state());
  std::vector<Transaction> txs;
  for (const auto& c : cases) txs.push_back(net.tx(good, c.first));
  const auto& rec = net.block(txs);
  ASSERT_EQ(rec.receipts.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(rec.receipts[i].code, TxCode::kInvalidPayload) << i;
    EXPECT_TRUE(has_error(rec.receipts[i], cases[i].second)) << i << ": " << cases[i].second << " vs " << rec.receipts[i].error;
  }
  EXPECT_EQ(contract_state_digest(net.state()), before);
  EXPECT_EQ(net.task(id)->status, Status::kAssigned);
  EXPECT_TRUE(net.events("task_result").empty());
}

TEST_F(ContractsTasks, AcceptedResultKeepsTextReceiptAndItsTransactionButNotTheFingerprints) {
  uint64_t id = submit();
  Actor& m = assignee(id);
  chain::SubmitResult r = result_for(*net.task(id), tokens(6));
  r.text = "Once upon a time — ünïcödé";
  const Transaction tx = net.tx(m, r);
  ASSERT_EQ(net.run_tx(tx).code, TxCode::kOk);
  auto t = *net.task(id);
  EXPECT_EQ(t.status, Status::kSubmitted);
  EXPECT_EQ(t.output_tokens, tokens(6));
  EXPECT_EQ(t.text, r.text);
  ASSERT_TRUE(t.receipt);
  EXPECT_EQ(*t.receipt, r.receipt);
  EXPECT_EQ(t.result_tx, tx_hash(tx));
  // The fingerprints are in the block: a verifier gets them back from the transaction.
  auto loc = net.chain().store->tx_location(t.result_tx);
  ASSERT_TRUE(loc);
  auto block = net.chain().store->block_at(loc->height);
  ASSERT_TRUE(block && *block);
  EXPECT_EQ(std::get<chain::SubmitResult>((*block)->txs.at(loc->index).body.payload).fingerprints, r.fingerprints);
  auto events = net.events("task_result");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(attr(events[0], "miner"), address_to_string(m.addr()));
  EXPECT_EQ(attr(events[0], "task"), std::to_string(id));
  EXPECT_EQ(attr(events[0], "tokens"), "6");
  EXPECT_EQ(attr(events[0], "backend"), "cpu/1");
}

TEST_F(ContractsTasks, AnEmptyOutputIsAValidResult) {
  uint64_t id = submit();
  ASSERT_EQ(net.run_tx(net.tx(assignee(id), result_for(*net.task(id), {}))).code, TxCode::kOk);
  EXPECT_EQ(net.task(id)->receipt->steps, 0u);
}

TEST_F(ContractsTasks, PromptsMustBeUtf8) {
  Receipt r = net.run_tx(net.tx(net.actor("u"), task_payload(model_id("llama-7b"), std::string("\xFF\xFE", 2), 1'000)));
  EXPECT_TRUE(has_error(r, "tasks.bad_params")) << r.error;
  EXPECT_NE(r.error.find("UTF-8"), std::string::npos) << r.error;
}

TEST_F(ContractsTasks, DoubleResultIsRefused) {
  uint64_t id = submit();
  Actor& m = assignee(id);
  ASSERT_EQ(net.run_tx(net.tx(m, result_for(*net.task(id), tokens(8)))).code, TxCode::kOk);
  Receipt again = net.run_tx(net.tx(m, result_for(*net.task(id), tokens(5))));
  EXPECT_TRUE(has_error(again, "tasks.duplicate_result")) << again.error;
  EXPECT_EQ(net.task(id)->output_tokens, tokens(8));
}

TEST_F(ContractsTasks, ResultAtTheDeadlineCountsAndAfterItIsLate) {
  uint64_t a = submit();
  uint64_t b = submit();
  auto ta = *net.task(a), tb = *net.task(b);
  net.run_to(ta.deadline - 1);
  ASSERT_EQ(net.run_tx(net.tx(assignee(a), result_for(ta, tokens(4)))).code, TxCode::kOk);  // at height == deadline
  ASSERT_EQ(net.head(), ta.deadline);
  net.run_to(tb.deadline);
  Actor& mb = assignee(b);
  Receipt late = net.run_tx(net.tx(mb, result_for(tb, tokens(4))));
  EXPECT_TRUE(has_error(late, "tasks.late")) << late.error;
  EXPECT_FALSE(net.task(b)->receipt);        // the late result was not stored;
  EXPECT_NE(net.task(b)->miner, mb.addr());  // the task expired in that block and went to the other miner
}

TEST_F(ContractsTasks, SettlementPaysTheTokensSharesWithValidatorsAndRefundsTheRest) {
  uint64_t id = submit("u", 1'000);
  Actor& m = assignee(id);
  const Amount user_before = net.balance(net.actor("u").addr());
  const Amount miner_before = net.balance(m.addr());
  const auto& rec = net.block({net.tx(m, result_for(*net.task(id), tokens(8)))});
  const uint64_t window_end = rec.block.header.height + net.params().verification_window_blocks;
  EXPECT_EQ(net.task(id)->status, Status::kSubmitted);
  EXPECT_EQ(net.task(id)->fee_due, 80u);
  EXPECT_EQ(net.miner(m.addr())->open_tasks, 0u);
  net.run_to(window_end - 1);
  EXPECT_EQ(net.task(id)->status, Status::kSubmitted);
  std::vector<Amount> val_before;
  for (size_t i = 0; i < 4; ++i) val_before.push_back(net.balance(net.validator(i).account.addr()));
  net.block();  // no transactions, so no fees: every change below is the settlement
  auto t = *net.task(id);
  EXPECT_EQ(t.status, Status::kSettled);
  // 80 due: 10% (8) to the validators by power (2 each), 72 to the miner, 920 back to the user.
  EXPECT_EQ(net.balance(m.addr()), miner_before - Net::kFee + 72);
  EXPECT_EQ(net.balance(net.actor("u").addr()), user_before + 920);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(net.balance(net.validator(i).account.addr()), val_before[i] + 2);
  EXPECT_EQ(net.balance(escrow()), 0u);
  auto settled = net.events("task_settled");
  ASSERT_EQ(settled.size(), 1u);
  EXPECT_EQ(attr(settled[0], "miner_paid"), "72");
  EXPECT_EQ(attr(settled[0], "validators_paid"), "8");
  EXPECT_EQ(attr(settled[0], "refunded"), "920");
  auto miner = *net.miner(m.addr());
  EXPECT_EQ(miner.completed, 1u);
  EXPECT_GT(miner.reliability, ct::registry::kReliabilityOne / 2);
}

TEST_F(ContractsTasks, CancelOnlyPendingAndOnlyByTheOwner) {
  // No miner serves "orphan", so its task stays pending.
  ASSERT_EQ(net.run_tx(net.tx(net.validator(0).account, model_payload("orphan"))).code, TxCode::kOk);
  uint64_t pending = submit("u", 500, "orphan");
  EXPECT_EQ(net.task(pending)->status, Status::kPending);
  uint64_t assigned = submit("u", 500);
  Receipt r = net.run_tx(net.tx(net.actor("u2"), chain::CancelTask{pending}));
  EXPECT_EQ(r.code, TxCode::kUnauthorized);
  EXPECT_TRUE(has_error(r, "tasks.not_owner"));
  r = net.run_tx(net.tx(net.actor("u"), chain::CancelTask{assigned}));
  EXPECT_TRUE(has_error(r, "tasks.not_pending")) << r.error;
  r = net.run_tx(net.tx(net.actor("u"), chain::CancelTask{12345}));
  EXPECT_EQ(r.code, TxCode::kNotFound);
  const Amount before = net.balance(net.actor("u").addr());
  ASSERT_EQ(net.run_tx(net.tx(net.actor("u"), chain::CancelTask{pending})).code, TxCode::kOk);
  EXPECT_EQ(net.balance(net.actor("u").addr()), before - Net::kFee + 500);
  EXPECT_EQ(net.task(pending)->status, Status::kCancelled);
  EXPECT_TRUE(has_error(net.run_tx(net.tx(net.actor("u"), chain::CancelTask{pending})), "tasks.not_pending"));
  EXPECT_EQ(net.balance(escrow()), 500u);  // only the assigned task's escrow is left
}

TEST_F(ContractsTasks, VerdictRules) {
  uint64_t id = submit();
  Actor& v0 = net.validator(0).account;
  chain::Verdict accept = accept_verdict(id);
  Receipt r = net.run_tx(net.tx(v0, accept));  // assigned, no result yet
  EXPECT_TRUE(has_error(r, "tasks.not_in_window")) << r.error;
  ASSERT_EQ(net.run_tx(net.tx(assignee(id), result_for(*net.task(id), tokens(4)))).code, TxCode::kOk);
  const auto task = *net.task(id);
  // One block, inside the two-block window.
  std::vector<Transaction> txs{net.tx(net.actor("u"), accept),                  // not a validator
                               net.tx(v0, accept_verdict(777)),                 // unknown task
                               net.tx(v0, reject_verdict(task, 3)),             // fine: step 3 of 0..3, with evidence
                               net.tx(v0, accept)};                             // second verdict
  const auto& rec = net.block(txs);
  EXPECT_EQ(rec.receipts[0].code, TxCode::kUnauthorized);
  EXPECT_TRUE(has_error(rec.receipts[0], "tasks.not_validator"));
  EXPECT_EQ(rec.receipts[1].code, TxCode::kNotFound);
  EXPECT_EQ(rec.receipts[2].code, TxCode::kOk) << rec.receipts[2].error;
  EXPECT_TRUE(has_error(rec.receipts[3], "tasks.duplicate_verdict")) << rec.receipts[3].error;
  auto t = *net.task(id);
  ASSERT_EQ(t.verdicts.size(), 1u);
  EXPECT_FALSE(t.verdicts[0].accept);
  EXPECT_EQ(t.verdicts[0].first_bad_step, 3u);
  EXPECT_EQ(t.verdicts[0].reason, "verify.token_mismatch");
  EXPECT_TRUE(t.verdicts[0].evidence);
  EXPECT_EQ(t.verdicts[0].account, v0.addr());
  EXPECT_EQ(t.verdicts[0].tx_hash, tx_hash(txs[2]));
  auto ev = net.events("verdict");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(attr(ev[0], "validator"), address_to_string(v0.addr()));
  EXPECT_EQ(attr(ev[0], "miner"), address_to_string(t.miner));
  EXPECT_EQ(attr(ev[0], "accept"), "false");
  EXPECT_EQ(attr(ev[0], "reason"), "verify.token_mismatch");
  EXPECT_EQ(attr(ev[0], "first_bad_step"), "3");
  EXPECT_EQ(attr(ev[0], "evidence"), "true");
  net.run_to(t.window_end);
  EXPECT_EQ(net.task(id)->status, Status::kSettled);  // one reject out of four is not a verdict
  r = net.run_tx(net.tx(net.validator(1).account, accept));
  EXPECT_TRUE(has_error(r, "tasks.not_in_window")) << r.error;
}

}  // namespace
}  // namespace ig::testing
