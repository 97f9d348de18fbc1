// The scheduler on crafted track records: it prefers reliable, fast and free miners, never
// assigns beyond a miner's declared concurrency, skips miners that cannot take the task, and
// breaks ties by the block seed, the same way on every node.
#include "tests/contracts/harness.hpp"

namespace ig::testing {
namespace {

namespace reg = ct::registry;
namespace tasks = ct::tasks;

// Contract state built by direct contract calls over an in-memory base (no blocks needed).
class ContractsScheduler : public ::testing::Test {
 protected:
  ContractsScheduler() : s(base) {
    Genesis g;
    g.chain_id = kChainId;
    g.validators.push_back(Validator{val.public_key(), val_account.public_key(), 10'000, "v0"});
    g.accounts.push_back(GenesisAccount{user.public_key(), 1'000'000'000});
    g.contracts_json = short_params_json();
    write_params(s, g.params);
    write_validator_set(s, g.validators);
    if (!app.init_chain(g, s)) throw std::runtime_error("init_chain");
    p = *ct::read_params(s);
    expect_ok(reg::register_model(s, 0, val_account.public_key(), model_payload("llama"), ev));
    expect_ok(reg::register_model(s, 0, val_account.public_key(), model_payload("qwen"), ev));
  }

  static void expect_ok(const Expected<void>& r) {
    if (!r) throw std::runtime_error(r.error().to_string());
  }

  // Registers a miner, then overwrites its track record.
  Address miner(const std::string& name, uint32_t max_concurrent, uint16_t reliability, uint64_t latency_milli,
                uint32_t open = 0, Amount stake = 1'000, std::vector<Hash> models = {model_id("llama")}) {
    Address a = key_from_seed(name).public_key();
    ct::bank::put_account(s, a, {stake, 0});
    expect_ok(ct::staking::stake(s, a, StakeRole::kMiner, stake, ev));
    expect_ok(reg::register_miner(s, p, 0, a, profile(models, max_concurrent), ev));
    auto m = *reg::get_miner(s, a);
    m.reliability = reliability;
    m.latency_milli = latency_milli;
    m.open_tasks = open;
    reg::put_miner(s, m);
    return a;
  }

  uint64_t task(const std::string& model = "llama") {
    auto id = tasks::submit_task(s, p, 1, user.public_key(), task_payload(model_id(model), "prompt", 1'000), ev);
    if (!id) throw std::runtime_error(id.error().to_string());
    return *id;
  }

  Address assigned(uint64_t id) { return tasks::get_task(s, id)->miner; }
  void schedule(const Hash& seed = hash_of("seed")) { tasks::schedule(s, p, 2, seed, ev); }

  SecretKey val = key_from_seed("sched-val"), val_account = key_from_seed("sched-val-account"), user = key_from_seed("sched-user");
  MapStateReader base;
  State s;
  ct::InfergridApp app;
  ct::Params p;
  std::vector<Event> ev;
};

TEST_F(ContractsScheduler, PrefersTheReliableMiner) {
  Address flaky = miner("flaky", 4, 20'000, 1'500);
  Address solid = miner("solid", 4, 60'000, 1'500);
  uint64_t id = task();
  schedule();
  EXPECT_EQ(assigned(id), solid);
  EXPECT_NE(assigned(id), flaky);
}

TEST_F(ContractsScheduler, PrefersTheFastMiner) {
  Address slow = miner("slow", 4, 40'000, 2'500);
  Address fast = miner("fast", 4, 40'000, 500);
  uint64_t id = task();
  schedule();
  EXPECT_EQ(assigned(id), fast);
  EXPECT_NE(assigned(id), slow);
}

TEST_F(ContractsScheduler, PrefersTheMinerWithFreeCapacity) {
  Address busy = miner("busy", 4, 40'000, 1'500, 3);
  Address idle = miner("idle", 4, 40'000, 1'500, 0);
  uint64_t id = task();
  schedule();
  EXPECT_EQ(assigned(id), idle);
  EXPECT_NE(assigned(id), busy);
}

TEST_F(ContractsScheduler, ReliabilityOutweighsStake) {
  Address rich = miner("rich", 4, 20'000, 1'500, 0, 10'000);
  Address honest = miner("honest", 4, 60'000, 1'500, 0, 1'000);
  uint64_t id = task();
  schedule();
  EXPECT_EQ(assigned(id), honest);
  EXPECT_NE(assigned(id), rich);
}

TEST_F(ContractsScheduler, NeverExceedsDeclaredConcurrency) {
  std::vector<Address> ms = {miner("a", 1, 60'000, 500), miner("b", 2, 40'000, 1'500), miner("c", 3, 20'000, 2'500)};
  std::vector<uint64_t> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(task());
  schedule();
  std::map<Address, uint32_t> load;
  size_t pending = 0;
  for (uint64_t id : ids) {
    auto t = *tasks::get_task(s, id);
    if (t.status == tasks::Status::kPending) ++pending;
    else ++load[t.miner];
  }
  EXPECT_EQ(pending, 4u);
  EXPECT_EQ(load[ms[0]], 1u);
  EXPECT_EQ(load[ms[1]], 2u);
  EXPECT_EQ(load[ms[2]], 3u);
  for (const auto& a : ms) EXPECT_EQ(reg::get_miner(s, a)->open_tasks, reg::get_miner(s, a)->profile.max_concurrent);
  schedule();  // nobody has room: nothing moves
  for (size_t i = 6; i < ids.size(); ++i) EXPECT_EQ(tasks::get_task(s, ids[i])->status, tasks::Status::kPending);
  // Tasks are served in submission order.
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(tasks::get_task(s, ids[i])->status, tasks::Status::kAssigned);
}

TEST_F(ContractsScheduler, SkipsMinersThatCannotTakeTheTask) {
  Address other_model = miner("qwen-only", 4, 65'000, 0, 0, 1'000, {model_id("qwen")});
  Address underfunded = miner("underfunded", 4, 65'000, 0);
  std::vector<Event> ignored;
  ct::staking::slash(s, underfunded, StakeRole::kMiner, 5'000, "test", ignored);  // 500 < minimum 1,000
  Address ok = miner("ok", 1, 10'000, 2'900);
  uint64_t id = task();
  schedule();
  EXPECT_EQ(assigned(id), ok);
  EXPECT_NE(assigned(id), other_model);
  uint64_t stuck = task();
  schedule();
  EXPECT_EQ(tasks::get_task(s, stuck)->status, tasks::Status::kPending);  // ok is full
}

TEST_F(ContractsScheduler, TiesAreBrokenByTheSeedDeterministically) {
  Address a = miner("twin-a", 1, 40'000, 1'500);
  Address b = miner("twin-b", 1, 40'000, 1'500);
  const WriteSet before = s.writes();
  std::map<Address, int> wins;
  for (int i = 0; i < 32; ++i) {
    Hash seed = hash_of("seed-" + std::to_string(i));
    std::vector<Address> picks;
    for (int run = 0; run < 2; ++run) {
      State copy(base);
      for (const auto& [k, v] : before) v ? copy.put(k, *v) : copy.erase(k);
      auto id = tasks::submit_task(copy, p, 1, user.public_key(), task_payload(model_id("llama"), "p", 1'000), ev);
      ASSERT_TRUE(id);
      tasks::schedule(copy, p, 2, seed, ev);
      picks.push_back(tasks::get_task(copy, *id)->miner);
    }
    EXPECT_EQ(picks[0], picks[1]) << "the same seed must give the same miner";
    ++wins[picks[0]];
  }
  EXPECT_GT(wins[a], 0);
  EXPECT_GT(wins[b], 0);
  EXPECT_EQ(wins[a] + wins[b], 32);
}

}  // namespace
}  // namespace ig::testing
