// weights through real blocks: commit in epoch e, reveal in the first blocks of e+1, and every
// way a commit or reveal is wrong (tempo 10, reveal window 5).
#include "tests/contracts/harness.hpp"

namespace ig::testing {
namespace {

bool has_error(const Receipt& r, const std::string& code) { return r.error.find(code) != std::string::npos; }

class ContractsWeights : public ::testing::Test {
 protected:
  ContractsWeights() : net(short_params_json(), 4, 10'000, {"u"}) {}
  chain::CommitWeights commit_for(size_t v, uint64_t epoch, const std::vector<chain::WeightEntry>& w, const Hash& salt) {
    return {epoch, weights_commit_hash(net.validator(v).account.addr(), epoch, w, salt)};
  }
  Receipt send(size_t v, chain::Payload p) { return net.run_tx(net.tx(net.validator(v).account, std::move(p))); }

  Net net;
  std::vector<chain::WeightEntry> w{{0, 100}, {2, 65535}};
  Hash salt = hash_of("salt");
};

TEST_F(ContractsWeights, CommitRules) {
  EXPECT_EQ(net.run_tx(net.tx(net.actor("u"), commit_for(0, 0, w, salt))).code, TxCode::kUnauthorized);
  Receipt wrong = send(0, commit_for(0, 1, w, salt));
  EXPECT_TRUE(has_error(wrong, "weights.wrong_epoch")) << wrong.error;
  ASSERT_EQ(send(0, commit_for(0, 0, w, salt)).code, TxCode::kOk);
  EXPECT_TRUE(has_error(send(0, commit_for(0, 0, w, hash_of("other"))), "weights.duplicate_commit"));
  EXPECT_EQ(ct::weights::get_commit(net.state(), 0, net.validator(0).account.addr()),
            weights_commit_hash(net.validator(0).account.addr(), 0, w, salt));
  net.run_to(9);
  EXPECT_TRUE(has_error(send(0, commit_for(0, 0, w, salt)), "weights.wrong_epoch"));  // height 10 is epoch 1
  ASSERT_EQ(send(0, commit_for(0, 1, w, salt)).code, TxCode::kOk);                     // a new epoch, a new commit
}

TEST_F(ContractsWeights, RevealMatchingTheCommitStoresTheRow) {
  ASSERT_EQ(send(1, commit_for(1, 0, w, salt)).code, TxCode::kOk);
  EXPECT_TRUE(has_error(send(1, chain::RevealWeights{0, w, salt}), "weights.wrong_epoch"));  // still epoch 0
  net.run_to(11);
  Receipt ok = send(1, chain::RevealWeights{0, w, salt});
  ASSERT_EQ(ok.code, TxCode::kOk) << ok.error;
  auto row = ct::weights::get_row(net.state(), net.validator(1).account.addr());
  ASSERT_TRUE(row);
  EXPECT_EQ(row->reveal_epoch, 1u);
  EXPECT_EQ(row->reveal_height, ok.height);
  EXPECT_EQ(row->entries, w);
  EXPECT_FALSE(ct::weights::get_commit(net.state(), 0, net.validator(1).account.addr()));
  // The commit is spent: the same reveal again has nothing to match.
  Receipt again = send(1, chain::RevealWeights{0, w, salt});
  EXPECT_EQ(again.code, TxCode::kNotFound);
  EXPECT_TRUE(has_error(again, "weights.no_commit"));
}

TEST_F(ContractsWeights, RevealWithoutCommitOrNotMatchingIsRefused) {
  ASSERT_EQ(send(0, commit_for(0, 0, w, salt)).code, TxCode::kOk);
  net.run_to(10);
  Receipt none = send(2, chain::RevealWeights{0, w, salt});
  EXPECT_EQ(none.code, TxCode::kNotFound);
  EXPECT_TRUE(has_error(none, "weights.no_commit"));
  EXPECT_TRUE(has_error(send(0, chain::RevealWeights{0, w, hash_of("wrong salt")}), "weights.mismatch"));
  auto heavier = w;
  heavier[0].weight = 101;
  EXPECT_TRUE(has_error(send(0, chain::RevealWeights{0, heavier, salt}), "weights.mismatch"));
  EXPECT_TRUE(has_error(send(0, chain::RevealWeights{1, w, salt}), "weights.wrong_epoch"));
  EXPECT_EQ(net.run_tx(net.tx(net.actor("u"), chain::RevealWeights{0, w, salt})).code, TxCode::kUnauthorized);
  EXPECT_FALSE(ct::weights::get_row(net.state(), net.validator(0).account.addr()));
  EXPECT_TRUE(ct::weights::get_commit(net.state(), 0, net.validator(0).account.addr()));  // a failed reveal spends nothing
}

TEST_F(ContractsWeights, RevealWindowCloses) {
  ASSERT_EQ(send(0, commit_for(0, 0, w, salt)).code, TxCode::kOk);
  ASSERT_EQ(send(1, commit_for(1, 0, w, salt)).code, TxCode::kOk);
  net.run_to(13);
  ASSERT_EQ(send(0, chain::RevealWeights{0, w, salt}).code, TxCode::kOk);  // height 14: last block of the window
  Receipt closed = send(1, chain::RevealWeights{0, w, salt});             // height 15
  EXPECT_TRUE(has_error(closed, "weights.reveal_closed")) << closed.error;
}

TEST_F(ContractsWeights, RevealedWeightsMustNameRegisteredUidsInOrder) {
  std::vector<chain::WeightEntry> unknown{{0, 1}, {999, 1}};
  std::vector<chain::WeightEntry> unsorted{{2, 1}, {1, 1}};
  std::vector<chain::WeightEntry> repeated{{1, 1}, {1, 2}};
  ASSERT_EQ(send(0, commit_for(0, 0, unknown, salt)).code, TxCode::kOk);
  ASSERT_EQ(send(1, commit_for(1, 0, unsorted, salt)).code, TxCode::kOk);
  ASSERT_EQ(send(2, commit_for(2, 0, repeated, salt)).code, TxCode::kOk);
  net.run_to(10);
  EXPECT_TRUE(has_error(send(0, chain::RevealWeights{0, unknown, salt}), "weights.bad_uid"));
  EXPECT_TRUE(has_error(send(1, chain::RevealWeights{0, unsorted, salt}), "weights.unsorted"));
  EXPECT_TRUE(has_error(send(2, chain::RevealWeights{0, repeated, salt}), "weights.unsorted"));
}

TEST_F(ContractsWeights, AMismatchedRevealIsRefusedClearlyAndChangesNothing) {
  // Validator 0 revealed once already (row from epoch 1); its next commit is then revealed wrongly.
  ASSERT_EQ(send(0, commit_for(0, 0, w, salt)).code, TxCode::kOk);
  net.run_to(10);
  ASSERT_EQ(send(0, chain::RevealWeights{0, w, salt}).code, TxCode::kOk);
  const auto row = ct::weights::get_row(net.state(), net.validator(0).account.addr());
  ASSERT_TRUE(row);
  const std::vector<chain::WeightEntry> next{{1, 7}};
  ASSERT_EQ(send(0, commit_for(0, 1, next, salt)).code, TxCode::kOk);
  net.run_to(20);
  const Hash before = contract_state_digest(net.state());
  Receipt bad = send(0, chain::RevealWeights{1, w, salt});  // the old weights, not the committed ones
  EXPECT_EQ(bad.code, TxCode::kInvalidPayload);
  EXPECT_TRUE(has_error(bad, "weights.mismatch")) << bad.error;
  EXPECT_NE(bad.error.find("do not match the commit made in epoch 1"), std::string::npos) << bad.error;
  EXPECT_NE(bad.error.find("nothing was changed"), std::string::npos) << bad.error;
  EXPECT_EQ(contract_state_digest(net.state()), before);
  EXPECT_EQ(ct::weights::get_row(net.state(), net.validator(0).account.addr()), row);
  EXPECT_TRUE(ct::weights::get_commit(net.state(), 1, net.validator(0).account.addr()));
  // The right reveal still goes through afterwards, inside the window.
  ASSERT_EQ(send(0, chain::RevealWeights{1, next, salt}).code, TxCode::kOk);
  EXPECT_EQ(ct::weights::get_row(net.state(), net.validator(0).account.addr())->entries, next);
}

// Weights persist until replaced, as Bittensor's stored weights do: a row revealed in epoch 1
// gives the miners incentive at the boundaries of epochs 1, 2 and 3, until Yuma's activity
// cutoff (35 blocks after the reveal height) retires it.
TEST(ContractsWeightsPersist, RevealedWeightsKeepCountingUntilTheActivityCutoff) {
  Net net(short_params_json(R"("activity_cutoff": 35)"), 4, 10'000, {"m1", "m2"});
  setup_market(net, {"m1", "m2"});
  auto uid = [&](const std::string& name) { return static_cast<uint16_t>(*ct::registry::uid_of(net.state(), net.actor(name).addr())); };
  const std::vector<chain::WeightEntry> w{{uid("m1"), 65535}, {uid("m2"), 32768}};
  std::vector<Transaction> commits;
  for (size_t v = 0; v < 4; ++v)
    commits.push_back(net.tx(net.validator(v).account,
                             chain::CommitWeights{0, weights_commit_hash(net.validator(v).account.addr(), 0, w, hash_of("s"))}));
  net.block(commits);
  ASSERT_LT(net.head(), 10u);
  net.run_to(10);
  std::vector<Transaction> reveals;
  for (size_t v = 0; v < 4; ++v) reveals.push_back(net.tx(net.validator(v).account, chain::RevealWeights{0, w, hash_of("s")}));
  const auto& rec = net.block(reveals);  // height 11: last_update 11, active through height 46
  for (const auto& r : rec.receipts) ASSERT_EQ(r.code, TxCode::kOk) << r.error;
  auto incentive_at = [&](uint64_t boundary, const std::string& miner) {
    net.run_to(boundary);
    auto last = ct::epoch::last_epoch(net.state());
    EXPECT_TRUE(last && last->height == boundary);
    for (const auto& u : last->uids)
      if (u.uid == uid(miner)) return std::make_pair(u.incentive, u.emission);
    return std::make_pair(uint16_t{0}, Amount{0});
  };
  for (uint64_t boundary : {19u, 29u, 39u}) {  // epoch 1 (the reveal's), then epochs 2 and 3 with no new reveal
    auto [i1, e1] = incentive_at(boundary, "m1");
    auto [i2, e2] = incentive_at(boundary, "m2");
    EXPECT_GT(i1, i2) << "epoch ending at " << boundary;
    EXPECT_GT(i2, 0u) << "epoch ending at " << boundary;
    EXPECT_GT(e1, 0u) << "epoch ending at " << boundary;
  }
  // At 49 the rows are 38 blocks old: beyond the cutoff, the validators count as inactive.
  EXPECT_EQ(incentive_at(49, "m1").first, 0u);
  EXPECT_EQ(incentive_at(49, "m2").first, 0u);
}

}  // namespace
}  // namespace ig::testing
