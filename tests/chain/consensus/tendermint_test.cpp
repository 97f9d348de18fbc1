// The state machine, one rule at a time (the cases of CometBFT's consensus/state_test.go):
// full rounds with one and four validators, invalid/bad/oversized proposals, votes from
// strangers, nil polka, timeouts and their growth, round skip, commit from an earlier round,
// double-vote evidence, a late proposal after a polka, future-round proposals.
#include <gtest/gtest.h>

#include "contracts/slashing.hpp"
#include "tests/chain/consensus/core_fixture.hpp"

namespace ig::chain::bft::testing {
namespace {

TEST(BftCore, OneValidatorDecidesWithinOneCallOfItsBlock) {
  Keys ks(1);
  MemorySigner signer(ks.keys[0]);
  CoreConfig cfg;
  cfg.timeouts.skip_commit_timeout = true;
  Tendermint core(kChain, &signer, cfg);
  Output start = core.start_height(1, ks.validators);
  ASSERT_TRUE(start.need_block);
  EXPECT_EQ(*start.need_block, (BlockRequest{1, 0}));
  Block b = make_block(1, 1, ks.keys[0].public_key());
  Output out = core.on_own_block(b);
  ASSERT_EQ(out.proposals.size(), 1u);
  ASSERT_EQ(out.votes.size(), 2u);  // prevote and precommit, no timeout waited for
  EXPECT_EQ(out.votes[0].type, kPrevote);
  EXPECT_EQ(out.votes[1].type, kPrecommit);
  ASSERT_TRUE(out.decision);
  EXPECT_EQ(out.decision->block, b);
  EXPECT_TRUE(verify_commit(out.decision->commit, kChain, ks.validators));
  EXPECT_TRUE(out.decision->all_signed);
  auto wait = CoreTest::find_timeout(out, Step::kCommit);
  ASSERT_TRUE(wait);
  EXPECT_EQ(wait->delay_ms, 0u);  // skip_commit_timeout with every precommit in
  EXPECT_EQ(core.step(), Step::kCommit);
  // The next height starts at once and asks for the next block.
  Output next = core.start_height(2, ks.validators);
  ASSERT_TRUE(next.need_block);
  EXPECT_EQ(next.need_block->height, 2u);
}

struct BftRules : CoreTest {};

TEST_F(BftRules, FullRoundWithFourValidators) {
  make(non_proposer({0}));
  Output s = start();
  EXPECT_FALSE(s.need_block);
  auto tp = find_timeout(s, Step::kPropose);
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->delay_ms, 3000u);
  Block a = block(1);
  Output o = propose(0, a);
  EXPECT_EQ(my_vote(o, kPrevote).block_hash, hash_of(a));
  EXPECT_EQ(core->step(), Step::kPrevote);
  auto peers = others(3);
  o = votes({peers[0], peers[1]}, kPrevote, 0, hash_of(a));  // with mine: 3 of 4
  EXPECT_EQ(my_vote(o, kPrecommit).block_hash, hash_of(a));
  EXPECT_EQ(core->locked_round(), 0);
  EXPECT_EQ(core->locked_block(), hash_of(a));
  EXPECT_EQ(core->valid_block(), hash_of(a));
  o = votes({peers[0]}, kPrecommit, 0, hash_of(a));
  EXPECT_FALSE(o.decision);
  o = votes({peers[2]}, kPrecommit, 0, hash_of(a));
  ASSERT_TRUE(o.decision);
  EXPECT_EQ(o.decision->block, a);
  EXPECT_EQ(o.decision->commit.signatures.size(), 3u);
  EXPECT_FALSE(o.decision->all_signed);
  EXPECT_TRUE(verify_commit(o.decision->commit, kChain, ks.validators));
  EXPECT_EQ(find_timeout(o, Step::kCommit)->delay_ms, 1000u);
  // After the decision nothing more happens at this height.
  EXPECT_TRUE(core->on_timeout(TimeoutRequest{1, 0, Step::kPrecommit, 0}).ignored);
}

TEST_F(BftRules, TheProposerAsksForItsBlockAndProposesIt) {
  make(proposer_of(1, 0));
  Output s = start();
  ASSERT_TRUE(s.need_block);
  EXPECT_EQ(*core->awaiting_block(), (BlockRequest{1, 0}));
  Block a = block(7);
  EXPECT_TRUE(core->on_own_block(block(8, 2)).ignored);  // wrong height
  Output o = core->on_own_block(a);
  ASSERT_EQ(o.proposals.size(), 1u);
  EXPECT_EQ(o.proposals[0].pol_round, -1);
  EXPECT_TRUE(verify_proposal_signature(kChain, o.proposals[0]));
  EXPECT_EQ(my_vote(o, kPrevote).block_hash, hash_of(a));
  EXPECT_FALSE(core->awaiting_block());
  EXPECT_TRUE(core->on_own_block(a).ignored);  // asked once, answered once
}

TEST_F(BftRules, AProposerWhoseBlockComesTooLateVotesNilLikeEveryoneElse) {
  make(proposer_of(1, 0));
  Output s = start();
  ASSERT_TRUE(s.need_block);
  Output o = core->on_timeout(*find_timeout(s, Step::kPropose));  // the driver never delivered
  EXPECT_TRUE(is_nil(my_vote(o, kPrevote).block_hash));
  EXPECT_FALSE(core->awaiting_block());
  EXPECT_TRUE(core->on_own_block(block(7)).ignored);
  EXPECT_TRUE(core->proposals(0).empty());
}

TEST_F(BftRules, InvalidBlockGetsANilPrevote) {
  make(non_proposer({0}));
  start();
  Output o = propose(0, block(1), -1, /*valid=*/false);
  EXPECT_TRUE(is_nil(my_vote(o, kPrevote).block_hash));
}

TEST_F(BftRules, BadProposalsAreRejectedWithAReason) {
  CoreConfig cfg;
  cfg.max_block_bytes = 1000;
  make(non_proposer({0}), cfg);
  start();
  const size_t prop = proposer_of(1, 0);
  const size_t impostor = (prop + 1) % 4;
  auto wrong = core->on_proposal(signed_proposal(ks.keys[impostor], 1, 0, -1, block(1)), true);
  ASSERT_TRUE(wrong.rejected);
  EXPECT_EQ(wrong.rejected->code, "proposal.wrong_proposer");
  Proposal forged = signed_proposal(ks.keys[prop], 1, 0, -1, block(1));
  forged.block.header.time_ms++;
  EXPECT_EQ(core->on_proposal(forged, true).rejected->code, "proposal.bad_signature");
  Block big = block(2);
  big.header.chain_id = kChain;
  Transaction tx;
  tx.body.chain_id = kChain;
  tx.body.payload = Transfer{Address{}, 1, std::string(900, 'x')};
  big.txs.push_back(tx);
  big.txs.push_back(tx);
  EXPECT_EQ(core->on_proposal(signed_proposal(ks.keys[prop], 1, 0, -1, big), true).rejected->code, "proposal.oversized");
  Block other_chain = block(3);
  other_chain.header.chain_id = "elsewhere";
  EXPECT_EQ(core->on_proposal(signed_proposal(ks.keys[prop], 1, 0, -1, other_chain), true).rejected->code,
            "proposal.wrong_chain");
  Proposal bad_pol = signed_proposal(ks.keys[prop], 1, 0, 0, block(4));
  EXPECT_EQ(core->on_proposal(bad_pol, true).rejected->code, "proposal.bad_pol_round");
  Block h2 = block(5, 2);
  Proposal mismatch = signed_proposal(ks.keys[prop], 1, 0, -1, h2);
  EXPECT_EQ(core->on_proposal(mismatch, true).rejected->code, "proposal.bad_block_height");
  // Other heights are not an offence: stale or early, just ignored.
  EXPECT_TRUE(core->on_proposal(signed_proposal(ks.keys[prop], 2, 0, -1, h2), true).ignored);
  // Nothing of the above moved the state machine.
  EXPECT_EQ(core->step(), Step::kPropose);
  EXPECT_TRUE(core->proposals(0).empty());
}

TEST_F(BftRules, VotesFromStrangersOrWithBadSignaturesAreRejected) {
  make(0);
  start();
  Hash a = hash_of(block(1));
  Output o = core->on_vote(signed_vote(test_key(42), kPrevote, 1, 0, a));
  ASSERT_TRUE(o.rejected);
  EXPECT_EQ(o.rejected->code, "vote.unknown_validator");
  Vote forged = signed_vote(ks.keys[1], kPrevote, 1, 0, a);
  forged.round = 1;
  EXPECT_EQ(core->on_vote(forged).rejected->code, "vote.bad_signature");
  Vote wrong_type = signed_vote(ks.keys[1], kPrevote, 1, 0, a);
  wrong_type.type = 9;
  EXPECT_EQ(core->on_vote(wrong_type).rejected->code, "vote.bad_type");
  EXPECT_TRUE(core->on_vote(signed_vote(ks.keys[1], kPrevote, 5, 0, a)).ignored);  // another height
  EXPECT_EQ(core->votes().get(0, kPrevote), nullptr);
}

TEST_F(BftRules, NilPolkaPrecommitsNilAndTimesOutIntoTheNextRound) {
  make(non_proposer({0, 1}));
  start();
  Output o = core->on_timeout(TimeoutRequest{1, 0, Step::kPropose, 3000});
  EXPECT_TRUE(is_nil(my_vote(o, kPrevote).block_hash));
  auto peers = others(3);
  o = votes({peers[0], peers[1]}, kPrevote, 0, Hash{});
  EXPECT_TRUE(is_nil(my_vote(o, kPrecommit).block_hash));  // L44
  EXPECT_EQ(core->step(), Step::kPrecommit);
  EXPECT_EQ(core->locked_round(), -1);
  o = votes({peers[0], peers[1]}, kPrecommit, 0, Hash{});
  auto tp = find_timeout(o, Step::kPrecommit);  // L47: +2/3 precommits of any kind
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->delay_ms, 1000u);
  EXPECT_FALSE(o.decision);  // a nil majority decides nothing
  o = core->on_timeout(*tp);
  EXPECT_EQ(core->round(), 1u);
  EXPECT_EQ(core->step(), Step::kPropose);
  EXPECT_EQ(find_timeout(o, Step::kPropose)->delay_ms, 3500u);
  // A timeout of a round that is over is ignored.
  EXPECT_TRUE(core->on_timeout(*tp).ignored);
}

