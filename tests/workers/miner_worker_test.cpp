// A MinerWorker against a stand-in node: an rpc::Server on 127.0.0.1 that answers the methods
// the miner calls, publishes the events the chain would, and records what the miner sends.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "chain/address.hpp"
#include "chain/tx.hpp"
#include "rpc/rpc.hpp"
#include "workers/miner.hpp"
#include "workers/model_catalog.hpp"

namespace ig::workers {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using json = rpc::json;

// Random weights and a 4096-token context: a long generation that does not stop on its own.
const std::string kModel = std::string(INFERGRID_SHARED_DATA) + "/models/llama-2-tiny-random.gguf";

template <typename Cond>
bool eventually(Cond cond, std::chrono::milliseconds limit = 20s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

class MinerStandInNode {
 public:
  MinerStandInNode(std::string miner, std::string model_id) : miner_(std::move(miner)), model_id_(std::move(model_id)) {
    rpc::ServerConfig c;
    c.port = 0;
    c.threads = 2;
    // Small, so that a burst of notifications drops the miner's subscription link (drop_link).
    c.max_queued_notifications = 4;
    server_ = std::make_unique<rpc::Server>(c);
    auto add = [&](const std::string& name, std::function<json(const json&)> f) {
      ASSERT_TRUE(server_->add_method(name, [f](const json& p) -> rpc::MethodResult { return f(p); }));
    };
    add("node_info", [](const json&) { return json{{"chain_id", "stand-in"}}; });
    add("chain_params", [](const json&) { return json{{"fee", {{"base", 0}, {"per_byte", 0}}}}; });
    add("chain_head", [](const json&) { return json{{"height", 5}}; });
    add("registry_miner", [this](const json&) {
      return json{{"uid", 1}, {"max_concurrent", 1}, {"models", json::array({model_id_})}};
    });
    add("task_assigned", [this](const json& p) {
      std::lock_guard l(mu_);
      json out = json::array();
      if (p.at(1).get<uint64_t>() <= 1)  // one page: the first
        for (const auto& [id, t] : tasks_)
          if (t.value("status", "") == "assigned" && t.value("miner", "") == miner_) out.push_back(t);
      ++listings_;
      return out;
    });
    add("state_getAccount", [this](const json&) {
      std::lock_guard l(mu_);
      return json{{"next_nonce", sent_.size()}};
    });
    add("task_get", [this](const json& p) {
      std::lock_guard l(mu_);
      return tasks_.at(p.at(0).get<uint64_t>());
    });
    add("tx_send", [this](const json& p) {
      auto tx = chain::decode_tx(*chain::from_hex(p.at(0).get<std::string>()));
      std::lock_guard l(mu_);
      sent_.push_back(tx->body.payload);
      return json{{"hash", chain::to_hex(chain::tx_hash(*tx))}};
    });
    auto st = server_->start();
    EXPECT_TRUE(st) << st.error().to_string();
  }
  ~MinerStandInNode() { server_->stop(); }

  std::string url() const { return "ws://127.0.0.1:" + std::to_string(server_->port()); }
  bool ready() const { return listings_ >= 1; }
  uint64_t listings() const { return listings_.load(); }

  // Task `id`, assigned to the miner with a result due by height 25, and its task_assigned event.
  void assign(uint64_t id, uint32_t max_tokens) {
    {
      std::lock_guard l(mu_);
      tasks_[id] = json{{"id", id},
                        {"status", "assigned"},
                        {"user", miner_},
                        {"model_id", model_id_},
                        {"prompt", "Once upon a time"},
                        {"params", {{"max_tokens", max_tokens}, {"temperature_milli", 0}, {"top_k", 0}, {"top_p_milli", 1000}, {"seed", 0}}},
                        {"miner", miner_},
                        {"assigned_height", 5},
                        {"deadline", 25}};
    }
    event("task_assigned", id);
  }
  // The deadline passed: the chain takes the task back (pending again, for another miner).
  void time_out(uint64_t id) {
    {
      std::lock_guard l(mu_);
      json& t = tasks_[id];
      t["status"] = "pending";
      t.erase("miner");
    }
    event("task_timeout", id);
  }
  // The same, with the event lost (the miner's link was down when it was published).
  void time_out_silently(uint64_t id) {
    std::lock_guard l(mu_);
    json& t = tasks_[id];
    t["status"] = "pending";
    t.erase("miner");
  }
  // Drops the miner's WebSocket that holds its subscriptions: bursts of notifications for a task
  // it never had overflow its queue (the server closes a subscriber that falls behind), until it
  // has reconnected and listed its assignments again. False when it did not within `limit`.
  bool drop_link(std::chrono::milliseconds limit = 10s) {
    const uint64_t before = listings_;
    const auto until = std::chrono::steady_clock::now() + limit;
    while (listings_ == before) {
      if (std::chrono::steady_clock::now() > until) return false;
      for (int i = 0; i < 64; ++i) event("task_timeout", 999);
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }
  size_t results_sent() {
    std::lock_guard l(mu_);
    size_t n = 0;
    for (const auto& p : sent_) n += std::holds_alternative<chain::SubmitResult>(p);
    return n;
  }

 private:
  void event(const std::string& type, uint64_t id) {
    server_->publish("events", json{{"type", type},
                                    {"height", 6},
                                    {"tx_hash", nullptr},
                                    {"attributes", {{"task", std::to_string(id)}, {"miner", miner_}}},
                                    {"accounts", json::array({miner_})},
                                    {"task", std::to_string(id)}});
  }

  std::string miner_, model_id_;
  std::unique_ptr<rpc::Server> server_;
  std::mutex mu_;
  std::map<uint64_t, json> tasks_;
  std::vector<chain::Payload> sent_;
  std::atomic<uint64_t> listings_{0};  // task_assigned calls (the miner's catch-ups)
};

// A task whose deadline passes while it is being generated (task_timeout: the chain gives it to
// another miner) is given up at once: its generation stops, its job slot frees, and no result
// is signed or sent (the chain would refuse it as tasks.not_assigned and keep its fee).
TEST(MinerWorker, ATaskTakenBackWhileGeneratedStopsAndIsNotSubmitted) {
  auto catalog = ModelCatalog::load({kModel});
  ASSERT_TRUE(catalog) << catalog.error().to_string();
  const chain::SecretKey key = chain::SecretKey::generate();
  const std::string address = chain::address_to_string(key.public_key());
  std::string dir = (fs::temp_directory_path() / "ig-miner-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);

  MinerStandInNode node(address, catalog->ids_hex().front());
  MinerOptions o;
  o.node_url = node.url();
  o.key = key;
  o.model_paths = {kModel};
  o.state_dir = dir + "/state";
  auto miner = MinerWorker::create(o);
  ASSERT_TRUE(miner) << miner.error().to_string();
  ASSERT_TRUE((*miner)->start());
  ASSERT_TRUE(eventually([&] { return node.ready(); }));

  constexpr uint32_t kMaxTokens = 4000;  // about a second of decoding on one core
  node.assign(1, kMaxTokens);
  ASSERT_TRUE(eventually([&] { return (*miner)->stats().decode_steps >= 1; })) << "generation did not start";
  node.time_out(1);
  ASSERT_TRUE(eventually([&] {
    const auto s = (*miner)->stats();
    return s.failed + s.submitted >= 1;
  }));
  const MinerStats s = (*miner)->stats();
  EXPECT_EQ(s.submitted, 0u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(node.results_sent(), 0u);
  // Stopped when the timeout came, not at max_tokens (one forward pass per token).
  EXPECT_LT(s.decode_steps, kMaxTokens);
  EXPECT_EQ(s.queue_depth, 0u);

  // The slot is free: the next task is served and submitted.
  node.assign(2, 8);
  EXPECT_TRUE(eventually([&] { return (*miner)->stats().submitted == 1; }));
  EXPECT_EQ(node.results_sent(), 1u);
  (*miner)->stop();
  miner->reset();
  fs::remove_all(dir);
}

// The same task_timeout, missed while the miner's link to the node was down: the catch-up
// after the reconnect lists the miner's open assignments, and a task being served that is no
// longer among them stops as if the event had come (not only at the check before signing).
TEST(MinerWorker, ATaskTakenBackWhileTheLinkWasDownStopsAtTheCatchUp) {
  auto catalog = ModelCatalog::load({kModel});
  ASSERT_TRUE(catalog) << catalog.error().to_string();
  const chain::SecretKey key = chain::SecretKey::generate();
  const std::string address = chain::address_to_string(key.public_key());
  std::string dir = (fs::temp_directory_path() / "ig-miner-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);

  MinerStandInNode node(address, catalog->ids_hex().front());
  MinerOptions o;
  o.node_url = node.url();
  o.key = key;
  o.model_paths = {kModel};
  o.state_dir = dir + "/state";
  auto miner = MinerWorker::create(o);
  ASSERT_TRUE(miner) << miner.error().to_string();
  ASSERT_TRUE((*miner)->start());
  ASSERT_TRUE(eventually([&] { return node.ready(); }));

  constexpr uint32_t kMaxTokens = 4000;
  node.assign(1, kMaxTokens);
  ASSERT_TRUE(eventually([&] { return (*miner)->stats().decode_steps >= 1; })) << "generation did not start";
  node.time_out_silently(1);       // no task_timeout reaches the miner
  ASSERT_TRUE(node.drop_link());   // it reconnects and lists its assignments: task 1 is not among them
  ASSERT_TRUE(eventually([&] {
    const auto s = (*miner)->stats();
    return s.failed + s.submitted >= 1;
  }));
  const MinerStats s = (*miner)->stats();
  EXPECT_EQ(s.submitted, 0u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(node.results_sent(), 0u);
  // Stopped at the catch-up, not at max_tokens (one forward pass per token).
  EXPECT_LT(s.decode_steps, kMaxTokens);

  // A task still assigned is not stopped by a catch-up: another reconnect while it is served.
  node.assign(2, 1000);
  ASSERT_TRUE(eventually([&] { return (*miner)->stats().decode_steps > s.decode_steps; }));
  ASSERT_TRUE(node.drop_link());
  EXPECT_TRUE(eventually([&] { return (*miner)->stats().submitted == 1; }));
  EXPECT_EQ(node.results_sent(), 1u);
  (*miner)->stop();
  miner->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ig::workers
