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

}  // namespace
}  // namespace ig::testing
