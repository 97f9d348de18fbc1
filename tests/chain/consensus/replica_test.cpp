// The Replica: the WAL holds the accepted inputs and this node's signatures in order; a restart
// replays the height into the same state and re-creates the same messages with the same
// signatures; a lost WAL cannot make the signer sign something different.
#include <gtest/gtest.h>

#include "chain/consensus/replica.hpp"
#include "tests/chain/consensus/core_fixture.hpp"

namespace ig::chain::bft::testing {
namespace {

struct BftReplica : CoreTest {
  TempDir dir;
  std::unique_ptr<FileSigner> fsigner;
  std::unique_ptr<Wal> wal;
  std::unique_ptr<Replica> rep;

  void open(size_t index) {
    me = index;
    rep.reset();
    wal.reset();
    fsigner.reset();
    FileSigner::Options so;
    so.fsync = false;
    fsigner = std::move(*FileSigner::open(dir.sub("signer.json"), ks.keys[me], so));
    Wal::Options wo;
    wo.fsync = false;
    wal = std::move(*Wal::open(dir.sub("wal"), wo));
    rep = std::make_unique<Replica>(kChain, fsigner.get(), wal.get());
  }
  Output rvotes(const std::vector<size_t>& who, uint8_t type, uint32_t r, const Hash& v) {
    Output all;
    for (size_t i : who) all.merge(rep->on_vote(signed_vote(ks.keys[i], type, 1, r, v)));
    return all;
  }
  Output rpropose(uint32_t r, const Block& b, int32_t pol = -1) {
    return rep->on_proposal(signed_proposal(ks.keys[proposer_of(1, r)], 1, r, pol, b), true);
  }
};

TEST_F(BftReplica, ReplayRestoresTheStateAndTheSameSignatures) {
  open(non_proposer({0, 1}));
  rep->start_height(1, ks.validators);
  Block a = block(1), b = block(2);
  std::vector<Vote> mine;
  auto keep = [&](const Output& o) { mine.insert(mine.end(), o.votes.begin(), o.votes.end()); };
  keep(rpropose(0, a));
  auto peers = others(3);
  keep(rvotes({peers[0], peers[1]}, kPrevote, 0, hash_of(a)));  // lock on a
  Output o = rvotes({peers[0], peers[1]}, kPrecommit, 0, Hash{});
  keep(rep->on_timeout(*find_timeout(o, Step::kPrecommit)));
  keep(rpropose(1, b));  // prevote nil (locked)
  keep(rvotes({peers[2]}, kPrevote, 1, Hash{}));
  rep->on_vote(signed_vote(test_key(50), kPrevote, 1, 1, Hash{}));  // rejected: not logged
  ASSERT_EQ(mine.size(), 3u);
  const Tendermint& before = rep->core();
  const auto round = before.round();
  const auto step = before.step();
  const auto locked = before.locked_block();
  const auto locked_round = before.locked_round();
  const auto valid_round = before.valid_round();
  const auto votes_held = before.known_votes().size();

  ASSERT_TRUE(wal->sync());  // a clean stop (a crash would lose the last, buffered input)
  open(me);
  Output r = rep->start_height(1, ks.validators);
  const Tendermint& after = rep->core();
  EXPECT_EQ(after.round(), round);
  EXPECT_EQ(after.step(), step);
  EXPECT_EQ(after.locked_block(), locked);
  EXPECT_EQ(after.locked_round(), locked_round);
  EXPECT_EQ(after.valid_round(), valid_round);
  EXPECT_EQ(after.known_votes().size(), votes_held);
  EXPECT_GT(rep->replayed(), 0u);
  EXPECT_TRUE(r.errors.empty()) << r.errors[0].to_string();
  // The replay re-creates my messages, byte for byte (BIP-340 signatures are randomised, so
  // equal signatures prove they were reused, not re-made).
  EXPECT_EQ(r.votes, mine);
  // And the restarted node continues: the others' precommits end round 1.
  o = rvotes({peers[0], peers[1]}, kPrevote, 1, Hash{});
  EXPECT_TRUE(has_vote(o, kPrecommit) || has_vote(r, kPrecommit));
}

TEST_F(BftReplica, TheWalRecordsInputsBeforeTheSignaturesTheyCaused) {
  open(non_proposer({0}));
  rep->start_height(1, ks.validators);
  Block a = block(1);
  rpropose(0, a);
  auto records = wal->read_height(1);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 2u);
  EXPECT_TRUE(std::holds_alternative<WalProposal>((*records)[0]));
  ASSERT_TRUE(std::holds_alternative<WalSignature>((*records)[1]));
  EXPECT_EQ(std::get<WalSignature>((*records)[1]).step, SignStep::kPrevote);
  // Durable already: the signature was synced before the vote was returned.
  EXPECT_EQ(wal->synced_size(), wal->file_size());
  // An input that signs nothing is only buffered (made durable by the next signature or the
  // height's end), but it is logged.
  const uint64_t synced = wal->synced_size();
  rvotes({others(1)[0]}, kPrevote, 0, hash_of(a));
  EXPECT_EQ(wal->synced_size(), synced);
  EXPECT_EQ(wal->read_height(1)->size(), 3u);
}

TEST_F(BftReplica, WithoutItsWalTheSignerStillRefusesADifferentMessage) {
  open(non_proposer({0}));
  rep->start_height(1, ks.validators);
  Block a = block(1);
  Output o = rpropose(0, a);
  ASSERT_EQ(my_vote(o, kPrevote).block_hash, hash_of(a));
  // The WAL is lost (disk replaced), the signer state kept: the node restarts at round 0 and
  // times out instead of seeing the proposal; the signer refuses the nil prevote.
  std::filesystem::remove(dir.sub("wal"));
  open(me);
  rep->start_height(1, ks.validators);
  EXPECT_EQ(rep->replayed(), 0u);
  o = rep->on_timeout(TimeoutRequest{1, 0, Step::kPropose, 0});
  EXPECT_TRUE(o.votes.empty());
  ASSERT_FALSE(o.errors.empty());
  EXPECT_EQ(o.errors[0].code, "signer.conflict");
  // Seeing the same proposal again gives the same prevote: the signer returns its stored one.
  std::filesystem::remove(dir.sub("wal"));
  open(me);
  rep->start_height(1, ks.validators);
  o = rpropose(0, a);
  ASSERT_EQ(o.votes.size(), 1u);
  EXPECT_EQ(o.votes[0].block_hash, hash_of(a));
}

TEST_F(BftReplica, ANonValidatorNeedsNoSignerAndNoWal) {
  Replica follower(kChain, nullptr, nullptr);
  follower.start_height(1, ks.validators);
  Block a = block(1);
  follower.on_proposal(signed_proposal(ks.keys[proposer_of(1, 0)], 1, 0, -1, a), true);
  Output o;
  for (size_t i = 0; i < 3; ++i) o = follower.on_vote(signed_vote(ks.keys[i], kPrecommit, 1, 0, hash_of(a)));
  ASSERT_TRUE(o.decision);
  EXPECT_TRUE(o.votes.empty());
}

TEST_F(BftReplica, ARestartedProposerReproposesTheSameBlock) {
  open(proposer_of(1, 0));
  Output s = rep->start_height(1, ks.validators);
  ASSERT_TRUE(s.need_block);
  Block mine = block(9);
  Output o = rep->on_own_block(mine);
  ASSERT_EQ(o.proposals.size(), 1u);
  const Proposal sent = o.proposals[0];
  open(me);
  Output r = rep->start_height(1, ks.validators);
  EXPECT_FALSE(r.need_block);  // its block is in the WAL
  ASSERT_EQ(r.proposals.size(), 1u);
  EXPECT_EQ(r.proposals[0], sent);
}

}  // namespace
}  // namespace ig::chain::bft::testing
