#include "node/devnet.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "chain/address.hpp"
#include "node/child_process.hpp"
#include "node/devnet_report.hpp"
#include "node/testnet.hpp"
#include "rpc/client.hpp"
#include "wallet/wallet_dir.hpp"
#include "workers/model_catalog.hpp"
#include "workers/task_view.hpp"
#include "workers/tx_sender.hpp"

namespace ig::node {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Ctrl-C or SIGTERM: stop the children (workers first, then the node) before exiting. They run
// in their own process groups, so the terminal's signal reaches only the devnet.
std::atomic<bool> g_interrupted{false};
extern "C" void on_signal(int) { g_interrupted = true; }

Status check_interrupt() {
  if (g_interrupted) return fail("devnet.interrupted", "interrupted; stopping the network");
  return {};
}
using json = nlohmann::json;
using workers::json_uint;

// Real prompts in the register of the bundled TinyStories model.
const char* const kPrompts[] = {
    "Once upon a time",        "The little dog ran",        "Lily wanted to",      "One day, a boy named Tom",
    "The sun was shining and", "A big red ball",            "The cat and the bird", "Mom said",
    "In the park there was",   "There was a little girl who", "The tree was very tall", "Ben liked to play with"};

struct MinerSpec {
  const char* name;
  uint32_t max_concurrent;
  uint32_t memory_mb;
  bool cheats;
};
// Two honest miners of different declared capacity and one that cheats (a test option).
constexpr MinerSpec kMiners[] = {{"miner-a", 2, 16384, false}, {"miner-b", 1, 8192, false}, {"cheater", 1, 8192, true}};

constexpr chain::Amount kMinerFunds = 10'000'000;
constexpr chain::Amount kMinerStake = 1'000'000;
constexpr chain::Amount kUserFunds = 100'000'000;
constexpr chain::Amount kPricePerToken = 100;

struct Actor {
  std::string name;
  std::string address;
  std::unique_ptr<workers::TxSender> tx;
};

class Devnet {
 public:
  explicit Devnet(DevnetOptions o) : opt_(std::move(o)), url_("ws://127.0.0.1:" + std::to_string(opt_.port)) {}

  Status run() {
    IG_TRY(prepare_home());
    IG_TRY(start_validators());
    IG_TRY(open_actors());
    IG_TRY(register_model_and_miners());
    IG_TRY(start_miners());
    IG_TRY(start_gateway());
    if (opt_.transfers) IG_TRY(transfer_demo());
    IG_TRY(report_.snapshot_before(*node_, miners_));
    IG_TRY(subscribe());  // before the first task, so that no event of the loop is missed
    IG_TRY(submit_tasks());
    IG_TRY(follow());
    IG_TRY(report_.finish(*node_, miners_, opt_.summary));
    if (opt_.keep) {
      std::cout << "\nThe network keeps running (--keep). Node RPC: http://127.0.0.1:" << opt_.port
                << "/  home: " << opt_.home << "\nStop it with: kill";
      for (auto& p : node_procs_) std::cout << " " << p.pid();
      for (auto& w : worker_procs_) std::cout << " " << w.pid();
      std::cout << "\n";
      print_urls();
    } else {
      stop_all();
      std::cout << "\nNetwork stopped; its home (keys, chain, logs) is kept in " << opt_.home << "\n";
    }
    return {};
  }

  void stop_all() {
    for (auto& w : worker_procs_) w.terminate();
    for (auto& p : node_procs_) p.terminate();
  }

