// A MinerWorker against a stand-in node: an rpc::Server on 127.0.0.1 that answers the methods
// the miner calls, publishes the events the chain would, and records what the miner sends.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "chain/address.hpp"
#include "chain/tx.hpp"
#include "tests/workers/stand_in.hpp"
#include "workers/miner.hpp"
#include "workers/model_catalog.hpp"

namespace ig::workers {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::json;

// Random weights and a 4096-token context: a long generation that does not stop on its own.
const std::string kModel = std::string(INFERGRID_SHARED_DATA) + "/models/llama-2-tiny-random.gguf";

class MinerStandInNode {
 public:
  // A small notification queue, so that a burst of notifications drops the miner's
  // subscription link (drop_link).
  MinerStandInNode(std::string miner, std::string model_id)
      : miner_(std::move(miner)), model_id_(std::move(model_id)), server_(2, /*max_queued_notifications=*/4) {
    auto add = [&](const std::string& name, std::function<json(const json&)> f) { server_.add(name, std::move(f)); };
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
    server_.start();
  }
  ~MinerStandInNode() { server_.stop(); }

  std::string url() const { return server_.url(); }
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
    time_out_silently(id);
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
    server_.server().publish("events", json{{"type", type},
                                    {"height", 6},
                                    {"tx_hash", nullptr},
                                    {"attributes", {{"task", std::to_string(id)}, {"miner", miner_}}},
                                    {"accounts", json::array({miner_})},
                                    {"task", std::to_string(id)}});
  }

  std::string miner_, model_id_;
  testing::StandInServer server_;
  std::mutex mu_;
  std::map<uint64_t, json> tasks_;
  std::vector<chain::Payload> sent_;
  std::atomic<uint64_t> listings_{0};  // task_assigned calls (the miner's catch-ups)
};

// A miner with its own key and state directory, started against a stand-in node that serves
// the bundled random model, and caught up (it has listed its assignments).
struct RunningMiner {
  testing::TempDir dir{"ig-miner"};
  std::unique_ptr<MinerStandInNode> node;
  std::unique_ptr<MinerWorker> miner;

  void start() {
    auto catalog = ModelCatalog::load({kModel});
    ASSERT_TRUE(catalog) << catalog.error().to_string();
    const chain::SecretKey key = chain::SecretKey::generate();
    node = std::make_unique<MinerStandInNode>(chain::address_to_string(key.public_key()), catalog->ids_hex().front());
    MinerOptions o;
    o.node_url = node->url();
    o.key = key;
    o.model_paths = {kModel};
    o.state_dir = dir.path() + "/state";
    auto m = MinerWorker::create(o);
    ASSERT_TRUE(m) << m.error().to_string();
    miner = std::move(*m);
    ASSERT_TRUE(miner->start());
    ASSERT_TRUE(eventually([&] { return node->ready(); }));
  }
  ~RunningMiner() {
    if (miner) miner->stop();
  }
};

// Waits for the miner's first task to end and checks that it was given up, nothing sent, before
// max_tokens steps (one forward pass per token); the stats then.
MinerStats expect_given_up_unsent(MinerWorker& miner, MinerStandInNode& node, uint32_t max_tokens) {
  EXPECT_TRUE(eventually([&] {
    const auto s = miner.stats();
    return s.failed + s.submitted >= 1;
  }));
  const MinerStats s = miner.stats();
  EXPECT_EQ(s.submitted, 0u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(node.results_sent(), 0u);
  EXPECT_LT(s.decode_steps, max_tokens);
  return s;
}

// A task whose deadline passes while it is being generated (task_timeout: the chain gives it to
// another miner) is given up at once: its generation stops, its job slot frees, and no result
// is signed or sent (the chain would refuse it as tasks.not_assigned and keep its fee).
TEST(MinerWorker, ATaskTakenBackWhileGeneratedStopsAndIsNotSubmitted) {
  RunningMiner rig;
  ASSERT_NO_FATAL_FAILURE(rig.start());
  MinerStandInNode& node = *rig.node;
  MinerWorker& miner = *rig.miner;

  constexpr uint32_t kMaxTokens = 4000;  // about a second of decoding on one core
  node.assign(1, kMaxTokens);
  ASSERT_TRUE(eventually([&] { return miner.stats().decode_steps >= 1; })) << "generation did not start";
  node.time_out(1);
  const MinerStats s = expect_given_up_unsent(miner, node, kMaxTokens);  // when the timeout came
  EXPECT_EQ(s.queue_depth, 0u);

  // The slot is free: the next task is served and submitted.
  node.assign(2, 8);
  EXPECT_TRUE(eventually([&] { return miner.stats().submitted == 1; }));
  EXPECT_EQ(node.results_sent(), 1u);
}

// The same task_timeout, missed while the miner's link to the node was down: the catch-up
// after the reconnect lists the miner's open assignments, and a task being served that is no
// longer among them stops as if the event had come (not only at the check before signing).
TEST(MinerWorker, ATaskTakenBackWhileTheLinkWasDownStopsAtTheCatchUp) {
  RunningMiner rig;
  ASSERT_NO_FATAL_FAILURE(rig.start());
  MinerStandInNode& node = *rig.node;
  MinerWorker& miner = *rig.miner;

  constexpr uint32_t kMaxTokens = 4000;
  node.assign(1, kMaxTokens);
  ASSERT_TRUE(eventually([&] { return miner.stats().decode_steps >= 1; })) << "generation did not start";
  node.time_out_silently(1);       // no task_timeout reaches the miner
  ASSERT_TRUE(node.drop_link());   // it reconnects and lists its assignments: task 1 is not among them
  const MinerStats s = expect_given_up_unsent(miner, node, kMaxTokens);  // at the catch-up

  // A task still assigned is not stopped by a catch-up: another reconnect while it is served.
  node.assign(2, 1000);
  ASSERT_TRUE(eventually([&] { return miner.stats().decode_steps > s.decode_steps; }));
  ASSERT_TRUE(node.drop_link());
  EXPECT_TRUE(eventually([&] { return miner.stats().submitted == 1; }));
  EXPECT_EQ(node.results_sent(), 1u);
}

}  // namespace
}  // namespace ig::workers