TEST_F(BftRules, SplitPrevotesScheduleThePrevoteTimeoutThenPrecommitNil) {
  make(non_proposer({0}));
  start();
  Block a = block(1);
  propose(0, a);
  auto peers = others(3);
  votes({peers[0]}, kPrevote, 0, hash_of(a));
  Output o = votes({peers[1]}, kPrevote, 0, Hash{});  // 3 of 4 in, no majority
  auto tp = find_timeout(o, Step::kPrevote);
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->delay_ms, 1000u);
  EXPECT_FALSE(has_vote(o, kPrecommit));
  o = core->on_timeout(*tp);
  EXPECT_TRUE(is_nil(my_vote(o, kPrecommit).block_hash));
  EXPECT_EQ(core->locked_round(), -1);
}

TEST_F(BftRules, TimeoutsGrowLinearlyWithTheRound) {
  TimeoutConfig t;
  EXPECT_EQ(t.delay_ms(Step::kPropose, 0), 3000u);
  EXPECT_EQ(t.delay_ms(Step::kPropose, 4), 5000u);
  EXPECT_EQ(t.delay_ms(Step::kPrevote, 2), 2000u);
  EXPECT_EQ(t.delay_ms(Step::kPrecommit, 10), 6000u);
  EXPECT_EQ(t.delay_ms(Step::kCommit, 10), 1000u);
  t.propose_delta_ms = UINT64_MAX;
  EXPECT_EQ(t.delay_ms(Step::kPropose, 3), UINT64_MAX);  // saturates
  make(non_proposer({0, 5}));
  start();
  Output o = votes(others(2), kPrevote, 5, Hash{});
  EXPECT_EQ(core->round(), 5u);
  EXPECT_EQ(find_timeout(o, Step::kPropose)->delay_ms, 3000u + 5 * 500u);
}