 private:
  // --- home, genesis, keys ---------------------------------------------------------------
  // One home per validator (HOME/node0 …, written as `infergridd testnet` writes them), with
  // short epochs and windows so that a few minutes show tasks settling and several Yuma
  // epochs; the miners' and the user's keys in HOME/wallet.
  Status prepare_home() {
    if (fs::exists(opt_.home)) return fail("devnet.home", opt_.home + " already exists; give a new directory");
    TestnetOptions t;
    t.out = opt_.home;
    t.validators = opt_.validators;
    t.chain_id = "infergrid-devnet";
    t.base_rpc_port = opt_.port;
    t.base_p2p_port = opt_.p2p_port;
    t.block_time_ms = opt_.block_time_ms;
    t.password = opt_.password;
    t.contracts = {{"tempo", opt_.tempo},
                   {"reveal_window_blocks", opt_.tempo / 2},
                   {"verification_window_blocks", 6},
                   {"result_timeout_blocks", 30},
                   {"unbonding_blocks", 20}};
    IG_TRY_ASSIGN(nodes, write_testnet(t));
    validators_ = nodes;
    ::mkdir((opt_.home + "/logs").c_str(), 0700);
    IG_TRY_ASSIGN(w, wallet::Wallet::open(opt_.home + "/wallet"));
    for (const auto& m : kMiners) IG_TRY(w.create(m.name, opt_.password));
    IG_TRY(w.create("user", opt_.password));
    if (opt_.gateway_port) IG_TRY(w.create("gateway", opt_.password));
    say("created a devnet in " + opt_.home + ": " + std::to_string(nodes.size()) + " validator(s), tempo " +
        std::to_string(opt_.tempo) + " blocks of " + std::to_string(opt_.block_time_ms) + " ms");
    return {};
  }

  // Every validator with its verifier attached; node0's RPC is the devnet's entry point.
  Status start_validators() {
    for (const auto& v : validators_) {
      IG_TRY_ASSIGN(p, ChildProcess::spawn({self(), "start", "--home", v.home, "--verifier", opt_.model},
                                           opt_.home + "/logs/" + v.name + ".log"));
      node_procs_.push_back(std::move(p));
    }
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      for (auto& p : node_procs_)
        if (!p.running()) return fail("devnet.node", "a validator exited; see " + p.log_path());
      auto c = rpc::Client::connect(url_, 1s);
      if (c) {
        node_ = std::make_unique<rpc::Client>(std::move(*c));
        node_->set_timeout(30s);
        IG_TRY(wait_for_blocks());
        say(std::to_string(validators_.size()) + " validator(s) up, each with its verifier; JSON-RPC on " + url_ +
            " (logs: logs/node*.log)");
        return {};
      }
      std::this_thread::sleep_for(100ms);
    }
    return fail("devnet.node", "the validators did not start serving RPC; see " + opt_.home + "/logs/");
  }

