// Workers that die and come back (issue 8, docs/workers.md "What a miner does" step 3 and
// "What a verifier does" step 4), with real processes on loopback: `infergridd start`, separate
// `infergridd worker` processes and `infergrid-wallet` for the setup, as a person would run them.
//
//   a. A miner killed with a task assigned to it: the chain reassigns the task after the
//      deadline, another miner settles it, and the restarted first miner never submits it,
//      yet serves new work.
//   b. A miner killed after signing: its journal holds the signed bytes; the restarted miner
//      re-sends exactly those and never signs a second result for the task.
//   c. A verifier killed between its weight commit and the reveal reveals after a restart,
//      the very weights it committed.
//
// Every chain uses a short-epoch genesis (HOME/genesis.json edited after `infergridd init` and
// before the first start, as `infergridd devnet` does) and 200 ms blocks. Every wait is bounded;
// every process is killed when its owner goes out of scope, even when an assertion fails.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <thread>

#include "chain/address.hpp"
#include "chain/tx.hpp"
#include "inference/receipt/result.hpp"
#include "kernels/kernels.hpp"
#include "tests/integration/harness.hpp"
#include "wallet/keystore.hpp"
#include "wallet/transaction.hpp"
#include "wallet/weights_file.hpp"
#include "workers/model_catalog.hpp"
#include "workers/task_view.hpp"

extern char** environ;

namespace ig::itest {
namespace {

using json = rpc::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kModel = std::string(INFERGRID_SOURCE_DIR) + "/../shared/data/models/stories260K.gguf";

uint64_t num(const json& v) { return v.is_string() ? std::stoull(v.get<std::string>()) : v.get<uint64_t>(); }

// Polls `done` until it holds or `timeout` passes; the caller asserts on the result.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = 100ms) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

// One `infergridd worker` process (or any long-running program): stdout and stderr go to a log
// file per start, the keystore password comes from INFERGRID_PASSWORD. The destructor kills it.
class Proc {
 public:
  Proc(std::vector<std::string> argv, std::string log_base) : argv_(std::move(argv)), log_base_(std::move(log_base)) {}
  ~Proc() { kill9(); }
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;

  void start() {
    ASSERT_LT(pid_, 0) << "already running";
    log_ = log_base_ + "-" + std::to_string(++starts_) + ".log";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e)
      if (std::string_view(*e).rfind("INFERGRID_PASSWORD=", 0) != 0) env.emplace_back(*e);
    env.push_back(std::string("INFERGRID_PASSWORD=") + kPassword);
    auto cargv = cstrings(argv_), cenv = cstrings(env);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&fa);
    ASSERT_EQ(rc, 0) << "cannot spawn " << argv_[0];
    pid_ = pid;
  }
  // Waits until the log contains `needle`; fails at once if the process exits first.
  void wait_log(const std::string& needle, std::chrono::seconds timeout = 30s) {
    const auto deadline = Clock::now() + timeout;
    while (log().find(needle) == std::string::npos) {
      int status = 0;
      if (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL() << argv_[0] << " exited before logging \"" << needle << "\":\n" << log();
      }
      ASSERT_LT(Clock::now(), deadline) << "no \"" << needle << "\" in " << log_ << ":\n" << log();
      std::this_thread::sleep_for(20ms);
    }
  }
  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  // SIGTERM, then a bounded wait for a clean exit.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const bool exited = eventually([&] {
      int status = 0;
      return waitpid(pid_, &status, WNOHANG) == pid_;
    }, 20s, 20ms);
    if (!exited) kill9();
    pid_ = -1;
    EXPECT_TRUE(exited) << argv_[0] << " ignored SIGTERM:\n" << log();
  }
  std::string log() const { return read_file(log_); }
  // Every start's log, for failure messages.
  std::string all_logs() const {
    std::string out;
    for (int i = 1; i <= starts_; ++i) out += "--- start " + std::to_string(i) + "\n" + read_file(log_base_ + "-" + std::to_string(i) + ".log");
    return out;
  }

 private:
  static std::vector<char*> cstrings(std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
  }
  std::vector<std::string> argv_;
  std::string log_base_, log_;
  pid_t pid_ = -1;
  int starts_ = 0;
};

