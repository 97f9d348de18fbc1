// Locking: lock on a polka, no unlock without a newer polka, relock on a later polka, the proof
// of lock (a proposal's pol_round) that lets a locked validator prevote another value, and the
// re-proposal of the valid value (CometBFT state_test.go TestStateLock_*).
#include <gtest/gtest.h>

#include "tests/chain/consensus/core_fixture.hpp"

namespace ig::chain::bft::testing {
namespace {

struct BftLock : CoreTest {
  // Round 0: block `a` proposed, me and two others prevote it, I lock on it; the others
  // precommit nil so the round ends without a decision and I move to round 1.
  void lock_on_a_in_round_0(const Block& a) {
    start();
    propose(0, a);
    auto peers = others(3);
    Output o = votes({peers[0], peers[1]}, kPrevote, 0, hash_of(a));
    ASSERT_EQ(my_vote(o, kPrecommit).block_hash, hash_of(a));
    ASSERT_EQ(core->locked_round(), 0);
    o = votes({peers[0], peers[1]}, kPrecommit, 0, Hash{});
    auto tp = find_timeout(o, Step::kPrecommit);
    ASSERT_TRUE(tp);
    core->on_timeout(*tp);
    ASSERT_EQ(core->round(), 1u);
  }
};

TEST_F(BftLock, NoUnlockWithoutAPolka) {
  make(non_proposer({0, 1, 2}));
  Block a = block(1), b = block(2);
  lock_on_a_in_round_0(a);
  Output o = propose(1, b);
  EXPECT_TRUE(is_nil(my_vote(o, kPrevote).block_hash));  // locked on a: b gets nil
  auto peers = others(3);
  o = votes({peers[0], peers[1]}, kPrevote, 1, Hash{});
  EXPECT_TRUE(is_nil(my_vote(o, kPrecommit).block_hash));
  EXPECT_EQ(core->locked_block(), hash_of(a));  // still locked
  EXPECT_EQ(core->locked_round(), 0);
  // Round 2 re-proposes a fresh block without a proof of lock: still nil.
  o = votes({peers[0], peers[1]}, kPrecommit, 1, Hash{});
  core->on_timeout(*find_timeout(o, Step::kPrecommit));
  ASSERT_EQ(core->round(), 2u);
  o = propose(2, block(3));
  EXPECT_TRUE(is_nil(my_vote(o, kPrevote).block_hash));
}

TEST_F(BftLock, TheLockedBlockReproposedWithoutProofStillGetsMyPrevote) {
  make(non_proposer({0, 1}));
  Block a = block(1);
  lock_on_a_in_round_0(a);
  Output o = propose(1, a);
  EXPECT_EQ(my_vote(o, kPrevote).block_hash, hash_of(a));  // lockedValue = v
}

TEST_F(BftLock, RelockOnAPolkaOfALaterRound) {
  make(non_proposer({0, 1}));
  Block a = block(1), b = block(2);
  lock_on_a_in_round_0(a);
  Output o = propose(1, b);
  EXPECT_TRUE(is_nil(my_vote(o, kPrevote).block_hash));
  o = votes(others(3), kPrevote, 1, hash_of(b));  // the other three polka b in round 1
  EXPECT_EQ(my_vote(o, kPrecommit).block_hash, hash_of(b));
  EXPECT_EQ(core->locked_block(), hash_of(b));
  EXPECT_EQ(core->locked_round(), 1);
  EXPECT_EQ(core->valid_block(), hash_of(b));
  EXPECT_EQ(core->valid_round(), 1);
}

TEST_F(BftLock, AProofOfLockFromALaterRoundUnlocks) {
  make(non_proposer({0, 1, 2}));
  Block a = block(1), b = block(2);
  lock_on_a_in_round_0(a);
  auto peers = others(3);
  // I miss round 1 (no proposal); the others moved to round 2: skip there.
  votes({peers[0], peers[1]}, kPrecommit, 2, Hash{});
  ASSERT_EQ(core->round(), 2u);
  // Round 2's proposer re-proposes b with the proof that b had a polka in round 1.
  Output o = propose(2, b, /*pol=*/1);
  EXPECT_FALSE(has_vote(o, kPrevote));  // waits for the polka itself
  o = votes(others(3), kPrevote, 1, hash_of(b));
  EXPECT_EQ(my_vote(o, kPrevote).block_hash, hash_of(b));  // L28: lockedRound 0 <= vr 1
  EXPECT_EQ(core->round(), 2u);
}

TEST_F(BftLock, AProofOfLockOlderThanMyLockDoesNotUnlock) {
  make(non_proposer({1, 2}));
  Block a = block(1), c = block(3);
  start();
  auto peers = others(3);
  // Round 0: c had a polka that I did not join (I timed out and prevoted nil, and never saw c).
  core->on_timeout(TimeoutRequest{1, 0, Step::kPropose, 0});
  votes(peers, kPrevote, 0, hash_of(c));
  core->on_timeout(TimeoutRequest{1, 0, Step::kPrevote, 0});  // precommit nil
  votes({peers[0], peers[1]}, kPrecommit, 0, Hash{});
  core->on_timeout(TimeoutRequest{1, 0, Step::kPrecommit, 0});
  ASSERT_EQ(core->round(), 1u);
  EXPECT_EQ(core->locked_round(), -1);
  // Round 1: I lock on a.
  propose(1, a);
  votes({peers[0], peers[1]}, kPrevote, 1, hash_of(a));
  ASSERT_EQ(core->locked_round(), 1);
  votes({peers[0], peers[1]}, kPrecommit, 1, Hash{});
  core->on_timeout(TimeoutRequest{1, 1, Step::kPrecommit, 0});
  ASSERT_EQ(core->round(), 2u);
  // Round 2: c again, justified by round 0's polka, which is older than my lock: nil.
  propose(2, c, /*pol=*/0, true);
  EXPECT_EQ(core->step(), Step::kPrevote);
  EXPECT_TRUE(is_nil(core->votes().get(2, kPrevote)->first_vote_of(me)->block_hash));
}

TEST_F(BftLock, TheProposerReproposesItsValidValueWithItsRound) {
  const size_t p1 = proposer_of(1, 1);
  ASSERT_NE(p1, proposer_of(1, 0));
  make(p1);
  Block a = block(1);
  start();
  propose(0, a);
  auto peers = others(3, proposer_of(1, 0));
  Output o = votes({proposer_of(1, 0), peers[0]}, kPrevote, 0, hash_of(a));
  ASSERT_EQ(core->valid_block(), hash_of(a));
  o = votes({proposer_of(1, 0), peers[0]}, kPrecommit, 0, Hash{});
  o = core->on_timeout(*find_timeout(o, Step::kPrecommit));
  ASSERT_EQ(core->round(), 1u);
  EXPECT_FALSE(o.need_block);  // it has a valid value: no new block
  ASSERT_EQ(o.proposals.size(), 1u);
  EXPECT_EQ(o.proposals[0].block, a);
  EXPECT_EQ(o.proposals[0].pol_round, 0);
  EXPECT_EQ(my_vote(o, kPrevote).block_hash, hash_of(a));
}

TEST_F(BftLock, ValidValueIsUpdatedEvenAfterPrecommittingNil) {
  make(non_proposer({0}));
  start();
  Block a = block(1);
  core->on_timeout(TimeoutRequest{1, 0, Step::kPropose, 0});  // prevote nil
  propose(0, a);
  auto peers = others(3);
  Output o = votes({peers[0], peers[1]}, kPrevote, 0, hash_of(a));  // 3 of 4 in, no majority
  o = core->on_timeout(*find_timeout(o, Step::kPrevote));
  EXPECT_TRUE(is_nil(my_vote(o, kPrecommit).block_hash));
  votes({peers[2]}, kPrevote, 0, hash_of(a));  // now a has its polka
  EXPECT_EQ(core->valid_block(), hash_of(a));  // L36 with step = precommit: valid value, no lock
  EXPECT_EQ(core->valid_round(), 0);
  EXPECT_EQ(core->locked_round(), -1);
}

}  // namespace
}  // namespace ig::chain::bft::testing