TEST_F(BftRules, RoundSkipNeedsMoreThanAThird) {
  make(non_proposer({0, 3}));
  start();
  auto peers = others(3);
  votes({peers[0]}, kPrecommit, 3, Hash{});
  EXPECT_EQ(core->round(), 0u);  // 1 of 4 could be the byzantine one
  votes({peers[1]}, kPrevote, 3, Hash{});
  EXPECT_EQ(core->round(), 3u);  // 2 of 4: at least one correct validator is there
  EXPECT_EQ(core->step(), Step::kPropose);
}

TEST_F(BftRules, CommitFromAnEarlierRoundsLatePrecommits) {
  make(non_proposer({0, 1}));
  start();
  Block a = block(1);
  propose(0, a);
  auto peers = others(3);
  votes({peers[0], peers[1]}, kPrevote, 1, Hash{});  // the others moved on: skip to round 1
  EXPECT_EQ(core->round(), 1u);
  votes({peers[0], peers[1]}, kPrecommit, 0, hash_of(a));
  Output o = votes({peers[2]}, kPrecommit, 0, hash_of(a));
  ASSERT_TRUE(o.decision);
  EXPECT_EQ(o.decision->commit.round, 0u);
  EXPECT_EQ(o.decision->block, a);
  EXPECT_TRUE(verify_commit(o.decision->commit, kChain, ks.validators));
}

