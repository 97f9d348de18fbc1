// staking through real blocks: stake and unstake with the minimum rules, unbonding maturity,
// overflow, permissioned admission by more than 2/3 of the power, and set changes that wait
// for the epoch boundary.
#include "tests/contracts/harness.hpp"

namespace ig::testing {
namespace {

using ct::staking::Stakes;

bool has_error(const Receipt& r, const std::string& code) { return r.error.find(code) != std::string::npos; }

Address pool() { return ct::bank::module_account("staking"); }

TEST(ContractsStaking, StakeMovesBalanceIntoThePool) {
  Net net(short_params_json(), 4, 10'000, {"m"});
  Actor& m = net.actor("m");
  const Amount pool_before = net.balance(pool());
  EXPECT_EQ(pool_before, 40'000u);  // genesis stake is minted into the pool
  Receipt r = net.run_tx(net.tx(m, chain::Stake{StakeRole::kMiner, 5'000}));
  ASSERT_EQ(r.code, TxCode::kOk) << r.error;
  EXPECT_EQ(net.stakes(m.addr()), (Stakes{0, 5'000}));
  EXPECT_EQ(net.balance(m.addr()), Net::kFunds - 5'000 - Net::kFee);
  EXPECT_EQ(net.balance(pool()), pool_before + 5'000);
  ASSERT_EQ(net.run_tx(net.tx(m, chain::Stake{StakeRole::kValidator, 2'000})).code, TxCode::kOk);
  EXPECT_EQ(net.stakes(m.addr()), (Stakes{2'000, 5'000}));  // roles are kept apart
}

TEST(ContractsStaking, BadStakesAreRefusedAndChangeNothing) {
  Net net(short_params_json(), 4, 10'000, {"m"});
  Actor& m = net.actor("m");
  Receipt zero = net.run_tx(net.tx(m, chain::Stake{StakeRole::kMiner, 0}));
  EXPECT_EQ(zero.code, TxCode::kInvalidPayload);
  EXPECT_TRUE(has_error(zero, "staking.zero")) << zero.error;
  Receipt broke = net.run_tx(net.tx(m, chain::Stake{StakeRole::kMiner, Net::kFunds}));  // fee already taken
  EXPECT_EQ(broke.code, TxCode::kInsufficientFunds);
  EXPECT_EQ(net.stakes(m.addr()), Stakes{});
  EXPECT_EQ(net.balance(m.addr()), Net::kFunds - 2 * Net::kFee);
}

TEST(ContractsStaking, UnstakeBeyondStakeOrBelowMinimumIsRefused) {
  Net net(short_params_json(), 4, 10'000, {"m"});
  Actor& m = net.actor("m");
  ASSERT_EQ(net.run_tx(net.tx(m, chain::Stake{StakeRole::kMiner, 1'500})).code, TxCode::kOk);
  Receipt beyond = net.run_tx(net.tx(m, chain::Unstake{StakeRole::kMiner, 1'501}));
  EXPECT_EQ(beyond.code, TxCode::kInvalidPayload);
  EXPECT_TRUE(has_error(beyond, "staking.beyond_stake")) << beyond.error;
  Receipt other_role = net.run_tx(net.tx(m, chain::Unstake{StakeRole::kValidator, 1}));
  EXPECT_TRUE(has_error(other_role, "staking.beyond_stake")) << other_role.error;
  Receipt below = net.run_tx(net.tx(m, chain::Unstake{StakeRole::kMiner, 501}));  // would leave 999 < 1000
  EXPECT_EQ(below.code, TxCode::kInvalidPayload);
  EXPECT_TRUE(has_error(below, "staking.below_minimum")) << below.error;
  EXPECT_TRUE(has_error(net.run_tx(net.tx(m, chain::Unstake{StakeRole::kMiner, 0})), "staking.zero"));
  EXPECT_EQ(net.stakes(m.addr()).miner, 1'500u);
  ASSERT_EQ(net.run_tx(net.tx(m, chain::Unstake{StakeRole::kMiner, 500})).code, TxCode::kOk);  // leaves exactly 1000
  ASSERT_EQ(net.run_tx(net.tx(m, chain::Unstake{StakeRole::kMiner, 1'000})).code, TxCode::kOk);  // everything
  EXPECT_EQ(net.stakes(m.addr()), Stakes{});
}

TEST(ContractsStaking, UnbondingReturnsTheStakeExactlyAtMaturity) {
  Net net(short_params_json(), 4, 10'000, {"m"});
  Actor& m = net.actor("m");
  ASSERT_EQ(net.run_tx(net.tx(m, chain::Stake{StakeRole::kMiner, 3'000})).code, TxCode::kOk);
  Transaction un = net.tx(m, chain::Unstake{StakeRole::kMiner, 3'000});
  const auto& rec = net.block({un});
  const uint64_t h = rec.block.header.height;
  const uint64_t matures = h + net.params().unbonding_blocks;
  auto unbond = net.events("unbond");
  ASSERT_EQ(unbond.size(), 1u);
  EXPECT_EQ(attr(unbond[0], "matures_at"), std::to_string(matures));
  const Amount locked_balance = net.balance(m.addr());
  EXPECT_EQ(net.stakes(m.addr()).miner, 0u);  // no longer stake (no power, no work) ...
  net.run_to(matures - 1);
  EXPECT_EQ(net.balance(m.addr()), locked_balance);  // ... but not spendable yet
  EXPECT_TRUE(net.events("unbonded").empty());
  net.block();
  EXPECT_EQ(net.balance(m.addr()), locked_balance + 3'000);
  ASSERT_EQ(net.events("unbonded").size(), 1u);
  EXPECT_EQ(attr(net.events("unbonded")[0], "amount"), "3000");
}

TEST(ContractsStaking, SlashingAlsoCutsStakeThatIsStillUnbonding) {
  chain::MapStateReader empty;
  chain::State s(empty);
  const Address who = chain::SecretKey::generate().public_key();
  ASSERT_TRUE(ct::bank::init_accounts(s, {chain::GenesisAccount{who, 10'000}}));
  std::vector<chain::Event> events;
  ct::Params p;
  ASSERT_TRUE(ct::staking::stake(s, who, StakeRole::kMiner, 4'000, events));
  ASSERT_TRUE(ct::staking::unstake(s, p, 5, who, StakeRole::kMiner, 2'000, events));  // 2,000 unbonding
  const Amount supply = ct::bank::total_supply(s);
  // 10% of 2,000 staked + 10% of 2,000 unbonding: unstaking first does not escape the slash.
  EXPECT_EQ(ct::staking::slash(s, who, StakeRole::kMiner, 1'000, "test", events), 400u);
  EXPECT_EQ(ct::staking::get_stakes(s, who).miner, 1'800u);
  EXPECT_EQ(ct::bank::total_supply(s), supply - 400);
  EXPECT_EQ(ct::bank::get_account(s, pool()).balance, 1'800u + 1'800u);
  ct::staking::mature_unbonding(s, 5 + p.unbonding_blocks, events);
  EXPECT_EQ(ct::bank::get_account(s, who).balance, 6'000u + 1'800u);
  EXPECT_EQ(ct::bank::get_account(s, pool()).balance, 1'800u);
}

TEST(ContractsStaking, StakeOverflowIsAnErrorAndChangesNothing) {
  // No real chain can hold a stake near 2^64 (genesis caps the supply), so craft the state.
  MapStateReader base;
  State s(base);
  Address who = key_from_seed("whale").public_key();
  std::vector<Event> ev;
  ct::bank::put_account(s, who, {UINT64_MAX, 0});
  ASSERT_TRUE(ct::staking::stake(s, who, StakeRole::kMiner, UINT64_MAX - 10, ev));
  const WriteSet before = s.writes();
  auto over = ct::staking::stake(s, who, StakeRole::kMiner, 11, ev);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, "bank.overflow");
  EXPECT_EQ(s.writes(), before);
  ASSERT_TRUE(ct::staking::stake(s, who, StakeRole::kMiner, 10, ev));  // exactly the maximum is fine
  EXPECT_EQ(ct::staking::get_stakes(s, who).miner, UINT64_MAX);
}

class ContractsStakingAdmission : public ::testing::Test {
 protected:
  ContractsStakingAdmission() : net(short_params_json(), 4, 10'000, {"cand", "outsider"}) {}
  chain::ProposeValidator candidate() { return {cand_key.public_key(), net.actor("cand").addr(), "newcomer"}; }
  Net net;
  SecretKey cand_key = key_from_seed("cand-consensus");
};

TEST_F(ContractsStakingAdmission, TwoThirdsOfPowerAdmitsAndLessDoesNot) {
  Receipt proposed = net.run_tx(net.tx(net.validator(0).account, candidate()));
  ASSERT_EQ(proposed.code, TxCode::kOk) << proposed.error;
  auto p = ct::staking::get_proposal(net.state(), 1);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->approvals.size(), 1u);  // the proposer approves its own proposal
  EXPECT_FALSE(p->admitted);
  ASSERT_EQ(net.run_tx(net.tx(net.validator(1).account, chain::ApproveValidator{1})).code, TxCode::kOk);
  EXPECT_FALSE(ct::staking::get_proposal(net.state(), 1)->admitted);  // 1/2 of the power
  EXPECT_FALSE(ct::staking::get_validator(net.state(), cand_key.public_key()));
  Receipt again = net.run_tx(net.tx(net.validator(1).account, chain::ApproveValidator{1}));
  EXPECT_TRUE(has_error(again, "staking.already_approved")) << again.error;
  Receipt outsider = net.run_tx(net.tx(net.actor("outsider"), chain::ApproveValidator{1}));
  EXPECT_EQ(outsider.code, TxCode::kUnauthorized);
  ASSERT_EQ(net.run_tx(net.tx(net.validator(2).account, chain::ApproveValidator{1})).code, TxCode::kOk);  // 3/4
  EXPECT_TRUE(ct::staking::get_proposal(net.state(), 1)->admitted);
  EXPECT_TRUE(ct::staking::get_validator(net.state(), cand_key.public_key()));
  EXPECT_EQ(net.events("validator_admitted").size(), 1u);
  Receipt late = net.run_tx(net.tx(net.validator(3).account, chain::ApproveValidator{1}));
  EXPECT_TRUE(has_error(late, "staking.already_admitted")) << late.error;
  Receipt missing = net.run_tx(net.tx(net.validator(3).account, chain::ApproveValidator{99}));
  EXPECT_EQ(missing.code, TxCode::kNotFound);
}

TEST_F(ContractsStakingAdmission, ExactlyTwoThirdsIsNotEnough) {
  Net three(short_params_json(), 3, 10'000, {"cand"});
  chain::ProposeValidator pv{cand_key.public_key(), three.actor("cand").addr(), "newcomer"};
  ASSERT_EQ(three.run_tx(three.tx(three.validator(0).account, pv)).code, TxCode::kOk);
  ASSERT_EQ(three.run_tx(three.tx(three.validator(1).account, chain::ApproveValidator{1})).code, TxCode::kOk);
  EXPECT_FALSE(ct::staking::get_proposal(three.state(), 1)->admitted);  // 2/3 exactly
  ASSERT_EQ(three.run_tx(three.tx(three.validator(2).account, chain::ApproveValidator{1})).code, TxCode::kOk);
  EXPECT_TRUE(ct::staking::get_proposal(three.state(), 1)->admitted);
}

TEST_F(ContractsStakingAdmission, BadProposalsAreRefused) {
  Receipt outsider = net.run_tx(net.tx(net.actor("outsider"), candidate()));
  EXPECT_EQ(outsider.code, TxCode::kUnauthorized);
  chain::ProposeValidator known{net.validator(1).consensus.public_key(), net.actor("cand").addr(), "dup"};
  EXPECT_TRUE(has_error(net.run_tx(net.tx(net.validator(0).account, known)), "staking.known_validator"));
  chain::ProposeValidator nameless = candidate();
  nameless.name.clear();
  EXPECT_TRUE(has_error(net.run_tx(net.tx(net.validator(0).account, nameless)), "staking.bad_name"));
}

TEST_F(ContractsStakingAdmission, AStaleProposalCannotOverwriteAnAdmittedValidator) {
  // Two proposals for one consensus key, naming different accounts, both open at once.
  ASSERT_EQ(net.run_tx(net.tx(net.validator(0).account, candidate())).code, TxCode::kOk);
  chain::ProposeValidator hijack{cand_key.public_key(), net.actor("outsider").addr(), "hijack"};
  ASSERT_EQ(net.run_tx(net.tx(net.validator(3).account, hijack)).code, TxCode::kOk);
  net.block({net.tx(net.validator(1).account, chain::ApproveValidator{1}),
             net.tx(net.validator(2).account, chain::ApproveValidator{1})});
  ASSERT_EQ(ct::staking::get_validator(net.state(), cand_key.public_key())->account, net.actor("cand").addr());
  // Enough approvals to pass proposal 2 as well: the key is taken, so they are refused.
  const auto& b = net.block({net.tx(net.validator(1).account, chain::ApproveValidator{2}),
                             net.tx(net.validator(2).account, chain::ApproveValidator{2})});
  for (const auto& r : b.receipts) EXPECT_TRUE(has_error(r, "staking.known_validator")) << r.error;
  auto rec = ct::staking::get_validator(net.state(), cand_key.public_key());
  EXPECT_EQ(rec->account, net.actor("cand").addr());
  EXPECT_EQ(rec->name, "newcomer");
}

TEST_F(ContractsStakingAdmission, AnAccountBacksOnlyOneValidator) {
  // A second consensus key on an existing validator's account would count that stake twice.
  chain::ProposeValidator twin{cand_key.public_key(), net.validator(1).account.addr(), "twin"};
  Receipt r = net.run_tx(net.tx(net.validator(0).account, twin));
  EXPECT_TRUE(has_error(r, "staking.known_account")) << r.error;
  // Nor can two open proposals for one account both get in.
  SecretKey k2 = key_from_seed("cand-consensus-2");
  ASSERT_EQ(net.run_tx(net.tx(net.validator(0).account, candidate())).code, TxCode::kOk);
  ASSERT_EQ(net.run_tx(net.tx(net.validator(0).account,
                              chain::ProposeValidator{k2.public_key(), net.actor("cand").addr(), "second"})).code, TxCode::kOk);
  net.block({net.tx(net.validator(1).account, chain::ApproveValidator{1}), net.tx(net.validator(2).account, chain::ApproveValidator{1})});
  net.block({net.tx(net.validator(1).account, chain::ApproveValidator{2}), net.tx(net.validator(2).account, chain::ApproveValidator{2})});
  EXPECT_FALSE(ct::staking::get_validator(net.state(), k2.public_key()));
  ASSERT_EQ(net.run_tx(net.tx(net.actor("cand"), chain::Stake{StakeRole::kValidator, 5'000})).code, TxCode::kOk);
  net.add_signer(cand_key);
  net.add_signer(k2);
  net.run_to(9);
  Amount total = 0;
  for (const auto& v : net.validator_set()) total += v.power;
  EXPECT_EQ(total, 45'000u);  // 4 x 10,000 + the candidate's 5,000, counted once
}

TEST_F(ContractsStakingAdmission, AdmittedValidatorJoinsAtTheEpochBoundaryOnlyWithStake) {
  ASSERT_EQ(net.run_tx(net.tx(net.validator(0).account, candidate())).code, TxCode::kOk);
  net.block({net.tx(net.validator(1).account, chain::ApproveValidator{1}),
             net.tx(net.validator(2).account, chain::ApproveValidator{1})});
  ASSERT_TRUE(ct::staking::get_proposal(net.state(), 1)->admitted);
  net.add_signer(cand_key);
  // Not staked yet: the next boundary (height 9) leaves the set as it is.
  net.run_to(9);
  EXPECT_EQ(net.validator_set().size(), 4u);
  ASSERT_EQ(net.run_tx(net.tx(net.actor("cand"), chain::Stake{StakeRole::kValidator, 5'000})).code, TxCode::kOk);
  net.run_to(18);
  EXPECT_EQ(net.validator_set().size(), 4u);  // staked, but the set changes only at a boundary
  net.block();                                 // height 19: boundary
  auto vs = net.validator_set();
  ASSERT_EQ(vs.size(), 5u);
  auto it = std::find_if(vs.begin(), vs.end(), [&](const Validator& v) { return v.consensus_key == cand_key.public_key(); });
  ASSERT_NE(it, vs.end());
  EXPECT_EQ(it->power, 5'000u);
  EXPECT_EQ(it->account, net.actor("cand").addr());
  net.run_to(22);  // the enlarged set signs and validates blocks
}

TEST(ContractsStaking, ValidatorBelowMinimumLeavesTheSetAtTheBoundary) {
  Net net(short_params_json(), 4, 10'000);
  ASSERT_EQ(net.run_tx(net.tx(net.validator(3).account, chain::Unstake{StakeRole::kValidator, 10'000})).code, TxCode::kOk);
  EXPECT_EQ(net.validator_set().size(), 4u);
  net.run_to(9);
  auto vs = net.validator_set();
  ASSERT_EQ(vs.size(), 3u);
  for (const auto& v : vs) EXPECT_NE(v.account, net.validator(3).account.addr());
  net.run_to(12);
}

}  // namespace
}  // namespace ig::testing