  // The validators find each other and finalize a first block before anything is sent.
  Status wait_for_blocks() {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      IG_TRY(check_interrupt());
      auto head = node_->call("chain_head", json::array());
      if (head && head->value("height", uint64_t{0}) >= 2) return {};
      std::this_thread::sleep_for(200ms);
    }
    return fail("devnet.node", "no block finalized within 60 s; see " + opt_.home + "/logs/");
  }

  Status open_actors() {
    IG_TRY_ASSIGN(w, wallet::Wallet::open(opt_.home + "/wallet"));
    IG_TRY_ASSIGN(node0, wallet::Wallet::open(validators_.front().home + "/wallet"));
    for (const auto& v : validators_) report_.name(v.validator_account, v.name == "node0" ? "validator" : "validator-" + v.name.substr(4));
    auto open = [&](const std::string& name) -> Expected<Actor> {
      const wallet::Wallet& where = (name == "dev" || name == "validator") ? node0 : w;
      auto entry_or = where.find(name);
      if (!entry_or) return fail(entry_or.error());
      const auto& entry = *entry_or;
      auto key_or = where.unlock(entry, opt_.password);
      if (!key_or) return fail(key_or.error());
      const auto& key = *key_or;
      Actor a{name, chain::address_to_string(key.public_key()), std::make_unique<workers::TxSender>(url_, key)};
      report_.name(a.address, name);
      return a;
    };
    IG_TRY_ASSIGN(dev, open("dev"));
    dev_ = std::move(dev);
    IG_TRY_ASSIGN(validator, open("validator"));
    validator_ = std::move(validator);
    IG_TRY_ASSIGN(user, open("user"));
    user_ = std::move(user);
    for (const auto& m : kMiners) {
      IG_TRY_ASSIGN(a, open(m.name));
      miners_.push_back(DevnetMiner{m.name, a.address, m.cheats});
      miner_actors_.push_back(std::move(a));
    }
    return {};
  }

  Status send(Actor& a, const chain::Payload& p, const std::string& what) {
    IG_TRY(check_interrupt());
    IG_TRY_ASSIGN(sent, a.tx->send(p));
    IG_TRY_ASSIGN(receipt, a.tx->wait_receipt(sent.hash, 60s));
    if (receipt.value("status", "") != "ok")
      return fail("devnet.tx", what + " failed: " + receipt.value("status", "?") + " " + receipt.value("error", ""));
    return {};
  }

  Status register_model_and_miners() {
    IG_TRY_ASSIGN(id, workers::file_sha256(opt_.model));
    model_id_ = id;
    chain::RegisterModel rm;
    rm.model_id = id;
    rm.name = fs::path(opt_.model).stem().string();
    rm.architecture = "llama";
    rm.price_per_token = kPricePerToken;
    rm.context_limit = 512;
    IG_TRY(send(validator_, rm, "registering the model"));
    say("model " + rm.name + " registered: id " + chain::to_hex(id).substr(0, 16) + "…, " +
        std::to_string(kPricePerToken) + " per token");
    for (auto& a : miner_actors_) IG_TRY(send(dev_, chain::Transfer{chain::address_from_string(a.address).value(), kMinerFunds, ""}, "funding " + a.name));
    IG_TRY(send(dev_, chain::Transfer{chain::address_from_string(user_.address).value(), kUserFunds, ""}, "funding the user"));
    for (size_t i = 0; i < miner_actors_.size(); ++i) {
      Actor& a = miner_actors_[i];
      IG_TRY(send(a, chain::Stake{chain::StakeRole::kMiner, kMinerStake}, a.name + " staking"));
      chain::RegisterMiner reg;
      reg.profile.gpu_class = "cpu";
      reg.profile.memory_mb = kMiners[i].memory_mb;
      reg.profile.max_concurrent = kMiners[i].max_concurrent;
      reg.profile.models = {id};
      IG_TRY(send(a, reg, a.name + " registering"));
      say(a.name + " " + a.address.substr(0, 14) + "… staked " + std::to_string(kMinerStake) + ", serves " +
          std::to_string(kMiners[i].max_concurrent) + " task(s) at a time" + (kMiners[i].cheats ? "  [CHEATS: test option]" : ""));
    }
    return {};
  }

  Status start_miners() {
    for (size_t i = 0; i < miner_actors_.size(); ++i) {
      const Actor& a = miner_actors_[i];
      std::vector<std::string> argv = {self(), "worker", "--role", "miner", "--node", url_, "--account", a.name,
                                       "--wallet-dir", opt_.home + "/wallet", "--model", opt_.model, "--state-dir",
                                       opt_.home + "/workers/" + a.name};
      if (kMiners[i].cheats) argv.insert(argv.end(), {"--cheat", "token", "--cheat-rate", "1"});
      if (opt_.worker_metrics_port)
        argv.insert(argv.end(), {"--metrics-listen", "127.0.0.1:" + std::to_string(opt_.worker_metrics_port + i)});
      ::mkdir((opt_.home + "/workers").c_str(), 0700);
      IG_TRY_ASSIGN(p, ChildProcess::spawn(argv, opt_.home + "/logs/" + a.name + ".log"));
      worker_procs_.push_back(std::move(p));
    }
    // The workers log once they serve; give them a moment before the first assignment.
    std::this_thread::sleep_for(1500ms);
    for (auto& w : worker_procs_)
      if (!w.running()) return fail("devnet.worker", "a miner exited at start; see " + w.log_path());
    say("3 miner workers running (logs: logs/miner-a.log, logs/miner-b.log, logs/cheater.log)");
    return {};
  }

  // The OpenAI-compatible gateway as its own process, paying from a funded "gateway" account
  // (docs/gateway.md); it reads the model file for its tokenizer (usage.prompt_tokens).
  Status start_gateway() {
    if (!opt_.gateway_port) return {};
    IG_TRY_ASSIGN(w, wallet::Wallet::open(opt_.home + "/wallet"));
    IG_TRY_ASSIGN(entry, w.find("gateway"));
    IG_TRY_ASSIGN(key, w.unlock(entry, opt_.password));
    gateway_address_ = chain::address_to_string(key.public_key());
    report_.name(gateway_address_, "gateway");
    IG_TRY(send(dev_, chain::Transfer{key.public_key(), kUserFunds, ""}, "funding the gateway"));
    const std::string listen = "127.0.0.1:" + std::to_string(opt_.gateway_port);
    IG_TRY_ASSIGN(p, ChildProcess::spawn({self(), "gateway", "--node", url_, "--account", "gateway", "--wallet-dir",
                                          opt_.home + "/wallet", "--model", opt_.model, "--listen", listen},
                                         opt_.home + "/logs/gateway.log"));
    worker_procs_.push_back(std::move(p));
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      IG_TRY(check_interrupt());
      if (!worker_procs_.back().running()) return fail("devnet.gateway", "the gateway exited; see " + opt_.home + "/logs/gateway.log");
      auto r = rpc::http_request("GET", "http://" + listen + "/health", "", 2s);
      if (r && r->status == 200) {
        say("gateway " + gateway_address_.substr(0, 14) + "… funded; OpenAI API on http://" + listen + "/v1 (logs/gateway.log)");
        print_urls();
        return {};
      }
      std::this_thread::sleep_for(200ms);
    }
    return fail("devnet.gateway", "the gateway did not answer on " + listen + "; see " + opt_.home + "/logs/gateway.log");
  }

  void print_urls() const {
    const std::string node = "http://127.0.0.1:" + std::to_string(opt_.port);
    say("explorer: " + node + "/explorer   metrics: " + node + "/metrics");
    if (!opt_.gateway_port) return;
    const std::string gw = "http://127.0.0.1:" + std::to_string(opt_.gateway_port);
    const std::string model = fs::path(opt_.model).stem().string();
    say("gateway:  " + gw + "/v1   (OpenAI API, e.g. OPENAI_BASE_URL=" + gw + "/v1)");
    std::cout << "   curl -s " << gw << "/v1/completions -H 'Content-Type: application/json' \\\n"
              << "        -d '{\"model\": \"" << model
              << "\", \"prompt\": \"Once upon a time\", \"max_tokens\": 24, \"temperature\": 0}'" << std::endl;
  }

  Status transfer_demo() {
    IG_TRY(send(dev_, chain::Transfer{chain::address_from_string(user_.address).value(), 1'000, "hello"}, "transfer"));
    say("transfer demo: dev sent 1000 to user");
    return {};
  }

  Status submit_tasks() {
    say("user submits " + std::to_string(opt_.tasks) + " tasks");
    std::vector<std::pair<std::string, chain::SubmitTask>> sent_tasks;
    for (unsigned i = 0; i < opt_.tasks; ++i) {
      chain::SubmitTask t;
      t.model_id = model_id_;
      t.prompt = kPrompts[i % std::size(kPrompts)];
      t.params.max_tokens = opt_.max_tokens;
      if (i % 2 == 1) {  // every other task sampled
        t.params.temperature_milli = 800;
        t.params.top_k = 40;
        t.params.top_p_milli = 950;
        t.params.seed = 1000 + i;
      }
      t.max_fee = kPricePerToken * opt_.max_tokens;
      IG_TRY(check_interrupt());
      IG_TRY_ASSIGN(sent, user_.tx->send(t));
      sent_tasks.emplace_back(sent.hash, t);
    }
    for (const auto& [hash, t] : sent_tasks) {
      IG_TRY_ASSIGN(receipt, user_.tx->wait_receipt(hash, 60s));
      std::optional<uint64_t> id;
      if (receipt.contains("events") && receipt["events"].is_array())
        for (const auto& e : receipt["events"])
          if (e.value("type", "") == "task_submitted") {
            auto v = json_uint(e.value("attributes", json::object()), "task", "task_submitted");
            if (v) id = *v;
          }
      if (!id) return fail("devnet.task", "task submission gave no task id: " + receipt.dump());
      report_.add_task(*id, t.prompt, t.params.temperature_milli > 0);
    }
    return {};
  }

  // Prints the loop as it happens until every task is final and `epochs` epochs have paid
  // miner incentive (or a generous limit passes).
  Status subscribe() {
    IG_TRY_ASSIGN(c, rpc::Client::connect(url_, 10s));
    events_ = std::make_unique<rpc::Client>(std::move(c));
    IG_TRY(events_->subscribe("events").has_value() ? Status{} : fail("devnet.follow", "cannot subscribe to events"));
    IG_TRY(events_->subscribe("newHeads").has_value() ? Status{} : fail("devnet.follow", "cannot subscribe to heads"));
    return {};
  }

  Status follow() {
    rpc::Client& events = *events_;
    const auto limit = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.block_time_ms * opt_.tempo * 20) + 120s;
    while (std::chrono::steady_clock::now() < limit) {
      IG_TRY(check_interrupt());
      auto n = events.next_notification(1s);
      if (!n) {
        if (n.error().code == "rpc.timeout") continue;
        return fail("devnet.follow", "lost the node: " + n.error().message);
      }
      const json result = n->value("result", json::object());
      if (n->value("topic", "") == "newHeads") {
        auto h = json_uint(result, "height", "newHeads");
        if (h) IG_TRY(report_.check_supply(*node_, *h));
        if (h && (*h + 1) % opt_.tempo == 1) IG_TRY(report_.record_epoch(*node_));  // the block after a boundary
        if (report_.done(opt_.epochs)) return {};
        continue;
      }
      report_.on_event(result);
    }
    say("time limit reached; summarizing what happened so far");
    return {};
  }

  // --- helpers ------------------------------------------------------------------------
  std::string self() const { return executable_dir() + "/infergridd"; }

  static void say(const std::string& line) { std::cout << "== " << line << std::endl; }

  DevnetOptions opt_;
  std::string url_;
  Hash32 model_id_{};
  std::vector<TestnetNode> validators_;
  std::vector<ChildProcess> node_procs_;
  std::vector<ChildProcess> worker_procs_;
  std::unique_ptr<rpc::Client> node_;
  std::unique_ptr<rpc::Client> events_;
  Actor dev_, validator_, user_;
  std::vector<Actor> miner_actors_;
  std::vector<DevnetMiner> miners_;
  std::string gateway_address_;
  DevnetReport report_;
};

}  // namespace

Status run_devnet(const DevnetOptions& options) {
  if (options.validators == 0 || options.validators > 16) return fail("devnet.validators", "--validators must be within 1..16");
  if (options.model.empty()) return fail("devnet.model", "--model FILE (a GGUF) is required");
  if (options.tasks == 0 || options.tasks > 1000) return fail("devnet.tasks", "--tasks must be within 1..1000");
  if (options.tempo < 6) return fail("devnet.tempo", "--tempo must be at least 6 blocks");
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  Devnet d(options);
  Status st = d.run();
  if (!st) d.stop_all();
  return st;
}

}  // namespace ig::node
