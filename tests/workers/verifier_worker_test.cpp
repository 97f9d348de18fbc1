// A VerifierWorker against a stand-in node: an rpc::Server on 127.0.0.1 that answers the
// methods the verifier calls with tasks whose results the bundled model really produced, and
// whose tx_send can hold a transaction back to order what the worker's two threads do.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "chain/address.hpp"
#include "chain/tx.hpp"
#include "inference/receipt/result.hpp"
#include "tests/workers/stand_in.hpp"
#include "wallet/weights_file.hpp"
#include "workers/model_catalog.hpp"
#include "workers/verifier.hpp"

namespace ig::workers {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::eventually;
using testing::json;

const std::string kModel = std::string(INFERGRID_SHARED_DATA) + "/models/stories260K.gguf";

// The node side: tasks with real results, and a hook tx_send runs before it answers.
class StandInNode {
 public:
  explicit StandInNode(std::string validator)
      : validator_(std::move(validator)), server_(4) {  // a held tx_send occupies one thread
    auto add = [&](const std::string& name, std::function<json(const json&)> f) { server_.add(name, std::move(f)); };
    add("staking_validators", [this](const json&) { return json::array({{{"account", validator_}, {"active", true}}}); });
    add("contracts_params", [](const json&) { return json{{"tempo", 10}, {"reveal_window_blocks", 2}}; });
    add("chain_getBlock", [](const json&) { return json{{"hash", std::string(64, '0')}}; });
    add("registry_miner", [](const json&) { return json{{"uid", 1}}; });
    add("task_awaitingVerdict", [this](const json&) {
      caught_up_ = true;
      return json::array();
    });
    add("state_getAccount", [this](const json&) {
      std::lock_guard l(mu_);
      return json{{"next_nonce", nonce_}};
    });
    add("task_get", [this](const json& p) {
      std::lock_guard l(mu_);
      return tasks_.at(p.at(0).get<uint64_t>());
    });
    add("chain_getTx", [this](const json& p) {
      std::function<void(const std::string&)> hook;
      json out;
      {
        std::lock_guard l(mu_);
        out = json{{"raw", raw_.at(p.at(0).get<std::string>())}};
        hook = fetch_hook_;
      }
      if (hook) hook(p.at(0).get<std::string>());
      return out;
    });
    add("tx_send", [this](const json& p) {
      auto bytes = chain::from_hex(p.at(0).get<std::string>());
      auto tx = chain::decode_tx(*bytes);
      std::function<void(const chain::Transaction&)> hook;
      {
        std::lock_guard l(mu_);
        ++nonce_;
        hook = hook_;
      }
      if (hook) hook(*tx);
      return json{{"hash", chain::to_hex(chain::tx_hash(*tx))}};
    });
    server_.start();
  }
  ~StandInNode() { server_.stop(); }

  std::string url() const { return server_.url(); }
  bool ready() { return caught_up_ && server_.server().has_subscribers("newHeads"); }
  void on_tx(std::function<void(const chain::Transaction&)> hook) {
    std::lock_guard l(mu_);
    hook_ = std::move(hook);
  }
  // Runs when the verifier fetches a result transaction (its check has begun), before the reply.
  void on_fetch(std::function<void(const std::string&)> hook) {
    std::lock_guard l(mu_);
    fetch_hook_ = std::move(hook);
  }
  void set_status(uint64_t id, const std::string& status) {
    std::lock_guard l(mu_);
    tasks_.at(id)["status"] = status;
  }
  std::string result_tx(uint64_t id) {
    std::lock_guard l(mu_);
    return tasks_.at(id)["result"]["tx_hash"].get<std::string>();
  }
  rpc::Server& server() { return server_.server(); }

