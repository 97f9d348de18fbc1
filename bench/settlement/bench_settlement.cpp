// bench_settlement: the settlement contracts' end-of-block work and their heaviest blocks.
//
// State is built by the real contract calls over an in-memory base: 4 validators, one model,
// 256 miners (4 slots each) and 1,000 pending tasks from 100 users. Then, each repeated on a
// fresh overlay of the same base:
//   end_block_schedule   InfergridApp::end_block assigning all 1,000 pending tasks
//   block_schedule       execute_block with no transactions (end_block + write-set hashing into
//                        the state root), the whole block that schedules them
//   block_results        execute_block with 1,000 SubmitResult transactions (signatures checked)
//   block_verdicts       execute_block with 1,000 Verdict transactions (4 validators x 250 tasks)
//   end_block_settle     end_block at the end of the verification window settling 1,000 tasks
// Output: one JSON object per line with wall and thread-CPU milliseconds (median and min).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chain/executor.hpp"
#include "chain/hash.hpp"
#include "contracts/app.hpp"
#include "contracts/bank.hpp"
#include "contracts/registry.hpp"
#include "contracts/staking.hpp"
#include "contracts/tasks.hpp"

namespace {

using namespace ig;
using namespace ig::chain;
namespace ct = ig::contracts;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kChainId = "ig-bench";
constexpr size_t kMiners = 256;
constexpr uint32_t kSlots = 4;
constexpr size_t kTasks = 1000;
constexpr size_t kUsers = 100;
constexpr size_t kValidators = 4;
constexpr int kRepeats = 5;
constexpr uint64_t kHeight = 5;  // the block that schedules (not an epoch boundary)

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_settlement: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T must(Expected<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.error().to_string());
  return std::move(*r);
}
void must(const Status& st, const char* what) {
  if (!st) die(std::string(what) + ": " + st.error().to_string());
}

SecretKey key(const std::string& seed) { return must(SecretKey::from_bytes(sha256(view(seed))), "key"); }

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

void apply_writes(MapStateReader& base, const WriteSet& w) {
  for (const auto& [k, v] : w) {
    if (v) base.entries[k] = *v;
    else base.entries.erase(k);
  }
}

