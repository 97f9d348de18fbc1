// Vote tallies: thresholds by power, duplicates, bad votes rejected with a reason, conflicting
// votes turned into Evidence, the future-round budget, and the f+1 round-skip count.
#include <gtest/gtest.h>

#include "contracts/slashing.hpp"
#include "tests/chain/consensus/helpers.hpp"

namespace ig::chain::bft::testing {
namespace {

struct BftVoteSet : ::testing::Test {
  Keys ks{4, {1, 1, 1, 2}};  // total 5: +2/3 needs 4, +1/3 needs 2
  std::shared_ptr<const ValidatorSet> set = std::make_shared<const ValidatorSet>(*ValidatorSet::make(ks.validators));
  Hash a = sha256(view(std::string("a")));
  Hash b = sha256(view(std::string("b")));
};

TEST_F(BftVoteSet, CountsPowerPerValueAndOnceOverall) {
  VoteSet vs(kChain, set, 1, 0, kPrevote);
  ASSERT_TRUE(vs.add(signed_vote(ks.keys[0], kPrevote, 1, 0, a)));
  ASSERT_TRUE(vs.add(signed_vote(ks.keys[1], kPrevote, 1, 0, a)));
  EXPECT_FALSE(vs.has_two_thirds_any());
  ASSERT_TRUE(vs.add(signed_vote(ks.keys[3], kPrevote, 1, 0, Hash{})));
  EXPECT_TRUE(vs.has_two_thirds_any());  // 4 of 5
  EXPECT_FALSE(vs.two_thirds_majority());
  ASSERT_TRUE(vs.add(signed_vote(ks.keys[2], kPrevote, 1, 0, a)));
  EXPECT_EQ(vs.power_for(a), Power{3});
  EXPECT_FALSE(vs.has_two_thirds_for(a));  // 3 of 5 is not more than 2/3
  EXPECT_EQ(vs.power_any(), Power{5});
}

TEST_F(BftVoteSet, RejectsBadVotesWithAReason) {
  VoteSet vs(kChain, set, 1, 0, kPrevote);
  Vote stranger = signed_vote(test_key(99), kPrevote, 1, 0, a);
  EXPECT_EQ(vs.add(stranger).error().code, "vote.unknown_validator");
  Vote forged = signed_vote(ks.keys[0], kPrevote, 1, 0, a);
  forged.block_hash = b;
  EXPECT_EQ(vs.add(forged).error().code, "vote.bad_signature");
  EXPECT_EQ(vs.add(signed_vote(ks.keys[0], kPrecommit, 1, 0, a)).error().code, "vote.bad_type");
  EXPECT_EQ(vs.add(signed_vote(ks.keys[0], kPrevote, 2, 0, a)).error().code, "vote.wrong_height");
  EXPECT_EQ(vs.add(signed_vote(ks.keys[0], kPrevote, 1, 1, a)).error().code, "vote.wrong_round");
  Vote other_chain{kPrevote, 1, 0, a, ks.keys[0].public_key(), {}};
  other_chain.signature = ks.keys[0].sign(vote_signing_hash("other", other_chain));
  EXPECT_EQ(vs.add(other_chain).error().code, "vote.bad_signature");
  EXPECT_TRUE(vs.empty());
}

TEST_F(BftVoteSet, DuplicatesAreRecognisedAndConflictsBecomeEvidence) {
  VoteSet vs(kChain, set, 4, 2, kPrecommit);
  Vote first = signed_vote(ks.keys[3], kPrecommit, 4, 2, a);
  EXPECT_EQ(vs.add(first)->status, AddStatus::kAdded);
  EXPECT_EQ(vs.add(first)->status, AddStatus::kDuplicate);
  // Same value, fresh signature bytes (BIP-340 is randomised): not a conflict.
  EXPECT_EQ(vs.add(signed_vote(ks.keys[3], kPrecommit, 4, 2, a))->status, AddStatus::kDuplicate);
  Vote second = signed_vote(ks.keys[3], kPrecommit, 4, 2, Hash{});
  auto res = vs.add(second);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, AddStatus::kConflict);
  ASSERT_TRUE(res->evidence);
  EXPECT_EQ(res->evidence->a, first);
  EXPECT_EQ(res->evidence->b, second);
  EXPECT_TRUE(contracts::slashing::check_double_sign(kChain, *res->evidence));
  // Both values carry its power (each is a valid message of that value); "any" counts it once.
  EXPECT_EQ(vs.power_for(a), Power{2});
  EXPECT_EQ(vs.power_for(Hash{}), Power{2});
  EXPECT_EQ(vs.power_any(), Power{2});
  // A third value is ignored and no second evidence is produced.
  auto third = vs.add(signed_vote(ks.keys[3], kPrecommit, 4, 2, b));
  EXPECT_EQ(third->status, AddStatus::kIgnored);
  EXPECT_FALSE(third->evidence);
  EXPECT_EQ(vs.count(), 2u);
}

TEST_F(BftVoteSet, MajorityAndCommitSignatures) {
  VoteSet vs(kChain, set, 1, 0, kPrecommit);
  for (size_t i : {0u, 1u, 3u}) ASSERT_TRUE(vs.add(signed_vote(ks.keys[i], kPrecommit, 1, 0, a)));
  ASSERT_TRUE(vs.two_thirds_majority());
  EXPECT_EQ(*vs.two_thirds_majority(), a);
  auto votes = vs.votes_for(a);
  ASSERT_EQ(votes.size(), 3u);
  Commit c{1, 0, a, {}};
  for (const auto& v : votes) c.signatures.push_back({v.validator, v.signature});
  EXPECT_TRUE(verify_commit(c, kChain, ks.validators));
  EXPECT_FALSE(vs.all_voted_for(a));
}

TEST_F(BftVoteSet, HeightVotesSkipRoundOnMoreThanAThird) {
  HeightVoteSet hv(kChain, 1, set);
  ASSERT_TRUE(hv.add(signed_vote(ks.keys[0], kPrevote, 1, 3, a), 0));
  EXPECT_FALSE(hv.skip_round(0));  // 1 of 5
  ASSERT_TRUE(hv.add(signed_vote(ks.keys[1], kPrecommit, 1, 3, Hash{}), 0));
  ASSERT_TRUE(hv.skip_round(0));  // 2 of 5 > 1/3, any message type counts
  EXPECT_EQ(*hv.skip_round(0), 3u);
  EXPECT_FALSE(hv.skip_round(3));
  EXPECT_EQ(hv.add(signed_vote(ks.keys[0], kPrevote, 2, 0, a), 0).error().code, "vote.wrong_height");
}

TEST_F(BftVoteSet, FutureRoundBudgetBoundsWhatOneValidatorCanMakeUsStore) {
  HeightVoteSet hv(kChain, 1, set);
  for (uint32_t r = 1; r <= HeightVoteSet::kFutureRoundBudget; ++r)
    EXPECT_EQ(hv.add(signed_vote(ks.keys[0], kPrevote, 1, r, a), 0)->status, AddStatus::kAdded);
  // A fifth future round from the same validator is ignored...
  EXPECT_EQ(hv.add(signed_vote(ks.keys[0], kPrevote, 1, 100, a), 0)->status, AddStatus::kIgnored);
  // ...but more votes in rounds it already has, and rounds we have reached, are fine.
  EXPECT_EQ(hv.add(signed_vote(ks.keys[0], kPrecommit, 1, 2, a), 0)->status, AddStatus::kAdded);
  EXPECT_EQ(hv.add(signed_vote(ks.keys[0], kPrevote, 1, 100, a), 100)->status, AddStatus::kAdded);
  EXPECT_EQ(hv.add(signed_vote(ks.keys[1], kPrevote, 1, 100, a), 0)->status, AddStatus::kAdded);
}

}  // namespace
}  // namespace ig::chain::bft::testing