  // A task whose result the miner `miner` computed on `model`, and its task_result event.
  void add_result(uint64_t id, const CatalogModel& model, const std::string& miner) {
    SamplingParams params;
    params.max_tokens = 8;
    const std::string prompt = "Once upon a time";
    auto backend = kernels::make_backend({kernels::BackendKind::Cpu, 1});
    ASSERT_TRUE(backend);
    auto r = receipt::run_task(*model.model, model.id, **backend, prompt, params);
    ASSERT_TRUE(r) << r.error().to_string();
    chain::Transaction tx;
    tx.body.chain_id = "stand-in";
    tx.body.sender = *chain::address_from_string(miner);
    tx.body.payload = chain::SubmitResult{id, r->output, r->fingerprints, r->text, r->receipt};
    const std::string hash = chain::to_hex(chain::tx_hash(tx));
    {
      std::lock_guard l(mu_);
      raw_[hash] = chain::to_hex(chain::encode_tx(tx));
      tasks_[id] = json{{"id", id},
                        {"status", "submitted"},
                        {"user", miner},
                        {"model_id", model.id_hex},
                        {"prompt", prompt},
                        {"params", {{"max_tokens", params.max_tokens},
                                    {"temperature_milli", params.temperature_milli},
                                    {"top_k", params.top_k},
                                    {"top_p_milli", params.top_p_milli},
                                    {"seed", params.seed}}},
                        {"miner", miner},
                        {"assigned_height", 2},
                        {"deadline", 100},
                        {"result", {{"height", 3}, {"tx_hash", hash}}}};
    }
    server_.server().publish("events", json{{"type", "task_result"},
                                    {"height", 3},
                                    {"tx_hash", hash},
                                    {"attributes", {{"task", std::to_string(id)}, {"miner", miner}}}});
  }

 private:
  std::string validator_;
  testing::StandInServer server_;
  std::mutex mu_;
  uint64_t nonce_ = 0;
  std::map<uint64_t, json> tasks_;
  std::map<std::string, std::string> raw_;
  std::function<void(const chain::Transaction&)> hook_;
  std::function<void(const std::string&)> fetch_hook_;
  std::atomic<bool> caught_up_{false};
};

// A verifier with its own key and state directory, started against a stand-in node (`before`
// runs on the node first) and caught up; `miner` is an account whose results it can be given.
struct RunningVerifier {
  testing::TempDir dir{"ig-verifier"};
  std::optional<ModelCatalog> catalog;
  chain::SecretKey key = chain::SecretKey::generate();
  std::string miner = chain::address_to_string(chain::SecretKey::generate().public_key());
  VerifierOptions options;
  std::unique_ptr<StandInNode> node;
  std::unique_ptr<VerifierWorker> worker;

