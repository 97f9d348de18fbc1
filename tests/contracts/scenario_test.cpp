// Scenarios through many blocks with scripted users, miners and validators (no real inference:
// miners answer with consistent receipts). The harness checks conservation of supply after
// every block: balances == supply, and supply moves only by emission minus slashing.
#include <set>

#include "tests/contracts/harness.hpp"

namespace ig::testing {
namespace {

using ct::tasks::Status;
using ct::tasks::Task;

class ContractsScenario : public ::testing::Test {
 protected:
  explicit ContractsScenario(const std::string& params = short_params_json())
      : net(params, 4, 10'000, {"m1", "m2", "m3", "u"}) {}

  std::vector<Task> all_tasks() const { return ct::tasks::tasks_in(net.state(), 0, 100'000); }

  // Results from the named miners for every task assigned to them.
  std::vector<Transaction> answers(const std::set<std::string>& miners) {
    std::vector<Transaction> out;
    for (const auto& t : all_tasks())
      for (const auto& name : miners)
        if (t.status == Status::kAssigned && t.miner == net.actor(name).addr())
          out.push_back(net.tx(net.actor(name), result_for(t, tokens(8 + t.id % 5, static_cast<uint32_t>(t.id)))));
    return out;
  }
  // Verdicts from validator v on every submitted task it has not judged.
  std::vector<Transaction> verdicts(size_t v, bool accept) {
    std::vector<Transaction> out;
    for (const auto& t : all_tasks()) {
      if (t.status != Status::kSubmitted) continue;
      bool judged = std::any_of(t.verdicts.begin(), t.verdicts.end(),
                                [&](const auto& r) { return r.account == net.validator(v).account.addr(); });
      if (!judged) out.push_back(net.tx(net.validator(v).account, accept ? accept_verdict(t.id) : reject_verdict(t, 0)));
    }
    return out;
  }
  Transaction submit(Amount max_fee = 1'000) {
    return net.tx(net.actor("u"), task_payload(model_id("llama-7b"), "prompt " + std::to_string(prompt_no_++), max_fee));
  }
  uint16_t uid(const std::string& name) { return static_cast<uint16_t>(*ct::registry::uid_of(net.state(), net.actor(name).addr())); }
  uint16_t vuid(size_t v) { return static_cast<uint16_t>(*ct::registry::uid_of(net.state(), net.validator(v).account.addr())); }

  // Validator v's commit for the current epoch and, separately, its reveal in the next.
  Transaction commit(size_t v, const std::vector<chain::WeightEntry>& w) {
    uint64_t e = net.next() / net.params().tempo;
    pending_reveal_[v] = {e, w};
    Hash salt = hash_of("salt-" + std::to_string(v) + "-" + std::to_string(e));
    return net.tx(net.validator(v).account, chain::CommitWeights{e, weights_commit_hash(net.validator(v).account.addr(), e, w, salt)});
  }
  Transaction reveal(size_t v) {
    auto [e, w] = pending_reveal_.at(v);
    Hash salt = hash_of("salt-" + std::to_string(v) + "-" + std::to_string(e));
    return net.tx(net.validator(v).account, chain::RevealWeights{e, w, salt});
  }
  const ct::epoch::UidResult& result_of(const ct::epoch::EpochRecord& rec, uint16_t u) {
    for (const auto& r : rec.uids)
      if (r.uid == u) return r;
    throw std::runtime_error("uid not in epoch record");
  }

  Net net;
  uint64_t prompt_no_ = 0;
  std::map<size_t, std::pair<uint64_t, std::vector<chain::WeightEntry>>> pending_reveal_;
};

TEST_F(ContractsScenario, HonestMinersGetPaidAndEarnIncentive) {
  setup_market(net, {"m1", "m2"});
  const std::vector<chain::WeightEntry> w{{uid("m1"), 65535}, {uid("m2"), 65535}};
  const Address m1 = net.actor("m1").addr(), m2 = net.actor("m2").addr();
  const Amount m1_start = net.balance(m1), m2_start = net.balance(m2);
  const uint64_t m1_nonce = net.actor("m1").nonce, m2_nonce = net.actor("m2").nonce;
  std::optional<ct::epoch::EpochRecord> first, second;
  while (net.head() < 31) {
    const uint64_t h = net.next();
    std::vector<Transaction> txs;
    if (h < 25)  // three a block for four slots: both miners must work
      for (int i = 0; i < 3; ++i) txs.push_back(submit());
    for (auto& t : answers({"m1", "m2"})) txs.push_back(std::move(t));
    for (size_t v = 0; v < 4; ++v)
      for (auto& t : verdicts(v, true)) txs.push_back(std::move(t));
    for (size_t v = 0; v < 4; ++v) {
      if (h % 10 == 1 && h > 10) txs.push_back(reveal(v));
      if (h % 10 == 3) txs.push_back(commit(v, w));
    }
    const auto& rec = net.block(txs);
    for (const auto& r : rec.receipts) ASSERT_EQ(r.code, TxCode::kOk) << "height " << h << ": " << r.error;
    if (h == 19) first = ct::epoch::last_epoch(net.state());
    if (h == 29) second = ct::epoch::last_epoch(net.state());
  }
  // Every task was served and settled.
  auto ts = all_tasks();
  ASSERT_GE(ts.size(), 60u);
  for (const auto& t : ts) EXPECT_EQ(t.status, Status::kSettled) << "task " << t.id;
  Amount paid_m1 = 0, paid_m2 = 0;
  for (const auto& e : net.events("task_settled")) {
    Amount miner_paid = std::stoull(attr(e, "miner_paid"));
    EXPECT_EQ(miner_paid + std::stoull(attr(e, "validators_paid")) + std::stoull(attr(e, "refunded")), 1'000u);
    EXPECT_GT(miner_paid, 0u);
    (attr(e, "miner") == address_to_string(m1) ? paid_m1 : paid_m2) += miner_paid;
  }
  EXPECT_GT(paid_m1, 0u);
  EXPECT_GT(paid_m2, 0u);
  EXPECT_EQ(net.balance(ct::bank::module_account("tasks")), 0u);

  // Incentive: the epoch ending at 19 used the weights revealed at 11; 29 those revealed at 21.
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->epoch, 1u);
  EXPECT_EQ(second->epoch, 2u);
  Amount emitted_m1 = 0, emitted_m2 = 0;
  for (const auto* rec : {&*first, &*second}) {
    EXPECT_GT(result_of(*rec, uid("m1")).incentive, 0u);
    EXPECT_GT(result_of(*rec, uid("m2")).incentive, 0u);
    EXPECT_EQ(result_of(*rec, uid("m1")).incentive, result_of(*rec, uid("m2")).incentive);  // equal weights
    EXPECT_GT(result_of(*rec, uid("m1")).emission, 0u);
    emitted_m1 += result_of(*rec, uid("m1")).emission;
    emitted_m2 += result_of(*rec, uid("m2")).emission;
    Amount sum = 0;
    for (const auto& u : rec->uids) sum += u.emission;
    EXPECT_EQ(sum, rec->emission);
    EXPECT_LE(rec->emission, net.params().emission_per_epoch);
    EXPECT_GT(rec->emission, net.params().emission_per_epoch * 99 / 100);  // rounding loses little
  }
  EXPECT_GT(result_of(*second, vuid(0)).dividends, 0u);  // validators earn once bonds exist
  // Every token a miner gained is a task payment or emission, minus the fees it paid.
  const Amount fees_m1 = (net.actor("m1").nonce - m1_nonce) * Net::kFee;
  const Amount fees_m2 = (net.actor("m2").nonce - m2_nonce) * Net::kFee;
  EXPECT_EQ(net.balance(m1) + fees_m1, m1_start + paid_m1 + emitted_m1);
  EXPECT_EQ(net.balance(m2) + fees_m2, m2_start + paid_m2 + emitted_m2);
  EXPECT_GE(net.total_minted(), first->emission + second->emission);
  EXPECT_EQ(net.supply_checks(), net.history().size() + 1);
}

TEST_F(ContractsScenario, RejectedByTwoThirdsSlashesMinerAndApproverAndRefundsTheUser) {
  setup_market(net, {"m1"});
  const Address user = net.actor("u").addr(), m1 = net.actor("m1").addr();
  const Amount user_start = net.balance(user);
  net.block({submit(5'000)});
  net.block(answers({"m1"}));
  ASSERT_EQ(net.task(1)->status, Status::kSubmitted);
  const Amount supply = net.supply();
  // v3 approves first; then three of four validators (3/4 of the power) reject.
  std::vector<Transaction> txs{net.tx(net.validator(3).account, accept_verdict(1))};
  for (size_t v = 0; v < 3; ++v) txs.push_back(net.tx(net.validator(v).account, reject_verdict(*net.task(1), 2)));
  const auto& rec = net.block(txs);
  for (const auto& r : rec.receipts) EXPECT_EQ(r.code, TxCode::kOk) << r.error;
  auto t = *net.task(1);
  EXPECT_EQ(t.status, Status::kRejected);
  EXPECT_EQ(net.balance(user), user_start - Net::kFee);  // the whole max_fee came back
  EXPECT_EQ(net.stakes(m1).miner, 4'500u);               // 10% of 5,000
  EXPECT_EQ(net.stakes(net.validator(3).account.addr()).validator, 9'500u);  // 5% of 10,000
  for (size_t v = 0; v < 3; ++v) EXPECT_EQ(net.stakes(net.validator(v).account.addr()).validator, 10'000u);
  EXPECT_EQ(net.supply(), supply - 1'000);
  EXPECT_EQ(net.events("task_rejected").size(), 1u);
  EXPECT_EQ(net.events("slash").size(), 2u);
  auto m = *net.miner(m1);
  EXPECT_EQ(m.failed, 1u);
  EXPECT_LT(m.reliability, ct::registry::kReliabilityOne / 2);
  EXPECT_EQ(m.open_tasks, 0u);
  EXPECT_EQ(net.balance(ct::bank::module_account("tasks")), 0u);
  // The task is closed: no more verdicts, no settlement later.
  Receipt late = net.run_tx(net.tx(net.validator(3).account, reject_verdict(*net.task(1), 0)));
  EXPECT_NE(late.error.find("tasks.not_in_window"), std::string::npos);
  net.run_to(net.head() + 5);
  EXPECT_TRUE(net.events("task_settled").empty());
}

TEST_F(ContractsScenario, TwoRejectsOfFourAreNotEnoughAndAContradictedAccuserIsSlashed) {
  setup_market(net, {"m1"});
  net.block({submit(5'000)});
  net.block(answers({"m1"}));
  net.block({net.tx(net.validator(0).account, reject_verdict(*net.task(1), 0)),
             net.tx(net.validator(1).account, accept_verdict(1)),
             net.tx(net.validator(2).account, accept_verdict(1)),
             net.tx(net.validator(3).account, accept_verdict(1))});
  net.run_to(net.task(1)->window_end);
  EXPECT_EQ(net.task(1)->status, Status::kSettled);
  EXPECT_EQ(net.stakes(net.validator(0).account.addr()).validator, 9'800u);  // 2% for the false accusation
  EXPECT_EQ(net.stakes(net.actor("m1").addr()).miner, 5'000u);
  // Two rejects and two accepts: neither side has 2/3, nobody is slashed and the miner is paid.
  net.block({submit(5'000)});
  net.block(answers({"m1"}));
  net.block({net.tx(net.validator(0).account, reject_verdict(*net.task(2), 0)),
             net.tx(net.validator(1).account, reject_unchecked(2)),
             net.tx(net.validator(2).account, accept_verdict(2)),
             net.tx(net.validator(3).account, accept_verdict(2))});
  net.run_to(net.task(2)->window_end);
  EXPECT_EQ(net.task(2)->status, Status::kSettled);
  EXPECT_EQ(net.events("slash").size(), 1u);
}

TEST_F(ContractsScenario, DeviatingValidatorIsClippedLosesDividendsAndIsSlashedAfterKEpochs) {
  setup_market(net, {"m1", "m2", "m3"});
  const std::vector<chain::WeightEntry> honest{{uid("m1"), 65535}, {uid("m2"), 30000}};
  const std::vector<chain::WeightEntry> deviant{{uid("m3"), 65535}};
  std::vector<ct::epoch::EpochRecord> records;
  while (net.head() < 39) {
    const uint64_t h = net.next();
    std::vector<Transaction> txs;
    for (size_t v = 0; v < 4; ++v) {
      if (h % 10 == 1 && h > 10) txs.push_back(reveal(v));
      if (h % 10 == 3) txs.push_back(commit(v, v == 3 ? deviant : honest));
    }
    const auto& rec = net.block(txs);
    for (const auto& r : rec.receipts) ASSERT_EQ(r.code, TxCode::kOk) << "height " << h << ": " << r.error;
    if (h % 10 == 9 && h > 10) records.push_back(*ct::epoch::last_epoch(net.state()));
  }
  ASSERT_EQ(records.size(), 3u);  // epochs ending at 19, 29, 39
  const Address deviant_account = net.validator(3).account.addr();
  for (const auto& rec : records) {
    // Consensus ignores the lone vote: m3 gets nothing; the deviant's trust is below the threshold.
    EXPECT_EQ(result_of(rec, uid("m3")).consensus, 0u);
    EXPECT_EQ(result_of(rec, uid("m3")).incentive, 0u);
    EXPECT_GT(result_of(rec, uid("m1")).incentive, result_of(rec, uid("m2")).incentive);
    EXPECT_LT(result_of(rec, vuid(3)).validator_trust, net.params().deviation_trust_threshold);
    for (size_t v = 0; v < 3; ++v) {
      EXPECT_GE(result_of(rec, vuid(v)).validator_trust, net.params().deviation_trust_threshold);
      EXPECT_LT(result_of(rec, vuid(3)).dividends, result_of(rec, vuid(v)).dividends);
      EXPECT_LT(result_of(rec, vuid(3)).emission, result_of(rec, vuid(v)).emission);
    }
  }
  // K = 2: no slash after the first low-trust epoch, a slash after the second, and the count restarts.
  std::vector<std::pair<uint64_t, Event>> slashes;
  for (const auto& b : net.history())
    for (const auto& e : b.events)
      if (e.type == "slash") slashes.emplace_back(b.block.header.height, e);
  ASSERT_EQ(slashes.size(), 1u);
  EXPECT_EQ(slashes[0].first, 29u);
  EXPECT_EQ(attr(slashes[0].second, "account"), address_to_string(deviant_account));
  EXPECT_NE(attr(slashes[0].second, "reason").find("validator trust"), std::string::npos);
  EXPECT_EQ(net.stakes(deviant_account).validator, 10'000u - 100);  // deviation_slash_bps = 1%
  for (size_t v = 0; v < 3; ++v) EXPECT_EQ(net.stakes(net.validator(v).account.addr()).validator, 10'000u);
  EXPECT_EQ(ct::staking::get_validator(net.state(), net.validator(3).consensus.public_key())->low_trust_epochs, 1u);
}

TEST_F(ContractsScenario, DoubleSignEvidenceSlashesInABusyChain) {
  setup_market(net, {"m1", "m2"});
  const SecretKey& culprit = net.validator(2).consensus;
  const Address account = net.validator(2).account.addr();
  while (net.head() < 14) {
    const uint64_t h = net.next();
    std::vector<Transaction> txs{submit()};
    for (auto& t : answers({"m1", "m2"})) txs.push_back(std::move(t));
    if (h == 6)
      txs.push_back(net.tx(net.actor("u"), chain::Evidence{signed_vote(culprit, 5, 0, hash_of("p")),
                                                           signed_vote(culprit, 5, 0, hash_of("q"))}));
    net.block(txs);
  }
  EXPECT_EQ(net.stakes(account).validator, 5'000u);
  EXPECT_EQ(net.events("double_sign").size(), 1u);
  EXPECT_EQ(net.total_slashed(), 5'000u);
  auto vs = net.validator_set();
  EXPECT_EQ(vs.size(), 3u);
  // Once out of the set it can no longer judge results.
  net.block({submit()});
  net.block(answers({"m1", "m2"}));
  auto ts = all_tasks();
  auto submitted = std::find_if(ts.begin(), ts.end(), [](const Task& t) { return t.status == Status::kSubmitted; });
  ASSERT_NE(submitted, ts.end());
  Receipt r = net.run_tx(net.tx(net.validator(2).account, accept_verdict(submitted->id)));
  EXPECT_EQ(r.code, TxCode::kUnauthorized);
  EXPECT_NE(r.error.find("tasks.not_validator"), std::string::npos) << r.error;
}

TEST_F(ContractsScenario, TimeoutsReassignToAnotherMinerThenRefund) {
  setup_market(net, {"m1", "m2"});
  const Address user = net.actor("u").addr();
  const Amount user_start = net.balance(user);
  net.block({submit(2'000)});
  auto first = *net.task(1);
  ASSERT_EQ(first.status, Status::kAssigned);
  net.run_to(first.deadline + 1);  // nobody answers: expires at the end of deadline + 1 ...
  auto second = *net.task(1);
  EXPECT_EQ(second.status, Status::kAssigned);  // ... and is reassigned in the same block
  EXPECT_NE(second.miner, first.miner);
  EXPECT_EQ(second.attempts, 2u);
  EXPECT_EQ(second.tried, std::vector<Address>{first.miner});
  net.run_to(second.deadline + 1);
  auto last = *net.task(1);
  EXPECT_EQ(last.status, Status::kExpired);  // max_task_attempts = 2
  EXPECT_EQ(net.balance(user), user_start - Net::kFee);
  EXPECT_EQ(net.events("task_timeout").size(), 2u);
  EXPECT_EQ(net.events("task_expired").size(), 1u);
  for (const auto& name : {"m1", "m2"}) {
    auto m = *net.miner(net.actor(name).addr());
    EXPECT_EQ(m.failed, 1u) << name;
    EXPECT_EQ(m.open_tasks, 0u) << name;
    EXPECT_LT(m.reliability, ct::registry::kReliabilityOne / 2) << name;
  }
  EXPECT_EQ(net.balance(ct::bank::module_account("tasks")), 0u);
  // A late result for the expired task is refused.
  Receipt r = net.run_tx(net.tx(net.actor("m1"), result_for(last, tokens(3))));
  EXPECT_NE(r.error.find("tasks.not_assigned"), std::string::npos) << r.error;
}

TEST_F(ContractsScenario, TaskThatEveryServingMinerFailedIsRefundedBeforeMaxAttempts) {
  setup_market(net, {"m1"});  // one miner serves the model; max_task_attempts is 2
  const Address user = net.actor("u").addr();
  const Amount user_start = net.balance(user);
  net.block({submit(2'000)});
  auto first = *net.task(1);
  ASSERT_EQ(first.status, Status::kAssigned);
  net.run_to(first.deadline + 1);
  auto after = *net.task(1);
  // No untried miner is left, so it does not wait in the queue forever.
  EXPECT_EQ(after.status, Status::kExpired);
  EXPECT_EQ(after.attempts, 1u);
  EXPECT_EQ(net.balance(user), user_start - Net::kFee);
  EXPECT_EQ(net.events("task_expired").size(), 1u);
  EXPECT_EQ(net.balance(ct::bank::module_account("tasks")), 0u);
}

TEST_F(ContractsScenario, SchedulerRespectsCapacityEveryBlockAndLearnsWhoIsReliable) {
  // m1 (2 slots) and m2 (1 slot) answer; m3 (1 slot) never does.
  net.block({net.tx(net.validator(0).account, model_payload("llama-7b"))});
  std::vector<Transaction> reg;
  for (auto [name, slots] : std::vector<std::pair<std::string, uint32_t>>{{"m1", 2}, {"m2", 1}, {"m3", 1}}) {
    reg.push_back(net.tx(net.actor(name), chain::Stake{StakeRole::kMiner, 5'000}));
    reg.push_back(net.tx(net.actor(name), chain::RegisterMiner{profile({model_id("llama-7b")}, slots)}));
  }
  net.block(reg);
  std::vector<Transaction> burst;
  for (int i = 0; i < 12; ++i) burst.push_back(submit());
  net.block(burst);
  size_t max_seen_pending = 0;
  for (int i = 0; i < 40; ++i) {
    std::map<Address, uint32_t> load;
    size_t pending = 0;
    for (const auto& t : all_tasks()) {
      if (t.status == Status::kAssigned) ++load[t.miner];
      if (t.status == Status::kPending) ++pending;
    }
    max_seen_pending = std::max(max_seen_pending, pending);
    for (const auto& name : {"m1", "m2", "m3"}) {
      auto m = *net.miner(net.actor(name).addr());
      EXPECT_LE(load[m.account], m.profile.max_concurrent) << name << " at height " << net.head();
      EXPECT_EQ(load[m.account], m.open_tasks) << name << " at height " << net.head();
    }
    net.block(answers({"m1", "m2"}));
  }
  EXPECT_GE(max_seen_pending, 8u);  // 12 tasks, 4 slots: the rest waited
  for (const auto& t : all_tasks()) EXPECT_EQ(t.status, Status::kSettled) << "task " << t.id;
  auto m3 = *net.miner(net.actor("m3").addr());
  EXPECT_GE(m3.failed, 1u);
  EXPECT_EQ(m3.completed, 0u);
  // The track record now speaks: single tasks go to a reliable, fast, free miner, never to m3.
  for (int i = 0; i < 6; ++i) {
    const auto& rec = net.block({submit()});
    (void)rec;
    auto t = all_tasks().back();
    EXPECT_NE(t.miner, m3.account) << "task " << t.id;
    net.block(answers({"m1", "m2"}));
    net.run_to(net.head() + 2);
  }
}

}  // namespace
}  // namespace ig::testing
