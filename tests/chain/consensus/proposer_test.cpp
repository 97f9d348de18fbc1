// Proposer selection: CometBFT's weighted round robin (spec/consensus/proposer-selection.md).
#include <gtest/gtest.h>

#include <map>

#include "tests/chain/consensus/helpers.hpp"

namespace ig::chain::bft::testing {
namespace {

ValidatorSet make_set(const std::vector<uint64_t>& powers) {
  Keys ks(powers.size(), powers);
  auto set = ValidatorSet::make(ks.validators);
  if (!set) throw std::runtime_error(set.error().to_string());
  return *set;
}

TEST(BftProposer, FollowsTheSpecExample) {
  // The spec's stable set: VP(p1) = 1, VP(p2) = 3 gives p2, p1, p2, p2, repeating. Its run 2 is
  // a tie (2, 2) that p1 wins by the smaller address; here the smaller consensus key.
  auto set = make_set({1, 3});
  const size_t p1 = 0, p2 = 1;
  const bool p1_smaller = set.at(0).consensus_key < set.at(1).consensus_key;
  ProposerSelector s(set);
  std::vector<size_t> seq;
  for (int i = 0; i < 8; ++i) {
    s.increment(1);
    seq.push_back(*s.proposer());
  }
  if (p1_smaller) EXPECT_EQ(seq, (std::vector<size_t>{p2, p1, p2, p2, p2, p1, p2, p2}));
  else EXPECT_EQ(seq, (std::vector<size_t>{p2, p2, p1, p2, p2, p2, p1, p2}));
  for (int64_t p : s.priorities()) EXPECT_EQ(p, 0);  // back to the start after total/gcd = 4
}

TEST(BftProposer, RotationIsProportionalToPower) {
  const std::vector<uint64_t> powers{1, 2, 3, 4};
  ProposerSchedule sched(make_set(powers));
  std::map<size_t, int> count;
  for (uint64_t e = 1; e <= 10 * 7; ++e) count[sched.at(e)]++;
  for (size_t i = 0; i < powers.size(); ++i) EXPECT_EQ(count[i], static_cast<int>(powers[i]) * 7) << "validator " << i;
  EXPECT_EQ(sched.period(), 10u);
}

TEST(BftProposer, EqualPowersRoundRobin) {
  ProposerSchedule sched(make_set({5, 5, 5, 5}));
  std::map<size_t, int> count;
  for (uint64_t e = 1; e <= 4; ++e) count[sched.at(e)]++;
  EXPECT_EQ(count.size(), 4u);  // each once in any window of 4
}

TEST(BftProposer, ScheduleIsAFunctionOfTheSetHeightAndRound) {
  auto set = make_set({7, 1, 3, 10, 2});
  ProposerSchedule forward(set);
  std::vector<size_t> seq;
  for (uint64_t e = 1; e <= 200; ++e) seq.push_back(forward.at(e));
  // A cold schedule asked out of order (as after a restart) gives the same answers.
  for (uint64_t e : {150u, 3u, 199u, 1u, 77u}) {
    ProposerSchedule cold(set);
    EXPECT_EQ(cold.at(e), seq[e - 1]) << "election " << e;
    EXPECT_EQ(forward.at(e), seq[e - 1]);
  }
  // proposer(h, r) is election h + r: the next round's proposer is the next height's.
  EXPECT_EQ(forward.proposer(10, 1), forward.proposer(11, 0));
  // Far heights jump by the period instead of walking there.
  ProposerSchedule far(set);
  EXPECT_EQ(far.at(1'000'000'000'000ull), seq[(1'000'000'000'000ull - 1) % 23]);
  EXPECT_EQ(far.period(), 23u);
}

TEST(BftProposer, AnswersDoNotDependOnTheOrderOfQuestions) {
  // A set whose spread exceeds 2·total from zero, so rescaling happens and there is no period
  // to jump by: the schedule walks, and every order of questions must give the same answers.
  auto set = make_set({1000, 1, 1, 1000, 7, 1, 100, 1000, 100, 1000});
  ProposerSchedule forward(set);
  std::vector<size_t> seq;
  for (uint64_t e = 1; e <= 3000; ++e) seq.push_back(forward.at(e));
  ProposerSchedule jumpy(set);
  uint64_t x = 42;
  for (int i = 0; i < 2000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const uint64_t e = 1 + (x >> 33) % 3000;
    ASSERT_EQ(jumpy.at(e), seq[e - 1]) << "election " << e;
  }
  // The pattern consensus produces: height h rounds 0..k, then height h + 1.
  ProposerSchedule heights(set);
  for (uint64_t h = 1; h < 2900; h += 7)
    for (uint32_t r = 0; r < 5; ++r) ASSERT_EQ(heights.proposer(h, r), seq[h + r - 1]);
}

TEST(BftProposer, MatchesCometBftIncrementWithRescaleAndCentre) {
  // From the spec's "Proposer Priority Range" section: a far-behind validator is pulled in by
  // rescaling so the spread stays within 2·total, and priorities are centred on their average.
  auto set = make_set({10, 10});
  ProposerSelector s(set, {-60000, -15000});
  s.increment(1);
  const auto& p = s.priorities();
  EXPECT_LE(std::max(p[0], p[1]) - std::min(p[0], p[1]), 2 * s.total() + s.total());
  EXPECT_LE(std::abs(p[0] + p[1]), 2);
}

TEST(BftProposer, HugePowersAreScaledIntoInt64) {
  auto set = make_set({UINT64_MAX / 2, UINT64_MAX / 4, 1});
  ProposerSelector s(set);
  EXPECT_LE(s.total(), kMaxTotalVotingPower);
  EXPECT_GE(s.powers()[2], 1);
  ProposerSchedule sched(set);
  std::map<size_t, int> count;
  for (uint64_t e = 1; e <= 300; ++e) count[sched.at(e)]++;
  EXPECT_GT(count[0], count[1]);  // still proportional
}

TEST(BftValidatorSet, ThresholdsAndValidation) {
  auto set = make_set({1, 1, 1, 1});
  EXPECT_FALSE(set.two_thirds(2));
  EXPECT_TRUE(set.two_thirds(3));
  EXPECT_FALSE(set.one_third(1));
  EXPECT_TRUE(set.one_third(2));
  Keys ks(3, {0, 5, 0});
  auto one = ValidatorSet::make(ks.validators);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->size(), 1u);  // zero-power entries cannot vote
  Keys zero(2, {0, 0});
  EXPECT_EQ(ValidatorSet::make(zero.validators).error().code, "validators.empty");
  Keys dup(2);
  dup.validators[1].consensus_key = dup.validators[0].consensus_key;
  EXPECT_EQ(ValidatorSet::make(dup.validators).error().code, "validators.duplicate_key");
}

}  // namespace
}  // namespace ig::chain::bft::testing