bool contains(const json& list, const std::string& value) {
  for (const auto& v : list)
    if (v == value) return true;
  return false;
}

struct GenesisTweaks {
  uint64_t tempo = 20;
  uint64_t reveal_window_blocks = 10;
  uint64_t verification_window_blocks = 4;
  uint64_t result_timeout_blocks = 8;
};

struct SubmitResultTx {
  std::string hash, sender;
  uint64_t height = 0;
};

// A fresh chain in a temp dir: init, a short-epoch genesis, the node started, the bundled model
// registered by the validator and a funded user. Miners are added by each test.
class WorkerRestart : public ::testing::Test {
 protected:
  void TearDown() override {
    workers_.clear();  // workers before the node, so none of them is left talking to nothing
    node_.reset();
    if (!dir_.empty() && !HasFailure()) remove_dir(dir_);
    else if (!dir_.empty()) std::cerr << "kept " << dir_ << " for inspection\n";
  }

  void start_chain(const GenesisTweaks& g, const std::vector<std::string>& node_args) {
    dir_ = make_temp_dir("restart");
    home_ = dir_ + "/home";
    node_ = std::make_unique<NodeProcess>(home_);
    ASSERT_NO_FATAL_FAILURE(node_->init(200));
    // Short epochs, windows and deadlines, so that deadlines pass and epochs turn in seconds.
    const std::string path = home_ + "/genesis.json";
    json genesis = json::parse(read_file(path));
    ASSERT_TRUE(genesis.contains("contracts"));
    json& c = genesis["contracts"];
    c["tempo"] = g.tempo;
    c["reveal_window_blocks"] = g.reveal_window_blocks;
    c["verification_window_blocks"] = g.verification_window_blocks;
    c["result_timeout_blocks"] = g.result_timeout_blocks;
    std::ofstream(path, std::ios::trunc) << genesis.dump(2) << "\n";
    tempo_ = g.tempo;
    ASSERT_NO_FATAL_FAILURE(node_->start(node_args));
    client_.emplace(node_->client());
    client_->set_timeout(30s);

    auto id = workers::file_sha256(kModel);
    ASSERT_TRUE(id) << id.error().to_string();
    model_id_ = chain::to_hex(*id);
    wallet({"register-model", "--from", "validator", "--model-file", kModel, "--name", "stories260K", "--architecture",
            "llama", "--price-per-token", "10", "--context-limit", "512", "--wait"});
    wallet({"new", "--name", "user"});
    wallet({"send", "--from", "dev", "--to", address("user"), "--amount", "100000000", "--wait"});
  }