TEST_F(BftRules, NoDecisionWithoutTheBlock) {
  make(non_proposer({0}));
  start();
  Block a = block(1);
  Output o = votes(others(3), kPrecommit, 0, hash_of(a));
  EXPECT_FALSE(o.decision);  // +2/3 precommits but the block is unknown
  o = propose(0, a);
  ASSERT_TRUE(o.decision);  // the proposal (block) arrives: decide
  EXPECT_EQ(o.decision->block, a);
}

TEST_F(BftRules, DoubleVotesBecomeEvidence) {
  make(non_proposer({0}));
  start();
  const size_t byz = others(1)[0];
  Hash a = hash_of(block(1));
  Output first = core->on_vote(signed_vote(ks.keys[byz], kPrevote, 1, 0, a));
  EXPECT_TRUE(first.evidence.empty());
  Output second = core->on_vote(signed_vote(ks.keys[byz], kPrevote, 1, 0, Hash{}));
  ASSERT_EQ(second.evidence.size(), 1u);
  EXPECT_TRUE(contracts::slashing::check_double_sign(kChain, second.evidence[0]));
  EXPECT_EQ(second.evidence[0].a.validator, ks.keys[byz].public_key());
  // Precommits too.
  core->on_vote(signed_vote(ks.keys[byz], kPrecommit, 1, 0, a));
  Output pc = core->on_vote(signed_vote(ks.keys[byz], kPrecommit, 1, 0, hash_of(block(2))));
  ASSERT_EQ(pc.evidence.size(), 1u);
  EXPECT_EQ(pc.evidence[0].a.type, kPrecommit);
}

