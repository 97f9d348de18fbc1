// registry through real blocks: models only from validators, miner registration with its
// stake and profile rules, profile updates, and dense uids.
#include "tests/contracts/harness.hpp"

namespace ig::testing {
namespace {

bool has_error(const Receipt& r, const std::string& code) { return r.error.find(code) != std::string::npos; }

class ContractsRegistry : public ::testing::Test {
 protected:
  ContractsRegistry() : net(short_params_json(), 4, 10'000, {"m", "u"}) {}
  Receipt register_model(const chain::RegisterModel& m, size_t validator = 0) {
    return net.run_tx(net.tx(net.validator(validator).account, m));
  }
  Net net;
};

TEST_F(ContractsRegistry, ValidatorsRegisterModels) {
  Receipt r = register_model(model_payload("llama-7b", 12, 2048), 2);
  ASSERT_EQ(r.code, TxCode::kOk) << r.error;
  auto m = ct::registry::get_model(net.state(), model_id("llama-7b"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "llama-7b");
  EXPECT_EQ(m->architecture, "llama");
  EXPECT_EQ(m->price_per_token, 12u);
  EXPECT_EQ(m->context_limit, 2048u);
  EXPECT_EQ(m->registered_by, net.validator(2).account.addr());
  EXPECT_EQ(m->registered_height, r.height);
  EXPECT_EQ(net.events("model_registered").size(), 1u);
}

TEST_F(ContractsRegistry, ModelRegistrationRules) {
  Receipt by_user = net.run_tx(net.tx(net.actor("u"), model_payload("x")));
  EXPECT_EQ(by_user.code, TxCode::kUnauthorized);
  EXPECT_TRUE(has_error(by_user, "registry.not_validator"));
  ASSERT_EQ(register_model(model_payload("x")).code, TxCode::kOk);
  EXPECT_TRUE(has_error(register_model(model_payload("x"), 1), "registry.model_exists"));
  auto bad = model_payload("y");
  bad.name = "";
  EXPECT_TRUE(has_error(register_model(bad), "registry.bad_model"));
  bad = model_payload("y");
  bad.architecture = "qwen\n2";
  EXPECT_TRUE(has_error(register_model(bad), "registry.bad_model"));
  bad = model_payload("y");
  bad.context_limit = 0;
  EXPECT_TRUE(has_error(register_model(bad), "registry.bad_model"));
  EXPECT_EQ(ct::registry::all_models(net.state()).size(), 1u);
}

TEST_F(ContractsRegistry, MinerNeedsTheMinimumStake) {
  ASSERT_EQ(register_model(model_payload("llama")).code, TxCode::kOk);
  Actor& m = net.actor("m");
  chain::RegisterMiner reg{profile({model_id("llama")})};
  Receipt none = net.run_tx(net.tx(m, reg));
  EXPECT_TRUE(has_error(none, "registry.stake_below_minimum")) << none.error;
  ASSERT_EQ(net.run_tx(net.tx(m, chain::Stake{StakeRole::kMiner, 999})).code, TxCode::kOk);
  EXPECT_TRUE(has_error(net.run_tx(net.tx(m, reg)), "registry.stake_below_minimum"));
  // Validator stake does not count for a miner.
  ASSERT_EQ(net.run_tx(net.tx(m, chain::Stake{StakeRole::kValidator, 5'000})).code, TxCode::kOk);
  EXPECT_TRUE(has_error(net.run_tx(net.tx(m, reg)), "registry.stake_below_minimum"));
  EXPECT_FALSE(net.miner(m.addr()));
  ASSERT_EQ(net.run_tx(net.tx(m, chain::Stake{StakeRole::kMiner, 1})).code, TxCode::kOk);
  Receipt ok = net.run_tx(net.tx(m, reg));
  ASSERT_EQ(ok.code, TxCode::kOk) << ok.error;
  auto miner = net.miner(m.addr());
  ASSERT_TRUE(miner);
  EXPECT_EQ(miner->uid, 4u);  // validators hold uids 0..3 from genesis
  EXPECT_EQ(miner->profile, reg.profile);
  EXPECT_EQ(miner->registered_height, ok.height);
  EXPECT_EQ(miner->reliability, ct::registry::kReliabilityOne / 2);
  EXPECT_EQ(miner->open_tasks, 0u);
  EXPECT_EQ(ct::registry::uid_of(net.state(), m.addr()), 4u);
  EXPECT_TRUE(has_error(net.run_tx(net.tx(m, reg)), "registry.already_registered"));
}

TEST_F(ContractsRegistry, MinerProfileIsValidated) {
  ASSERT_EQ(register_model(model_payload("llama")).code, TxCode::kOk);
  Actor& m = net.actor("m");
  ASSERT_EQ(net.run_tx(net.tx(m, chain::Stake{StakeRole::kMiner, 5'000})).code, TxCode::kOk);
  const Hash llama = model_id("llama");
  struct Case {
    chain::MinerProfile p;
    std::string code;
  };
  std::vector<Case> cases = {
      {profile({llama}, 1, ""), "registry.bad_profile"},
      {profile({llama}, 1, "gpu\x01"), "registry.bad_profile"},
      {profile({llama}, 0), "registry.bad_profile"},
      {profile({llama}, ct::registry::kMaxConcurrent + 1), "registry.bad_profile"},
      {profile({}, 1), "registry.bad_profile"},
      {profile({llama, llama}, 1), "registry.bad_profile"},
      {profile({llama, model_id("unknown")}, 1), "registry.unknown_model"},
  };
  for (const auto& c : cases) {
    Receipt r = net.run_tx(net.tx(m, chain::RegisterMiner{c.p}));
    EXPECT_NE(r.code, TxCode::kOk);
    EXPECT_TRUE(has_error(r, c.code)) << c.code << " vs " << r.error;
  }
  EXPECT_FALSE(net.miner(m.addr()));
  ASSERT_EQ(net.run_tx(net.tx(m, chain::RegisterMiner{profile({llama}, ct::registry::kMaxConcurrent)})).code, TxCode::kOk);
}

TEST_F(ContractsRegistry, UpdateMinerChangesTheProfileOnlyForMiners) {
  setup_market(net, {"m"}, "llama");
  ASSERT_EQ(register_model(model_payload("qwen")).code, TxCode::kOk);
  Receipt stranger = net.run_tx(net.tx(net.actor("u"), chain::UpdateMiner{profile({model_id("qwen")})}));
  EXPECT_EQ(stranger.code, TxCode::kUnauthorized);
  EXPECT_TRUE(has_error(stranger, "registry.not_miner"));
  Actor& m = net.actor("m");
  auto before = *net.miner(m.addr());
  EXPECT_TRUE(has_error(net.run_tx(net.tx(m, chain::UpdateMiner{profile({}, 1)})), "registry.bad_profile"));
  auto updated = profile({model_id("llama"), model_id("qwen")}, 7, "A100-40GB");
  ASSERT_EQ(net.run_tx(net.tx(m, chain::UpdateMiner{updated})).code, TxCode::kOk);
  auto after = *net.miner(m.addr());
  EXPECT_EQ(after.profile, updated);
  EXPECT_EQ(after.uid, before.uid);  // the track record and uid survive an update
  EXPECT_EQ(after.registered_height, before.registered_height);
}

TEST_F(ContractsRegistry, UidsAreDenseAndNeverReused) {
  setup_market(net, {"m", "u"}, "llama");
  auto people = ct::registry::participants(net.state());
  ASSERT_EQ(people.size(), 6u);
  for (size_t i = 0; i < people.size(); ++i) EXPECT_EQ(people[i].uid, i);
  EXPECT_EQ(people[0].role, ct::registry::Role::kValidator);
  EXPECT_EQ(people[4].role, ct::registry::Role::kMiner);
  EXPECT_EQ(people[4].account, net.actor("m").addr());
  EXPECT_EQ(people[5].account, net.actor("u").addr());
}

}  // namespace
}  // namespace ig::testing