  void start(const std::function<void(StandInNode&)>& before = nullptr) {
    auto c = ModelCatalog::load({kModel});
    ASSERT_TRUE(c) << c.error().to_string();
    catalog.emplace(std::move(*c));
    node = std::make_unique<StandInNode>(chain::address_to_string(key.public_key()));
    if (before) before(*node);
    options.node_url = node->url();
    options.key = key;
    options.model_paths = {kModel};
    options.state_dir = dir.path() + "/state";
    auto w = VerifierWorker::create(options);
    ASSERT_TRUE(w) << w.error().to_string();
    worker = std::move(*w);
    ASSERT_TRUE(worker->start());
    ASSERT_TRUE(eventually([&] { return node->ready(); }));
  }
  const CatalogModel& model() const { return *catalog->find(catalog->ids_hex().front()); }
  ~RunningVerifier() {
    if (worker) worker->stop();  // before the hooks' captures go
    if (node) {
      node->on_tx(nullptr);
      node->on_fetch(nullptr);
    }
  }
};

// The weight commit counts the tallies it read; the window that starts with it must keep what
// the check thread tallied while the commit was being signed and sent. Here a verdict is
// answered only once the commit has read the tallies (its secret is saved), and the commit only
// once that verdict is tallied: the tally of task 2 falls between the two, as it may when a
// check finishes during a commit.
TEST(VerifierWorker, ATallyMadeWhileWeightsAreCommittedCountsInTheNextWindow) {
  RunningVerifier rig;
  ASSERT_NO_FATAL_FAILURE(rig.start());
  StandInNode& node = *rig.node;
  VerifierWorker& worker = *rig.worker;
  const CatalogModel& model = rig.model();
  const VerifierOptions& o = rig.options;
  const chain::SecretKey& key = rig.key;
  const std::string& miner = rig.miner;

  // Task 1 is checked and tallied before any commit.
  node.add_result(1, model, miner);
  ASSERT_TRUE(eventually([&] { return worker.stats().accepted == 1; }));

  const std::string secret = wallet::weights_secret_path(o.state_dir + "/secrets", key.public_key(), 0);
  node.on_tx([&](const chain::Transaction& tx) {
    if (auto* v = std::get_if<chain::Verdict>(&tx.body.payload); v && v->task_id == 2) {
      // Height 5 of a 10-block epoch: the verifier commits epoch 0's weights from its tallies.
      node.server().publish("newHeads", json{{"height", 5}});
      EXPECT_TRUE(eventually([&] { return fs::exists(secret); })) << "no commit began";
    } else if (std::holds_alternative<chain::CommitWeights>(tx.body.payload)) {
      EXPECT_TRUE(eventually([&] { return worker.stats().accepted == 2; })) << "task 2 was not tallied";
    }
  });
  node.add_result(2, model, miner);
  ASSERT_TRUE(eventually([&] {
    const auto s = worker.stats();
    return s.accepted == 2 && s.commits == 1;
  }));
  worker.stop();

  std::ifstream in(o.state_dir + "/verifier-journal.json");
  const json journal = json::parse(in);
  EXPECT_EQ(journal["committed"], json::array({0}));
  // Task 1 went into epoch 0's weights; task 2, tallied after they were read, waits for epoch 1's.
  ASSERT_TRUE(journal["tallies"].contains("1")) << journal["tallies"].dump();
  EXPECT_EQ(journal["tallies"]["1"]["verified"], 1) << journal["tallies"].dump();
}

// A task whose verdict window closes while it is checked (here: it settles as soon as the
// verifier has fetched its result) gets no verdict: the chain would refuse it as
// tasks.not_in_window and keep its fee. A task still awaiting verdicts gets one as before.
TEST(VerifierWorker, NoVerdictIsSentForATaskWhoseWindowClosedDuringTheCheck) {
  std::mutex mu;
  std::vector<uint64_t> verdicts;  // task ids of the verdicts sent
  RunningVerifier rig;
  ASSERT_NO_FATAL_FAILURE(rig.start([&](StandInNode& n) {
    n.on_tx([&](const chain::Transaction& tx) {
      if (auto* v = std::get_if<chain::Verdict>(&tx.body.payload)) {
        std::lock_guard l(mu);
        verdicts.push_back(v->task_id);
      }
    });
  }));
  StandInNode& node = *rig.node;
  VerifierWorker& worker = *rig.worker;
  const CatalogModel& model = rig.model();
  const VerifierOptions& o = rig.options;
  const std::string& miner = rig.miner;

  // Task 1 settles (its window_end block ends) once its check has begun.
  node.on_fetch([&](const std::string& hash) {
    if (hash == node.result_tx(1)) node.set_status(1, "settled");
  });
  node.add_result(1, model, miner);
  ASSERT_TRUE(eventually([&] {
    const auto s = worker.stats();
    return s.accepted + s.rejected + s.too_late >= 1;
  }));
  {
    const auto s = worker.stats();
    EXPECT_EQ(s.too_late, 1u);
    EXPECT_EQ(s.accepted + s.rejected, 0u);
  }

  node.add_result(2, model, miner);
  ASSERT_TRUE(eventually([&] { return worker.stats().accepted == 1; }));
  worker.stop();
  {
    std::lock_guard l(mu);
    EXPECT_EQ(verdicts, std::vector<uint64_t>({2}));
  }
  std::ifstream in(o.state_dir + "/verifier-journal.json");
  const json journal = json::parse(in);
  EXPECT_EQ(journal["judged"]["1"], json({{"skipped", "window_closed"}})) << journal["judged"].dump();
}

}  // namespace
}  // namespace ig::workers