  // infergrid-wallet on this chain's wallet; the parsed --json output. Setup cannot go on
  // without it, so a failure throws (gtest reports it with the wallet's own message).
  json wallet(std::vector<std::string> args) {
    std::vector<std::string> argv = {bin_dir() + "/infergrid-wallet", "--wallet-dir", home_ + "/wallet", "--node",
                                     node_->ws_url(), "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run(argv, {}, 60s);
    if (r.exit_code != 0) throw std::runtime_error("infergrid-wallet " + args[0] + " failed: " + r.out + r.err);
    return json::parse(r.out);
  }
  std::string address(const std::string& name) { return wallet({"address", name})["address"].get<std::string>(); }

  // A new key, funded, staked as a miner and registered for the bundled model (docs/workers.md
  // "Becoming a miner"). Returns its address.
  std::string make_miner(const std::string& name, uint64_t stake) {
    wallet({"new", "--name", name});
    const std::string addr = address(name);
    wallet({"send", "--from", "dev", "--to", addr, "--amount", "10000000", "--wait"});
    wallet({"stake", "--from", name, "--role", "miner", "--amount", std::to_string(stake), "--wait"});
    wallet({"register-miner", "--from", name, "--gpu-class", "cpu", "--memory-mb", "8192", "--max-concurrent", "1",
            "--model", model_id_, "--wait"});
    return addr;
  }

  Proc& worker(const std::string& role, const std::string& account, const std::string& state_dir) {
    workers_.push_back(std::make_unique<Proc>(
        std::vector<std::string>{bin_dir() + "/infergridd", "worker", "--role", role, "--node", node_->ws_url(),
                                 "--account", account, "--wallet-dir", home_ + "/wallet", "--model", kModel,
                                 "--state-dir", state_dir},
        dir_ + "/" + account));
    return *workers_.back();
  }

  uint64_t submit_task(const std::string& prompt, std::vector<std::string> sampling = {}) {
    std::vector<std::string> args = {"task", "submit", "--from", "user", "--model", "stories260K", "--prompt", prompt,
                                     "--max-tokens", "16"};
    args.insert(args.end(), sampling.begin(), sampling.end());
    return wallet(args)["task_id"].get<uint64_t>();
  }

  json call(const std::string& method, const json& params) {
    auto r = client_->call(method, params);
    if (!r) throw std::runtime_error(method + ": " + r.error().to_string());
    return *r;
  }
  json task(uint64_t id) { return call("task_get", json::array({id})); }
  std::string status(uint64_t id) { return task(id)["status"].get<std::string>(); }
  uint64_t head() { return call("chain_head", json::array())["height"].get<uint64_t>(); }

  // Every SubmitResult for `task_id` in any block so far, included or failed: a failed
  // transaction stays in its block, so this also sees a result the chain refused.
  std::vector<SubmitResultTx> submit_results(uint64_t task_id) {
    std::vector<SubmitResultTx> out;
    const uint64_t top = head();
    for (uint64_t h = 1; h <= top; ++h) {
      json block = call("chain_getBlock", json::array({h, true}));
      for (const auto& tx : block["txs"])
        if (tx["type"] == "SubmitResult" && num(tx["payload"]["task_id"]) == task_id)
          out.push_back({tx["hash"].get<std::string>(), tx["sender"].get<std::string>(), h});
    }
    return out;
  }

  std::string dir_, home_, model_id_;
  uint64_t tempo_ = 20;
  std::unique_ptr<NodeProcess> node_;
  std::optional<rpc::Client> client_;
  std::vector<std::unique_ptr<Proc>> workers_;
};

}  // namespace

