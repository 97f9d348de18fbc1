// Networks of replicas in the simulator: many heights with four validators, rotation by power,
// one validator alone, a byzantine proposer equivocating to two halves, partitions, crashes of
// one and of two validators, lossy links, and a double-signing validator.
#include <gtest/gtest.h>

#include <map>

#include "contracts/slashing.hpp"
#include "tests/chain/consensus/helpers.hpp"
#include "tests/chain/consensus/sim.hpp"

namespace ig::chain::bft::testing {
namespace {

using sim::Simulation;

void expect_safe(const Simulation& s) {
  for (const auto& v : s.check_safety()) ADD_FAILURE() << v.what;
}

size_t index_of_key(const Simulation& s, const PublicKey& k) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s.key(i).public_key() == k) return i;
  return SIZE_MAX;
}

TEST(BftSim, FourValidatorsDecideTenHeightsInRoundZero) {
  Simulation s(sim::Options{});
  s.start();
  ASSERT_TRUE(s.run_until_height(10, 60'000));
  expect_safe(s);
  ProposerSchedule sched(*ValidatorSet::make(s.validators()));
  for (uint64_t h = 1; h <= 10; ++h) {
    const Decision& d = s.decisions(0).at(h);
    EXPECT_EQ(d.commit.round, 0u) << "height " << h;  // no faults: every height in one round
    EXPECT_EQ(index_of_key(s, d.block.header.proposer), sched.proposer(h, 0));
  }
  // No timeout beyond the commit wait was needed: 10 heights in well under 10 propose timeouts.
  EXPECT_LT(s.now(), 10 * 100u);
}

TEST(BftSim, ProposersRotateByPower) {
  sim::Options o;
  o.powers = {1, 1, 1, 3};
  Simulation s(o);
  s.start();
  ASSERT_TRUE(s.run_until_height(30, 120'000));
  expect_safe(s);
  std::map<size_t, int> count;
  for (const auto& [h, d] : s.decisions(0)) count[index_of_key(s, d.block.header.proposer)]++;
  EXPECT_EQ(count[3], 15);  // 3 of every 6
  EXPECT_EQ(count[0] + count[1] + count[2], 15);
}

TEST(BftSim, ASingleValidatorNeverWaitsOnATimeout) {
  sim::Options o;
  o.powers = {10};
  o.timeouts.skip_commit_timeout = true;
  Simulation s(o);
  s.start();
  ASSERT_TRUE(s.run_until_height(20, 1));
  EXPECT_EQ(s.now(), 0u);  // twenty blocks without simulated time passing
  expect_safe(s);
}

TEST(BftSim, AByzantineProposerSplittingTheNetworkCannotCauseTwoDecisions) {
  for (int variant = 0; variant < 3; ++variant) {
    Simulation s(sim::Options{});
    ProposerSchedule sched(*ValidatorSet::make(s.validators()));
    const size_t byz = sched.proposer(1, 0);
    std::vector<size_t> honest;
    for (size_t i = 0; i < 4; ++i)
      if (i != byz) honest.push_back(i);
    // The byzantine node's own messages go nowhere; the test speaks for it.
    s.set_filter([&](size_t from, size_t, const sim::Message&) { return from != byz; });
    s.start();
    Block a = s.default_block(byz, 1), b = a;
    b.header.time_ms += 1;
    auto sign = [&](const Block& blk) {
      Proposal p{1, 0, -1, blk, s.key(byz).public_key(), {}};
      p.signature = s.key(byz).sign(proposal_signing_hash(s.chain_id(), p));
      return p;
    };
    auto vote = [&](uint8_t type, const Block& blk) {
      Vote v{type, 1, 0, block_hash(blk.header), s.key(byz).public_key(), {}};
      v.signature = s.key(byz).sign(vote_signing_hash(s.chain_id(), v));
      return v;
    };
    // a to one half, b to the other; in variant 1 it also prevotes and precommits both ways,
    // in variant 2 the halves are 2 and 1.
    const size_t split = variant == 2 ? 1 : 2;
    for (size_t k = 0; k < honest.size(); ++k) {
      const Block& blk = k < split ? a : b;
      s.inject(honest[k], sign(blk), 1);
      if (variant == 1) {
        s.inject(honest[k], vote(kPrevote, blk), 2);
        s.inject(honest[k], vote(kPrecommit, blk), 3);
      }
    }
    ASSERT_TRUE(s.run_until([&] {
      for (size_t i : honest)
        if (!s.decisions(i).count(3)) return false;
      return true;
    }, 120'000)) << "variant " << variant;
    expect_safe(s);
    if (variant == 1) {
      // The equivocating votes were caught by someone who saw both (relay spreads them).
      size_t caught = 0;
      for (size_t i : honest)
        for (const auto& e : s.evidence(i)) {
          EXPECT_EQ(e.a.validator, s.key(byz).public_key());
          EXPECT_TRUE(contracts::slashing::check_double_sign(s.chain_id(), e));
          ++caught;
        }
      EXPECT_GT(caught, 0u);
    }
  }
}

TEST(BftSim, APartitionHaltsWithoutForkingAndHeals) {
  Simulation s(sim::Options{});
  s.start();
  ASSERT_TRUE(s.run_until_height(2, 60'000));
  s.partition({{0, 1}, {2, 3}});
  s.run_for(3'000);
  uint64_t max_h = 0;
  for (size_t i = 0; i < 4; ++i) max_h = std::max(max_h, s.decisions(i).rbegin()->first);
  EXPECT_LE(max_h, 3u);  // no half has more than 2/3: at most the height already in flight
  expect_safe(s);
  s.heal();
  ASSERT_TRUE(s.run_until_height(max_h + 3, s.now() + 120'000));
  expect_safe(s);
}

TEST(BftSim, OneCrashedValidatorDoesNotStopTheOthersAndCatchesUpOnReturn) {
  Simulation s(sim::Options{});
  s.start();
  ASSERT_TRUE(s.run_until_height(2, 60'000));
  s.crash(3);
  ASSERT_TRUE(s.run_until_height(8, s.now() + 120'000));  // the three others
  ASSERT_TRUE(s.restart(3));
  ASSERT_TRUE(s.run_until([&] { return s.decisions(3).count(12) && s.decisions(0).count(12); }, s.now() + 120'000));
  expect_safe(s);
  // Back in consensus, not only syncing: it signed precommits that went into commits.
  bool signed_again = false;
  for (uint64_t h = 10; h <= 12; ++h)
    for (const auto& cs : s.decisions(0).at(h).commit.signatures) signed_again |= cs.validator == s.key(3).public_key();
  EXPECT_TRUE(signed_again);
}

TEST(BftSim, TwoCrashedValidatorsHaltTheChainUntilOneReturns) {
  Simulation s(sim::Options{});
  s.start();
  ASSERT_TRUE(s.run_until_height(2, 60'000));
  s.crash(2);
  s.crash(3);
  s.run_for(5'000);
  const uint64_t stuck = s.decisions(0).rbegin()->first;
  EXPECT_LE(stuck, 3u);
  EXPECT_EQ(s.decisions(1).rbegin()->first, stuck);
  ASSERT_TRUE(s.restart(2));
  ASSERT_TRUE(s.run_until([&] { return s.decisions(0).count(stuck + 3) > 0; }, s.now() + 200'000));
  expect_safe(s);
}

TEST(BftSim, LossyLinksDelayButNeverBreakAgreement) {
  Simulation s(sim::Options{});
  uint64_t x = 12345;
  s.set_filter([&](size_t, size_t, const sim::Message&) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;  // deterministic LCG
    return (x >> 33) % 100 >= 30;                              // drop 30%
  });
  s.set_latency([&](size_t from, size_t to) { return 1 + (from * 7 + to * 3) % 20; });
  s.start();
  ASSERT_TRUE(s.run_until_height(6, 300'000));
  expect_safe(s);
}

TEST(BftSim, ADoubleSigningValidatorIsReportedByEveryone) {
  Simulation s(sim::Options{});
  s.start();
  ASSERT_TRUE(s.run_until_height(1, 60'000));
  const uint64_t h = s.core(0).height();
  for (size_t to = 0; to < 3; ++to) {
    for (int k = 0; k < 2; ++k) {
      Vote v{kPrevote, h, 0, sha256(view("conflict-" + std::to_string(k))), s.key(3).public_key(), {}};
      v.signature = s.key(3).sign(vote_signing_hash(s.chain_id(), v));
      s.inject(to, v, 0);
    }
  }
  s.run_for(1);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_FALSE(s.evidence(i).empty()) << "node " << i;
    EXPECT_TRUE(contracts::slashing::check_double_sign(s.chain_id(), s.evidence(i)[0]));
  }
  ASSERT_TRUE(s.run_until_height(h + 2, s.now() + 60'000));
  expect_safe(s);
}

}  // namespace
}  // namespace ig::chain::bft::testing

namespace ig::chain::bft::testing {
namespace {

// Seeded chaos: random latencies, drops, partitions that come and go, crashes and restarts, and
// one byzantine validator that equivocates on every vote (one value to half of its peers,
// another to the rest). Safety must hold throughout; after the chaos stops the network must
// make progress again.
TEST(BftSim, RandomizedChaosNeverBreaksSafety) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    sim::Options o;
    o.powers = seed % 2 ? std::vector<uint64_t>{1, 1, 1, 1} : std::vector<uint64_t>{2, 2, 2, 2, 1, 1, 1};
    Simulation s(o);
    const size_t byz = seed % s.size();
    uint64_t x = seed * 0x9E3779B97F4A7C15ull;
    auto rnd = [&](uint64_t n) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x % n;
    };
    bool chaos = true;
    s.set_latency([&](size_t, size_t) { return chaos ? 1 + rnd(40) : 5; });
    s.set_filter([&](size_t from, size_t to, const sim::Message& m) {
      if (chaos && rnd(100) < 20) return false;
      if (from != byz) return true;
      const auto* v = std::get_if<Vote>(&m);
      if (!v || to % 2 == 0) return true;
      // The other half gets a conflicting vote instead.
      Vote other = *v;
      other.block_hash = is_nil(v->block_hash) ? sha256(view("byz-" + std::to_string(v->round))) : Hash{};
      other.signature = s.key(byz).sign(vote_signing_hash(s.chain_id(), other));
      s.inject(to, other, 1 + rnd(10));
      return false;
    });
    s.start();
    for (int phase = 0; phase < 10; ++phase) {
      const uint64_t r = rnd(10);
      if (r < 3) {
        std::vector<size_t> a, b;
        for (size_t i = 0; i < s.size(); ++i) (rnd(2) ? a : b).push_back(i);
        s.partition({a, b});
      } else if (r < 5) {
        s.heal();
      } else if (r < 7) {
        const size_t victim = rnd(s.size());
        if (s.alive(victim)) s.crash(victim);
      } else {
        for (size_t i = 0; i < s.size(); ++i) {
          if (!s.alive(i)) { ASSERT_TRUE(s.restart(i)); }
        }
      }
      s.run_for(300 + rnd(700));
      for (const auto& v : s.check_safety()) ADD_FAILURE() << "seed " << seed << ": " << v.what;
    }
    chaos = false;
    s.heal();
    for (size_t i = 0; i < s.size(); ++i) {
      if (!s.alive(i)) { ASSERT_TRUE(s.restart(i)); }
    }
    uint64_t top = 0;
    for (size_t i = 0; i < s.size(); ++i)
      if (!s.decisions(i).empty()) top = std::max(top, s.decisions(i).rbegin()->first);
    EXPECT_TRUE(s.run_until_height(top + 2, s.now() + 600'000)) << "seed " << seed << " stuck after height " << top;
    for (const auto& v : s.check_safety()) ADD_FAILURE() << "seed " << seed << ": " << v.what;
    // Everyone who saw both sides of an equivocation blamed the byzantine validator, and only it.
    size_t evidence = 0;
    for (size_t i = 0; i < s.size(); ++i)
      for (const auto& e : s.evidence(i)) {
        EXPECT_EQ(e.a.validator, s.key(byz).public_key()) << "seed " << seed;
        ++evidence;
      }
    uint64_t max_round = 0;
    for (const auto& [h, d] : s.decisions(0)) max_round = std::max<uint64_t>(max_round, d.commit.round);
    std::cout << "seed " << seed << ": " << s.size() << " validators, " << s.decisions(0).size()
              << " heights decided (highest deciding round " << max_round << "), " << s.crashes() << " crashes, "
              << evidence << " evidence reports\n";
  }
}

}  // namespace
}  // namespace ig::chain::bft::testing