TEST_F(BftRules, ALateProposalAfterItsPolkaIsLockedAndPrecommitted) {
  make(non_proposer({0}));
  start();
  Output o = core->on_timeout(TimeoutRequest{1, 0, Step::kPropose, 3000});
  EXPECT_TRUE(is_nil(my_vote(o, kPrevote).block_hash));
  Block a = block(1);
  o = votes(others(3), kPrevote, 0, hash_of(a));
  EXPECT_TRUE(find_timeout(o, Step::kPrevote));
  EXPECT_FALSE(has_vote(o, kPrecommit));  // polka for a block we do not have yet
  o = propose(0, a);
  EXPECT_EQ(my_vote(o, kPrecommit).block_hash, hash_of(a));  // L36 as soon as it arrives
  EXPECT_EQ(core->locked_block(), hash_of(a));
}

TEST_F(BftRules, AProposalForALaterRoundIsKeptAndUsedAfterTheSkip) {
  make(non_proposer({0, 2}));
  start();
  Block a = block(1);
  EXPECT_FALSE(propose(2, a).rejected);
  EXPECT_EQ(core->round(), 0u);
  Output o = votes(others(2, proposer_of(1, 2)), kPrevote, 2, Hash{});
  EXPECT_EQ(core->round(), 2u);
  EXPECT_EQ(my_vote(o, kPrevote).block_hash, hash_of(a));  // L22 right at the start of round 2
}

TEST_F(BftRules, ProposalsBeyondTheRoundWindowAreIgnored) {
  make(non_proposer({0}));
  start();
  const uint32_t far = core->config().future_round_window + 1;
  Proposal p = signed_proposal(ks.keys[proposer_of(1, far)], 1, far, -1, block(1));
  EXPECT_EQ(core->check_proposal(p).error().code, "proposal.too_far_ahead");
  EXPECT_TRUE(core->on_proposal(p, true).ignored);
}

TEST_F(BftRules, AnEquivocatingProposerGetsOneExtraProposalStored) {
  make(non_proposer({0}));
  start();
  Block a = block(1), b = block(2), c = block(3);
  Output o = propose(0, a);
  EXPECT_EQ(my_vote(o, kPrevote).block_hash, hash_of(a));
  EXPECT_FALSE(propose(0, b).ignored);
  EXPECT_TRUE(propose(0, c).ignored);
  EXPECT_TRUE(propose(0, a).ignored);
  EXPECT_EQ(core->proposals(0).size(), 2u);
  // The third is still accepted once +2/3 prevoted it (the lock rule needs its block).
  votes(others(3), kPrevote, 0, hash_of(c));
  EXPECT_FALSE(propose(0, c).ignored);
}

TEST_F(BftRules, ANonValidatorFollowsAndSignsNothing) {
  Tendermint follower(kChain, nullptr);
  follower.start_height(1, ks.validators);
  EXPECT_FALSE(follower.is_validator());
  Block a = block(1);
  const size_t prop = proposer_of(1, 0);
  Output o = follower.on_proposal(signed_proposal(ks.keys[prop], 1, 0, -1, a), true);
  EXPECT_TRUE(o.votes.empty());
  for (size_t i = 0; i < 3; ++i) follower.on_vote(signed_vote(ks.keys[i], kPrevote, 1, 0, hash_of(a)));
  for (size_t i = 0; i < 2; ++i) follower.on_vote(signed_vote(ks.keys[i], kPrecommit, 1, 0, hash_of(a)));
  o = follower.on_vote(signed_vote(ks.keys[2], kPrecommit, 1, 0, hash_of(a)));
  EXPECT_TRUE(o.votes.empty());
  ASSERT_TRUE(o.decision);
  EXPECT_EQ(o.decision->block, a);
}

TEST_F(BftRules, AnEmptyValidatorSetIsRefused) {
  make(0);
  Keys none(2, {0, 0});
  Output o = core->start_height(1, none.validators);
  ASSERT_TRUE(o.rejected);
  EXPECT_FALSE(core->started());
  EXPECT_TRUE(core->on_vote(signed_vote(ks.keys[1], kPrevote, 1, 0, Hash{})).ignored);
}

}  // namespace
}  // namespace ig::chain::bft::testing
