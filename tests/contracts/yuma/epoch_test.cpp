// run_epoch on small hand-built subnets: masking rules, permits, emission, bond models, the
// sparse-vs-dense distinction of Yuma3 + liquid alpha, and rejected inputs.
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "contracts/yuma/yuma.hpp"

using namespace ig::yuma;

namespace {

// n uids registered at block 1, weights set at block 5, epoch at block 10.
EpochInput subnet(const std::vector<std::uint64_t>& stake) {
  EpochInput in;
  const std::size_t n = stake.size();
  for (std::uint64_t s : stake) in.stake.push_back(Q64::from_u64(s));
  in.last_update.assign(n, 5);
  in.registered_at.assign(n, 1);
  in.permits.assign(n, false);
  for (std::size_t k = 0; k < n; ++k) in.permits[k] = stake[k] > 0;
  in.weights.assign(n, {});
  in.bonds.assign(n, {});
  in.block = 10;
  in.emission = 1000000000;
  in.params.tempo = 1;
  in.params.max_allowed_validators = 64;
  return in;
}

EpochOutput run(const EpochInput& in) {
  auto out = run_epoch(in);
  EXPECT_TRUE(out.has_value()) << (out ? "" : out.error().to_string());
  return out ? *out : EpochOutput{};
}

std::string error_code(const EpochInput& in) {
  auto out = run_epoch(in);
  return out ? "ok" : out.error().code;
}

std::uint64_t total(const std::vector<std::uint64_t>& v) { return std::accumulate(v.begin(), v.end(), std::uint64_t{0}); }

q32 bond_at(const EpochOutput& out, std::size_t i, std::uint32_t j) {
  for (const U16Entry& e : out.bonds[i])
    if (e.col == j) return e.val;
  return -1;  // absent
}

}  // namespace

TEST(YumaEpoch, TwoValidatorsAgreeingSplitEmissionByIncentiveAndDividends) {
  EpochInput in = subnet({1, 1, 0, 0});
  in.weights[0] = {{2, 65535}, {3, 65535}};
  in.weights[1] = {{2, 65535}, {3, 65535}};
  const EpochOutput out = run(in);
  EXPECT_EQ(to_u16(out.incentive), (std::vector<std::uint16_t>{0, 0, 32767, 32767}));
  EXPECT_EQ(to_u16(out.dividends), (std::vector<std::uint16_t>{32767, 32767, 0, 0}));
  EXPECT_EQ(out.server_emission, (std::vector<std::uint64_t>{0, 0, 250000000, 250000000}));
  EXPECT_EQ(out.validator_emission, (std::vector<std::uint64_t>{250000000, 250000000, 0, 0}));
  EXPECT_EQ(to_u16(out.validator_trust), (std::vector<std::uint16_t>{65535, 65535, 0, 0}));
}

TEST(YumaEpoch, AmountsNeverExceedTheBudgetAndDustIsBounded) {
  EpochInput in = subnet({7, 3, 11, 0, 0, 0});
  in.weights[0] = {{3, 100}, {4, 200}, {5, 65535}};
  in.weights[1] = {{3, 65535}, {4, 1}};
  in.weights[2] = {{4, 40000}, {5, 9000}};
  in.emission = 999999937;
  const EpochOutput out = run(in);
  const std::uint64_t paid = total(out.server_emission) + total(out.validator_emission);
  EXPECT_LE(paid, in.emission);
  EXPECT_GE(paid + 2 * out.server_emission.size(), in.emission);  // ≤ 1 unit of dust per uid per vector
}

TEST(YumaEpoch, WithoutUsableWeightsEmissionFollowsActiveStake) {
  EpochInput in = subnet({3, 1, 0});
  const EpochOutput out = run(in);
  EXPECT_EQ(out.server_emission, (std::vector<std::uint64_t>{0, 0, 0}));
  EXPECT_EQ(out.validator_emission, (std::vector<std::uint64_t>{750000000, 250000000, 0}));
  // Nobody active with a permit: fall back to plain stake.
  in.permits.assign(3, false);
  EXPECT_EQ(run(in).validator_emission, (std::vector<std::uint64_t>{750000000, 250000000, 0}));
}

TEST(YumaEpoch, PermitsGoToTopStakeAndTiesRefuseTheLowerUid) {
  EpochInput in = subnet({5, 5, 5, 0});
  in.params.max_allowed_validators = 2;
  EXPECT_EQ(run(in).new_permits, (std::vector<bool>{false, true, true, false}));
  in.params.max_allowed_validators = 10;  // n < K: every non-zero stake, never a zero one
  EXPECT_EQ(run(in).new_permits, (std::vector<bool>{true, true, true, false}));
  in.params.owner_uid = 3;  // the owner always holds a permit
  EXPECT_EQ(run(in).new_permits, (std::vector<bool>{true, true, true, true}));
}