// Runs `fn` kRepeats times and prints the figures; fn returns a count it checks (e.g. tasks assigned).
void measure(const std::string& name, const json& extra, const std::function<size_t()>& fn, size_t expect) {
  std::vector<double> wall, cpu;
  for (int i = 0; i < kRepeats; ++i) {
    auto t0 = Clock::now();
    double c0 = cpu_seconds();
    size_t got = fn();
    cpu.push_back((cpu_seconds() - c0) * 1e3);
    wall.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (got != expect) die(name + ": expected " + std::to_string(expect) + ", got " + std::to_string(got));
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  json j = {{"bench", name}, {"miners", kMiners}, {"tasks", kTasks}, {"repeats", kRepeats},
            {"wall_ms_median", wall[kRepeats / 2]}, {"wall_ms_min", wall[0]},
            {"cpu_ms_median", cpu[kRepeats / 2]}, {"cpu_ms_min", cpu[0]}};
  j.update(extra);
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

size_t count_events(const std::vector<Event>& ev, const std::string& type) {
  return static_cast<size_t>(std::count_if(ev.begin(), ev.end(), [&](const Event& e) { return e.type == type; }));
}

struct World {
  ct::InfergridApp app;
  MapStateReader base;
  std::vector<SecretKey> validator_accounts, miners, users;
  std::vector<Validator> validators;
  Hash model = sha256(view(std::string("bench-model")));
  ct::Params params;

  World() {
    Genesis g;
    g.chain_id = kChainId;
    for (size_t i = 0; i < kValidators; ++i) {
      validator_accounts.push_back(key("bench-val-account-" + std::to_string(i)));
      validators.push_back(Validator{key("bench-val-" + std::to_string(i)).public_key(), validator_accounts[i].public_key(),
                                     10'000, "v" + std::to_string(i)});
      g.accounts.push_back(GenesisAccount{validator_accounts[i].public_key(), 1'000'000'000});
    }
    g.validators = validators;
    for (size_t i = 0; i < kMiners; ++i) {
      miners.push_back(key("bench-miner-" + std::to_string(i)));
      g.accounts.push_back(GenesisAccount{miners.back().public_key(), 1'000'000'000});
    }
    for (size_t i = 0; i < kUsers; ++i) {
      users.push_back(key("bench-user-" + std::to_string(i)));
      g.accounts.push_back(GenesisAccount{users.back().public_key(), 1'000'000'000});
    }
    State s(base);
    write_params(s, g.params);
    write_validator_set(s, g.validators);
    must(app.init_chain(g, s), "init_chain");
    params = must(ct::read_params(s), "params");
    std::vector<Event> ev;
    must(ct::registry::register_model(s, 1, validator_accounts[0].public_key(),
                                      RegisterModel{model, "bench", "llama", 10, 4096}, ev), "model");
    for (size_t i = 0; i < kMiners; ++i) {
      const Address a = miners[i].public_key();
      must(ct::staking::stake(s, a, StakeRole::kMiner, params.min_miner_stake * (1 + i % 10), ev), "stake");
      must(ct::registry::register_miner(s, params, 1, a, MinerProfile{"H100-80GB", 81'920, kSlots, {model}}, ev), "miner");
      // Varied track records, so the scoring really has to compare.
      auto m = *ct::registry::get_miner(s, a);
      m.reliability = static_cast<uint16_t>(20'000 + (i * 7919) % 45'000);
      m.latency_milli = (i * 104'729) % (params.result_timeout_blocks * 1000);
      ct::registry::put_miner(s, m);
    }
    for (size_t i = 0; i < kTasks; ++i) {
      SubmitTask st{model, "prompt " + std::to_string(i), SamplingParams{16, 0, 0, 1000, i}, 1'000};
      must(ct::tasks::submit_task(s, params, 2, users[i % kUsers].public_key(), st, ev), "task");
    }
    apply_writes(base, s.writes());
  }

  BlockInfo info(uint64_t height) const {
    return BlockInfo{kChainId, height, 1'800'000'000'000 + height, sha256(view("block-" + std::to_string(height))),
                     validators[0].consensus_key};
  }
};

Transaction signed_tx(const SecretKey& k, uint64_t nonce, Payload p) {
  TxBody body;
  body.chain_id = kChainId;
  body.sender = k.public_key();
  body.nonce = nonce;
  body.fee = 100'000;
  body.payload = std::move(p);
  return sign_tx(std::move(body), k);
}

}  // namespace

int main() {
  World w;
  const json shape = {{"validators", kValidators}, {"slots_per_miner", kSlots}};

  // 1. end_block that schedules every pending task.
  WriteSet scheduled;
  measure("end_block_schedule", shape, [&] {
    State s(w.base);
    std::vector<Event> ev;
    w.app.end_block(s, w.info(kHeight), ev);
    scheduled = s.writes();
    return count_events(ev, "task_assigned");
  }, kTasks);

  // 2. The whole block around it (begin_block, end_block, state root over the write set).
  measure("block_schedule", shape, [&] {
    auto r = must(execute_block(w.app, w.base, Hash{}, w.info(kHeight), {}, ExecMode::kValidate), "execute");
    return count_events(r.block_events, "task_assigned");
  }, kTasks);

  // 3. A block of 1,000 SubmitResult transactions from the assigned miners.
  apply_writes(w.base, scheduled);
  std::vector<Transaction> results;
  {
    State s(w.base);
    std::map<Address, uint64_t> nonces;
    for (const auto& t : ct::tasks::tasks_in(s, 0, kTasks)) {
      if (t.status != ct::tasks::Status::kAssigned) die("a task was not assigned");
      const auto it = std::find_if(w.miners.begin(), w.miners.end(), [&](const SecretKey& k) { return k.public_key() == t.miner; });
      std::vector<uint32_t> toks(12);
      for (size_t i = 0; i < toks.size(); ++i) toks[i] = static_cast<uint32_t>(t.id * 31 + i);
      std::vector<ig::Fingerprint> fps;
      for (size_t i = 0; i < toks.size(); ++i) fps.push_back({static_cast<int32_t>(toks[i]), 1000, 900});
      SubmitResult r{t.id, toks, fps, "a short story",
                     ig::InferenceReceipt{t.model_id, ig::prompt_hash(t.prompt), sampling_params_hash(t.params), ig::output_hash(toks),
                                          ig::fingerprint_root(fps), static_cast<uint32_t>(toks.size()), "cpu/1"}};
      results.push_back(signed_tx(*it, nonces[t.miner]++, r));
    }
  }
  WriteSet after_results;
  measure("block_results", {{"txs", results.size()}, {"kind", "SubmitResult"}}, [&] {
    auto r = must(execute_block(w.app, w.base, Hash{}, w.info(kHeight + 1), results, ExecMode::kValidate), "execute");
    after_results = r.writes;
    return static_cast<size_t>(std::count_if(r.receipts.begin(), r.receipts.end(), [](const Receipt& x) { return x.code == TxCode::kOk; }));
  }, kTasks);

  // 4. A block of 1,000 verdicts: each validator judges a quarter of the tasks.
  apply_writes(w.base, after_results);
  std::vector<Transaction> verdicts;
  for (size_t i = 0; i < kTasks; ++i) {
    size_t v = i % kValidators;
    verdicts.push_back(signed_tx(w.validator_accounts[v], i / kValidators, Verdict{i + 1, true, 0, "", std::nullopt}));
  }
  measure("block_verdicts", {{"txs", verdicts.size()}, {"kind", "Verdict"}}, [&] {
    auto r = must(execute_block(w.app, w.base, Hash{}, w.info(kHeight + 2), verdicts, ExecMode::kValidate), "execute");
    return static_cast<size_t>(std::count_if(r.receipts.begin(), r.receipts.end(), [](const Receipt& x) { return x.code == TxCode::kOk; }));
  }, kTasks);

  // 5. end_block at the end of the verification window: every task settles and pays out.
  const uint64_t settle_height = kHeight + 1 + w.params.verification_window_blocks;
  measure("end_block_settle", shape, [&] {
    State s(w.base);
    std::vector<Event> ev;
    w.app.end_block(s, w.info(settle_height), ev);
    return count_events(ev, "task_settled");
  }, kTasks);
  return 0;
}
