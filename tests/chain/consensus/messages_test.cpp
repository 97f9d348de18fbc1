// Consensus messages: canonical encodings round-trip, strict decoding refuses every malformed
// input, signatures are domain-separated, and votes are directly Commit signatures and Evidence.
#include <gtest/gtest.h>

#include "contracts/slashing.hpp"
#include "tests/chain/consensus/helpers.hpp"

namespace ig::chain::bft::testing {
namespace {

TEST(BftMessages, VoteRoundTripsInExactlyItsSize) {
  const auto k = test_key(0);
  Vote v = signed_vote(k, kPrecommit, 7, 3, sha256(view(std::string("block"))));
  Bytes b = encode(v);
  EXPECT_EQ(b.size(), kVoteBytes);
  auto back = decode_vote(b);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, v);
  EXPECT_TRUE(verify_vote_signature(kChain, *back));
}

TEST(BftMessages, VoteDecodingIsStrict) {
  const auto k = test_key(0);
  Bytes b = encode(signed_vote(k, kPrevote, 1, 0, Hash{}));
  Bytes longer = b;
  longer.push_back(0);
  EXPECT_EQ(decode_vote(longer).error().code, "codec.trailing_bytes");
  Bytes shorter(b.begin(), b.end() - 1);
  EXPECT_EQ(decode_vote(shorter).error().code, "codec.truncated");
  Bytes bad_type = b;
  bad_type[0] = 3;
  EXPECT_EQ(decode_vote(bad_type).error().code, "vote.bad_type");
  Bytes bad_round = b;
  bad_round[9 + 3] = 0x80;  // round's top byte: 2^31
  EXPECT_EQ(decode_vote(bad_round).error().code, "vote.bad_round");
}

TEST(BftMessages, ProposalRoundTripsWithAndWithoutPolRound) {
  const auto k = test_key(1);
  for (int32_t pol : {-1, 0, 4}) {
    Proposal p = signed_proposal(k, 9, 5, pol, make_block(9, 1));
    auto back = decode_proposal(encode(p));
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(*back, p);
    EXPECT_TRUE(verify_proposal_signature(kChain, *back));
  }
}

TEST(BftMessages, ProposalDecodingIsStrict) {
  const auto k = test_key(1);
  Proposal p = signed_proposal(k, 9, 2, -1, make_block(9, 1));
  Bytes b = encode(p);
  Bytes longer = b;
  longer.push_back(1);
  EXPECT_EQ(decode_proposal(longer).error().code, "codec.trailing_bytes");
  for (size_t cut : {size_t{3}, size_t{20}, b.size() - 1})
    EXPECT_FALSE(decode_proposal(ByteView(b.data(), cut))) << "cut at " << cut;
  // pol_round must be below the round.
  Proposal same = p;
  same.pol_round = 2;
  EXPECT_EQ(decode_proposal(encode(same)).error().code, "proposal.bad_pol_round");
  Proposal round0 = p;
  round0.round = 0;
  round0.pol_round = 0;
  EXPECT_EQ(decode_proposal(encode(round0)).error().code, "proposal.bad_pol_round");
  // The block cap is checked on the length prefix, before anything is copied.
  EXPECT_EQ(decode_proposal(b, 10).error().code, "codec.oversized");
  EXPECT_TRUE(decode_proposal(b, encode_block(p.block).size()));
}

TEST(BftMessages, SignaturesCoverEveryFieldAndAreDomainSeparated) {
  const auto k = test_key(2);
  Proposal p = signed_proposal(k, 3, 1, 0, make_block(3, 1));
  for (int field = 0; field < 4; ++field) {
    Proposal t = p;
    if (field == 0) t.height++;
    if (field == 1) t.round++;
    if (field == 2) t.pol_round = -1;
    if (field == 3) t.block.header.time_ms++;
    EXPECT_FALSE(verify_proposal_signature(kChain, t)) << "field " << field;
  }
  EXPECT_FALSE(verify_proposal_signature("other-chain", p));
  // A vote signature never passes as a proposal's, even over the same numbers.
  Vote v = signed_vote(k, kPrevote, 3, 1, hash_of(p.block));
  Proposal forged = p;
  forged.signature = v.signature;
  EXPECT_FALSE(verify_proposal_signature(kChain, forged));
  EXPECT_NE(proposal_signing_hash(kChain, 3, 1, -1, hash_of(p.block)), vote_signing_hash(kChain, v));
}

TEST(BftMessages, PrecommitsAreCommitSignaturesAndConflictsAreEvidence) {
  Keys ks(4);
  Block b = make_block(5, 1);
  Commit c{5, 2, hash_of(b), {}};
  for (size_t i = 0; i < 3; ++i) {
    Vote v = signed_vote(ks.keys[i], kPrecommit, 5, 2, hash_of(b));
    c.signatures.push_back(CommitSig{v.validator, v.signature});
  }
  EXPECT_TRUE(verify_commit(c, kChain, ks.validators));
  Evidence e{signed_vote(ks.keys[1], kPrevote, 5, 2, hash_of(b)), signed_vote(ks.keys[1], kPrevote, 5, 2, Hash{})};
  EXPECT_TRUE(contracts::slashing::check_double_sign(kChain, e));
}

TEST(BftMessages, MutatedEncodingsNeverCrashTheDecoders) {
  // A long randomized run over byte flips, truncations and extensions of valid messages: every
  // input either decodes into something that re-encodes to the same bytes, or is refused.
  const auto k = test_key(3);
  Block b = make_block(2, 5);
  Transaction tx;
  tx.body.chain_id = kChain;
  tx.body.payload = Transfer{Address{}, 7, "memo"};
  b.txs.push_back(tx);
  b.last_commit = Commit{1, 0, hash_of(b), {CommitSig{k.public_key(), {}}}};
  const std::vector<Bytes> seeds = {encode(signed_proposal(k, 2, 3, 1, b)), encode(signed_vote(k, kPrecommit, 2, 3, Hash{}))};
  uint64_t x = 7;
  auto rnd = [&](uint64_t n) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return (x >> 33) % n;
  };
  size_t inputs = 0, accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes m = seeds[rnd(2)];
    switch (rnd(3)) {
      case 0:
        for (uint64_t n = 1 + rnd(4); n > 0; --n) m[rnd(m.size())] ^= static_cast<uint8_t>(1 + rnd(255));
        break;
      case 1: m.resize(rnd(m.size())); break;
      default:
        for (uint64_t n = 1 + rnd(8); n > 0; --n) m.push_back(static_cast<uint8_t>(rnd(256)));
    }
    ++inputs;
    if (auto p = decode_proposal(m)) {
      ++accepted;
      EXPECT_EQ(encode(*p), m);
    }
    if (auto v = decode_vote(m)) {
      ++accepted;
      EXPECT_EQ(encode(*v), m);
    }
  }
  std::cout << inputs << " mutated inputs, " << accepted << " decoded (and re-encoded identically)\n";
}

}  // namespace
}  // namespace ig::chain::bft::testing