// a. Miner A has a task assigned and dies before it has run it (stopped before the task exists,
// so it cannot have started, then SIGKILLed). After A's deadline the chain moves the task to B,
// which settles it. A restarted on the same state directory must not submit that task — no
// SubmitResult from A for it in any block — and must serve the next task it is given.
TEST_F(WorkerRestart, MinerKilledMidTaskIsReplacedAndNeverSubmitsTheTaskAfterRestart) {
  ASSERT_NO_FATAL_FAILURE(start_chain(GenesisTweaks{.result_timeout_blocks = 8}, {"--verifier", kModel}));
  // A stakes ten times B's (the minimum): the scheduler's stake term then ranks A first while
  // both are idle, so the first task goes to A whatever the tie-break seed (contracts/scheduler.cpp).
  const std::string a = make_miner("miner-a", 10'000);
  const std::string b = make_miner("miner-b", 1'000);
  Proc& wa = worker("miner", "miner-a", dir_ + "/state-a");
  Proc& wb = worker("miner", "miner-b", dir_ + "/state-b");
  ASSERT_NO_FATAL_FAILURE(wa.start());
  ASSERT_NO_FATAL_FAILURE(wb.start());
  ASSERT_NO_FATAL_FAILURE(wa.wait_log("serving"));
  ASSERT_NO_FATAL_FAILURE(wb.wait_log("serving"));
  wa.signal(SIGSTOP);  // A is alive to the chain but cannot act on its assignment

  const uint64_t t1 = submit_task("Once upon a time");
  ASSERT_TRUE(eventually([&] { return status(t1) != "pending"; }, 30s)) << task(t1).dump();
  // Assigned to A (or, had this poll come late, already moved on from A after its deadline).
  json first = task(t1);
  ASSERT_TRUE((first["status"] == "assigned" && first["miner"] == a) || contains(first["tried"], a))
      << "the task should have gone to A, the higher-ranked miner: " << first.dump();
  wa.kill9();

  // After A's deadline the task goes back to the queue and B, the only untried miner, gets it.
  ASSERT_TRUE(eventually([&] { return status(t1) == "settled"; }, 90s))
      << task(t1).dump() << "\nB:\n" << wb.all_logs();
  json settled = task(t1);
  EXPECT_EQ(settled["miner"], b);
  EXPECT_TRUE(contains(settled["tried"], a)) << settled.dump();
  EXPECT_EQ(settled["attempts"], 2);

  // A comes back on the same state directory (its lock died with it). B stops, so the next task
  // can only be served by A: either A gets it at once, or B misses it and it comes to A.
  ASSERT_NO_FATAL_FAILURE(wa.start());
  ASSERT_NO_FATAL_FAILURE(wa.wait_log("serving"));
  wb.stop();
  const uint64_t t2 = submit_task("The little dog ran");
  ASSERT_TRUE(eventually([&] {
    auto s = status(t2);
    return s == "settled" || s == "rejected" || s == "expired";
  }, 120s)) << task(t2).dump() << "\nA:\n" << wa.all_logs();
  json second = task(t2);
  EXPECT_EQ(second["status"], "settled") << second.dump() << "\nA:\n" << wa.all_logs();
  EXPECT_EQ(second["miner"], a);

  // The chain holds exactly one result for the first task, B's; none from A, even a refused one.
  auto results = submit_results(t1);
  ASSERT_EQ(results.size(), 1u) << "A:\n" << wa.all_logs();
  EXPECT_EQ(results[0].sender, b);
  EXPECT_EQ(results[0].hash, settled["result"]["tx_hash"]);
  EXPECT_EQ(wa.all_logs().find("task " + std::to_string(t1) + ":"), std::string::npos)
      << "the restarted miner acted on a task that is no longer its own:\n" << wa.all_logs();
}

// b. A miner that signed a result and died before sending it. The crash is made exact by
// writing the journal entry a miner writes (workers/miner.cpp: tasks → id → {"state": "signed",
// "tx_hash", "tx"}) from a result computed and signed here with the miner's key, exactly as the
// worker would, but with an expiry the worker never uses, so the worker's own signature would
// have another hash. The restarted miner must send those bytes. Then a real kill: SIGKILL the
// running miner as soon as its journal shows the next task signed, restart it, and the one result
// on chain is the journaled one.
TEST_F(WorkerRestart, MinerKilledAfterSigningResendsExactlyTheJournaledResult) {
  ASSERT_NO_FATAL_FAILURE(start_chain(GenesisTweaks{.result_timeout_blocks = 40}, {"--verifier", kModel}));
  const std::string m = make_miner("miner-m", 1'000);
  const std::string state = dir_ + "/state-m";
  const std::string journal_path = state + "/miner-journal.json";

  // --- the simulated crash: signed and journaled, never sent ------------------------------
  const uint64_t t1 = submit_task("Lily wanted to", {"--temperature", "0.8", "--top-k", "40", "--seed", "7"});
  ASSERT_TRUE(eventually([&] { return status(t1) == "assigned"; }, 30s)) << task(t1).dump();
  auto view = workers::parse_task(task(t1));
  ASSERT_TRUE(view) << view.error().to_string();
  ASSERT_EQ(view->miner.value_or(""), m);

  auto catalog = workers::ModelCatalog::load({kModel});
  ASSERT_TRUE(catalog) << catalog.error().to_string();
  const workers::CatalogModel* model = catalog->find(model_id_);
  ASSERT_NE(model, nullptr);
  auto backend = kernels::make_backend(kernels::BackendOptions{kernels::BackendKind::Cpu, 1});
  ASSERT_TRUE(backend) << backend.error().to_string();
  auto result = receipt::run_task(*model->model, *model->tokenizer, model->id, **backend, view->prompt, view->params);
  ASSERT_TRUE(result) << result.error().to_string();
  chain::SubmitResult payload{t1, result->output, result->fingerprints, result->text, result->receipt};

  auto key = wallet::read_keystore(home_ + "/wallet/miner-m.json", kPassword);
  ASSERT_TRUE(key) << key.error().to_string();
  const json fee = call("chain_params", json::array())["fee"];
  wallet::TxSpec spec{call("node_info", json::array())["chain_id"].get<std::string>(), 0,
                      call("state_getAccount", json::array({m}))["next_nonce"].get<uint64_t>(), head() + 250};
  spec.fee = wallet::minimum_fee(chain::FeeSchedule{num(fee["base"]), num(fee["per_byte"])},
                                 wallet::tx_body(spec, payload, key->public_key()));
  auto signed_tx = wallet::sign_payload(spec, payload, *key);
  ASSERT_TRUE(signed_tx) << signed_tx.error().to_string();
  const std::string h1 = chain::to_hex(chain::tx_hash(*signed_tx));
  ASSERT_EQ(::mkdir(state.c_str(), 0700), 0);
  json journal = {{"tasks", {{std::to_string(t1), {{"state", "signed"}, {"tx_hash", h1},
                                                   {"tx", chain::to_hex(chain::encode_tx(*signed_tx))}}}}}};
  std::ofstream(journal_path, std::ios::trunc) << journal.dump(1);

  Proc& w = worker("miner", "miner-m", state);
  ASSERT_NO_FATAL_FAILURE(w.start());
  ASSERT_TRUE(eventually([&] { return status(t1) == "settled"; }, 90s)) << task(t1).dump() << "\n" << w.all_logs();
  EXPECT_EQ(task(t1)["result"]["tx_hash"], h1);
  auto on_chain = submit_results(t1);
  ASSERT_EQ(on_chain.size(), 1u) << w.all_logs();
  EXPECT_EQ(on_chain[0].hash, h1) << "the restarted miner signed a new result instead of re-sending the journaled one";
  EXPECT_NE(w.log().find("signed before a restart"), std::string::npos) << w.log();

  // --- a real kill right after the journal shows the result signed ------------------------
  const uint64_t t2 = submit_task("The cat and the bird");
  std::string h2;
  ASSERT_TRUE(eventually([&] {
    auto doc = json::parse(read_file(journal_path), nullptr, false);
    if (doc.is_discarded()) return false;  // never half-written (rename), but be safe
    const json& e = doc["tasks"][std::to_string(t2)];
    if (!e.is_object() || e.value("state", "") != "signed") return false;
    h2 = e["tx_hash"].get<std::string>();
    return true;
  }, 60s, 1ms)) << task(t2).dump() << "\n" << w.all_logs();
  w.kill9();
  ASSERT_NO_FATAL_FAILURE(w.start());
  ASSERT_TRUE(eventually([&] { return status(t2) == "settled"; }, 90s)) << task(t2).dump() << "\n" << w.all_logs();
  EXPECT_EQ(task(t2)["result"]["tx_hash"], h2);
  auto second = submit_results(t2);
  ASSERT_EQ(second.size(), 1u) << w.all_logs();
  EXPECT_EQ(second[0].hash, h2);
  EXPECT_EQ(second[0].sender, m);
}

// c. The node runs without an attached verifier; the validator's verifier is its own process.
// It commits weights for epoch e (after verifying a task), is SIGKILLed before epoch e + 1 (so it
// cannot have revealed), is restarted on the same state directory, and must reveal epoch e: the
// chain's weight row is then the one whose commitment is on chain.
TEST_F(WorkerRestart, VerifierKilledBetweenCommitAndRevealRevealsAfterRestart) {
  // A long epoch against a 10-block reveal window: a commit made after the window leaves seconds
  // before the next epoch, when the reveal is due, to kill the verifier in.
  ASSERT_NO_FATAL_FAILURE(start_chain(GenesisTweaks{.tempo = 40, .reveal_window_blocks = 10, .result_timeout_blocks = 40}, {}));
  const std::string validator = address("validator");
  make_miner("miner-m", 1'000);

  auto events = rpc::Client::connect(node_->ws_url(), 5s);
  ASSERT_TRUE(events) << events.error().to_string();
  ASSERT_TRUE(events->subscribe("events", json{{"type", "weights_committed"}}));
  ASSERT_TRUE(events->subscribe("events", json{{"type", "weights_revealed"}}));
  // The next event of `type` from the validator (other events are skipped).
  auto next_event = [&](const std::string& type, std::chrono::seconds timeout) -> std::optional<json> {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto n = events->next_notification(500ms);
      if (!n) {
        if (n.error().code != "rpc.timeout") std::this_thread::sleep_for(100ms);  // no busy loop on a dead link
        continue;
      }
      const json& r = (*n)["result"];
      if (r["type"] == type && r["attributes"]["validator"] == validator) return r;
    }
    return std::nullopt;
  };

  const std::string vstate = dir_ + "/state-v";
  Proc& v = worker("verifier", "validator", vstate);
  Proc& miner = worker("miner", "miner-m", dir_ + "/state-m");
  ASSERT_NO_FATAL_FAILURE(v.start());
  ASSERT_NO_FATAL_FAILURE(miner.start());
  ASSERT_NO_FATAL_FAILURE(v.wait_log("checking"));
  ASSERT_NO_FATAL_FAILURE(miner.wait_log("serving"));

  // Submitted early in an epoch, the task is verified before the commit point (position 10), so
  // the commit comes there, ~30 blocks before the reveal is due.
  ASSERT_TRUE(eventually([&] { return (head() + 1) % tempo_ <= 2; }, 30s));
  const uint64_t t = submit_task("In the park there was");
  ASSERT_TRUE(eventually([&] { return status(t) == "settled"; }, 60s)) << task(t).dump() << "\n" << v.all_logs();

  auto committed = next_event("weights_committed", 60s);
  ASSERT_TRUE(committed) << "no weights_committed:\n" << v.all_logs();
  v.kill9();
  const uint64_t e = std::stoull((*committed)["attributes"]["epoch"].get<std::string>());
  const uint64_t killed_at = head();
  // The reveal of e is due in epoch e + 1: killed before it began, the verifier cannot have sent it.
  ASSERT_LT(killed_at + 1, (e + 1) * tempo_) << "killed too late to test a restart before the reveal";
  // (A row's reveal_epoch is the epoch the reveal was made in: e + 1 for the commit of e.)
  auto before = call("weights_get", json::array({validator}));
  ASSERT_TRUE(before.is_null() || num(before["reveal_epoch"]) != e + 1) << before.dump();

  ASSERT_NO_FATAL_FAILURE(v.start());
  auto revealed = next_event("weights_revealed", 60s);
  ASSERT_TRUE(revealed) << "the restarted verifier did not reveal:\n" << v.all_logs();
  EXPECT_EQ((*revealed)["attributes"]["epoch"], std::to_string(e));
  EXPECT_GE(num((*revealed)["height"]), (e + 1) * tempo_);

  // The stored row is the committed one: the secret the verifier saved before committing
  // hashes to the commitment in the CommitWeights transaction, and its weights are the row.
  auto secret = wallet::load_weights_secret(vstate + "/secrets", chain::address_from_string(validator).value(), e);
  ASSERT_TRUE(secret) << secret.error().to_string();
  json commit_tx = call("chain_getTx", json::array({(*committed)["tx_hash"]}));
  EXPECT_EQ(commit_tx["tx"]["payload"]["commit"], chain::to_hex(wallet::commitment(*secret)));
  json row = call("weights_get", json::array({validator}));
  ASSERT_FALSE(row.is_null());
  EXPECT_EQ(num(row["reveal_epoch"]), e + 1);
  EXPECT_EQ(num(row["reveal_height"]), num((*revealed)["height"]));
  ASSERT_EQ(row["weights"].size(), secret->weights.size()) << row.dump();
  for (size_t i = 0; i < secret->weights.size(); ++i) {
    EXPECT_EQ(num(row["weights"][i]["uid"]), secret->weights[i].uid);
    EXPECT_EQ(num(row["weights"][i]["weight"]), secret->weights[i].weight);
  }
  EXPECT_FALSE(secret->weights.empty());
}

}  // namespace ig::itest