TEST(YumaEpoch, StakeBelowThresholdCountsAsZeroExceptTheOwner) {
  EpochInput in = subnet({100, 10, 10});
  in.params.stake_threshold = 50;
  EXPECT_EQ(to_u16(run(in).stake_weight), (std::vector<std::uint16_t>{65535, 0, 0}));
  in.params.owner_uid = 1;
  EXPECT_EQ(to_u16(run(in).stake_weight), (std::vector<std::uint16_t>{59577, 5957, 0}));
}

TEST(YumaEpoch, InactiveValidatorsLoseActiveStakeAndInfluence) {
  EpochInput in = subnet({1, 1, 0, 0});
  in.params.tempo = 100;  // cutoff = 13889 · 100 / 1000 = 1388 blocks
  in.block = 2000;
  in.last_update = {1999, 100, 1, 1};  // uid1: 100 + 1388 < 2000 → inactive
  in.weights[0] = {{2, 65535}};
  in.weights[1] = {{3, 65535}};
  const EpochOutput out = run(in);
  EXPECT_EQ(out.active, (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(out.active_stake[1], 0);
  EXPECT_EQ(to_u16(out.incentive), (std::vector<std::uint16_t>{0, 0, 65535, 0}));
  in.params.activity_cutoff = 5000;  // the legacy absolute cutoff overrides the factor
  EXPECT_TRUE(run(in).active[1]);
}

TEST(YumaEpoch, SelfWeightsAreMaskedExceptTheOwners) {
  EpochInput in = subnet({1, 0});
  in.weights[0] = {{0, 65535}};
  EXPECT_EQ(to_u16(run(in).incentive), (std::vector<std::uint16_t>{0, 0}));  // masked: nothing to score
  in.params.owner_uid = 0;  // the owner may weight itself (how owners burn emission)
  EXPECT_EQ(to_u16(run(in).incentive), (std::vector<std::uint16_t>{65535, 0}));
}

TEST(YumaEpoch, OutdatedWeightsAndCommitRevealMasks) {
  EpochInput in = subnet({1, 0, 0});
  in.weights[0] = {{1, 65535}, {2, 65535}};
  in.registered_at = {1, 1, 5};  // uid2 re-registered at block 5 = L_0: outdated
  EXPECT_EQ(to_u16(run(in).incentive), (std::vector<std::uint16_t>{0, 65535, 0}));
  in.registered_at = {1, 1, 4};
  EXPECT_EQ(to_u16(run(in).incentive), (std::vector<std::uint16_t>{0, 32767, 32767}));
  in.commit_block = {3, std::nullopt, std::nullopt};  // pending commit made before uid2 registered
  EXPECT_EQ(to_u16(run(in).incentive), (std::vector<std::uint16_t>{0, 65535, 0}));
  in.params.commit_reveal = false;
  EXPECT_EQ(to_u16(run(in).incentive), (std::vector<std::uint16_t>{0, 32767, 32767}));
}

TEST(YumaEpoch, WeightColumnsBeyondTheSubnetAreIgnored) {
  EpochInput in = subnet({1, 0, 0});
  in.weights[0] = {{1, 65535}, {2, 30000}};
  const EpochOutput a = run(in);
  in.weights[0].push_back({9, 65535});
  const EpochOutput b = run(in);
  EXPECT_EQ(a.incentive, b.incentive);
  EXPECT_EQ(a.bonds, b.bonds);
}

TEST(YumaEpoch, RowOrderDoesNotMatter) {
  EpochInput in = subnet({2, 3, 0, 0, 0});
  in.params.yuma3 = in.params.liquid_alpha = true;
  in.weights[0] = {{2, 100}, {4, 65535}, {3, 0}};
  in.weights[1] = {{4, 20000}, {2, 65535}};
  in.bonds[0] = {{4, 30000}, {2, 7}};
  const EpochOutput a = run(in);
  std::reverse(in.weights[0].begin(), in.weights[0].end());
  std::reverse(in.bonds[0].begin(), in.bonds[0].end());
  const EpochOutput b = run(in);
  EXPECT_EQ(a.dividends, b.dividends);
  EXPECT_EQ(a.bonds, b.bonds);
}

TEST(YumaEpoch, Yuma2StoresMaxUpscaledSharesYuma3AbsoluteProportions) {
  EpochInput in = subnet({1, 0});
  in.weights[0] = {{1, 65535}};
  const EpochOutput y2 = run(in);
  EXPECT_EQ(bond_at(y2, 0, 1), 65535);  // column max → 1.0
  in.params.yuma3 = true;
  const EpochOutput y3 = run(in);
  EXPECT_EQ(bond_at(y3, 0, 1), 6553);  // a ⊗ 1 = 0.1 → ⌊0.1 · 65535⌋ = 6553
}

TEST(YumaEpoch, BondsOnSlotsRegisteredSinceTheLastEpochAreForgotten) {
  EpochInput in = subnet({1, 0});
  in.params.yuma3 = true;
  in.bonds[0] = {{1, 30000}};
  in.weights[0] = {};
  EXPECT_GT(bond_at(run(in), 0, 1), 0);  // decays but survives
  in.last_mechanism_step_block = 8;       // τ = 9 ≤ G_1 → masked
  in.registered_at[1] = 9;
  EXPECT_EQ(bond_at(run(in), 0, 1), -1);
}

TEST(YumaEpoch, LosingThePermitClearsTheBondRow) {
  EpochInput in = subnet({1, 1, 0});
  in.weights[0] = {{2, 65535}};
  in.weights[1] = {{2, 65535}};
  in.params.max_allowed_validators = 1;  // uid0 loses the tie for the next epoch
  const EpochOutput out = run(in);
  EXPECT_EQ(out.new_permits, (std::vector<bool>{false, true, false}));
  EXPECT_TRUE(out.bonds[0].empty());
  EXPECT_FALSE(out.bonds[1].empty());
}

TEST(YumaEpoch, Yuma3LiquidAlphaDropsAbsentBondsButDecaysExplicitZeros) {
  // uid0 (big stake) sets consensus on miner 2; uid1 held a bond on miner 3.
  EpochInput in = subnet({9, 1, 0, 0});
  in.params.yuma3 = in.params.liquid_alpha = true;
  in.params.bonds_penalty = 0;
  in.weights[0] = {{2, 65535}};
  in.bonds[1] = {{3, 30000}};
  in.weights[1] = {{2, 65535}};  // miner 3 absent from the submission
  EXPECT_EQ(bond_at(run(in), 1, 3), -1);
  in.weights[1] = {{2, 65535}, {3, 0}};  // explicit zero keeps the entry: the bond decays
  const q32 decayed = bond_at(run(in), 1, 3);
  EXPECT_GT(decayed, 0);
  EXPECT_LT(decayed, 30000);
  in.params.liquid_alpha = false;  // the uniform EMA decays absent entries too
  in.weights[1] = {{2, 65535}};
  EXPECT_GT(bond_at(run(in), 1, 3), 0);
}

TEST(YumaEpoch, LiquidAlphaIsRecordedOnlyWhenUsed) {
  EpochInput in = subnet({1, 0});
  in.params.yuma3 = in.params.liquid_alpha = true;
  in.record_liquid_alphas = true;
  EXPECT_FALSE(run(in).liquid_alphas.has_value());  // no consensus anywhere: uniform rate
  in.weights[0] = {{1, 65535}};
  const EpochOutput out = run(in);
  ASSERT_TRUE(out.liquid_alphas.has_value());
  EXPECT_EQ(out.liquid_alphas->size(), 2u);
  const q32 lo = fx::from_u16_proportion(in.params.alpha_low), hi = fx::from_u16_proportion(in.params.alpha_high);
  for (const auto& row : *out.liquid_alphas)
    for (q32 a : row) EXPECT_TRUE(a >= lo && a <= hi);
}

TEST(YumaEpoch, SameInputSameOutput) {
  EpochInput in = subnet({4, 6, 0, 0, 0});
  in.params.yuma3 = in.params.liquid_alpha = true;
  in.weights[0] = {{2, 65535}, {3, 1000}};
  in.weights[1] = {{3, 65535}, {4, 30000}};
  in.bonds[1] = {{2, 500}};
  const EpochOutput a = run(in), b = run(in);
  EXPECT_EQ(a.dividends, b.dividends);
  EXPECT_EQ(a.emission, b.emission);
  EXPECT_EQ(a.bonds, b.bonds);
}

TEST(YumaEpoch, EmptySubnetGivesEmptyOutputs) {
  const EpochOutput out = run(subnet({}));
  EXPECT_TRUE(out.emission.empty());
  EXPECT_TRUE(out.bonds.empty());
}

TEST(YumaEpoch, RejectsMalformedInputs) {
  const EpochInput good = subnet({1, 1});
  EpochInput in = good;
  in.last_update.pop_back();
  EXPECT_EQ(error_code(in), "yuma.bad_input");
  in = good;
  in.weights.pop_back();
  EXPECT_EQ(error_code(in), "yuma.bad_input");
  in = good;
  in.commit_block = {std::nullopt};
  EXPECT_EQ(error_code(in), "yuma.bad_input");
  in = good;
  in.weights[0] = {{1, 5}, {1, 6}};
  EXPECT_EQ(error_code(in), "yuma.bad_input");
  in = good;
  in.bonds[1] = {{0, 5}, {0, 6}};
  EXPECT_EQ(error_code(in), "yuma.bad_input");
  in = good;
  in.params.bonds_moving_average = 1000001;
  EXPECT_EQ(error_code(in), "yuma.bad_input");
  in = good;
  in.params.alpha_low = 60000;
  in.params.alpha_high = 50000;
  EXPECT_EQ(error_code(in), "yuma.bad_input");
  in = good;
  in.params.owner_uid = 2;
  EXPECT_EQ(error_code(in), "yuma.bad_input");
  in = good;
  in.stake[0] = Q64{u128{1} << 127};
  EXPECT_EQ(error_code(in), "yuma.bad_input");
}

TEST(YumaEpoch, TotalStakeOverflowIsAnErrorNotAWrap) {
  EpochInput in = subnet({1, 1});
  in.stake = {Q64{u128{1} << 126}, Q64{u128{1} << 126}};
  EXPECT_EQ(error_code(in), "yuma.overflow");
}

TEST(YumaSubmission, MaxUpscaleRoundsHalfAwayFromZero) {
  EXPECT_EQ(max_upscale_weights({1, 2}), (std::vector<std::uint16_t>{32768, 65535}));  // 32767.5 → 32768
  EXPECT_EQ(max_upscale_weights({3, 1}), (std::vector<std::uint16_t>{65535, 21845}));
  EXPECT_EQ(max_upscale_weights({65535, 32767}), (std::vector<std::uint16_t>{65535, 32767}));
  EXPECT_EQ(max_upscale_weights({40000, 1}), (std::vector<std::uint16_t>{65535, 2}));  // 1.638 → 2
  EXPECT_EQ(max_upscale_weights({0, 0}), (std::vector<std::uint16_t>{0, 0}));
  EXPECT_TRUE(max_upscale_weights({}).empty());
}

TEST(YumaEpoch, RandomSubnetsKeepTheEpochInvariants) {
  std::mt19937_64 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t n = 1 + rng() % 16;
    std::vector<std::uint64_t> stake(n);
    for (auto& s : stake) s = rng() % 3 == 0 ? 0 : rng() % 1000000;
    EpochInput in = subnet(stake);
    in.params.yuma3 = rng() % 2;
    in.params.liquid_alpha = rng() % 2;
    in.params.kappa = static_cast<std::uint16_t>(rng() % 65536);
    in.params.bonds_penalty = static_cast<std::uint16_t>(rng() % 3 == 0 ? 65535 : rng() % 65536);
    in.params.max_allowed_validators = static_cast<std::uint16_t>(1 + rng() % 8);
    in.params.alpha_low = static_cast<std::uint16_t>(1638 + rng() % 30000);
    in.params.alpha_high = static_cast<std::uint16_t>(in.params.alpha_low + rng() % 30000);
    in.record_liquid_alphas = true;
    for (std::size_t i = 0; i < n; ++i) {
      for (std::uint32_t j = 0; j < n; ++j) {
        if (rng() % 3 == 0) in.weights[i].push_back({j, static_cast<std::uint16_t>(rng() % 65536)});
        if (rng() % 4 == 0) in.bonds[i].push_back({j, static_cast<std::uint16_t>(rng() % 65536)});
      }
      in.last_update[i] = rng() % 12;
      in.registered_at[i] = rng() % 8;
      in.permits[i] = rng() % 2;
    }
    const EpochOutput out = run(in);
    ASSERT_EQ(out.emission.size(), n);
    std::uint64_t paid = 0;
    q32 incentive = 0, dividends = 0;
    std::size_t permits = 0;
    for (std::size_t k = 0; k < n; ++k) {
      paid += out.server_emission[k] + out.validator_emission[k];
      EXPECT_GE(out.incentive[k], 0);
      EXPECT_GE(out.dividends[k], 0);
      incentive += out.incentive[k];
      dividends += out.dividends[k];
      permits += out.new_permits[k];
      if (!out.new_permits[k]) {
        EXPECT_TRUE(out.bonds[k].empty());
      }
    }
    EXPECT_LE(paid, in.emission) << "trial " << trial;
    EXPECT_LE(incentive, kOne);
    EXPECT_LE(dividends, kOne);
    EXPECT_LE(permits, in.params.max_allowed_validators);
    if (out.liquid_alphas) {
      const q32 lo = fx::from_u16_proportion(in.params.alpha_low), hi = fx::from_u16_proportion(in.params.alpha_high);
      for (const auto& row : *out.liquid_alphas)
        for (q32 a : row) EXPECT_TRUE(a >= lo && a <= hi);
    }
    const EpochOutput again = run(in);
    EXPECT_EQ(again.emission, out.emission);
    EXPECT_EQ(again.bonds, out.bonds);
  }
}
