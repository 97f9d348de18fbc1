// NodeChain against a stand-in node: an rpc::Server on 127.0.0.1 that answers the methods the
// gateway's chain calls, publishes the events the chain would, and can hold a tx_send.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "chain/address.hpp"
#include "chain/tx.hpp"
#include "gateway/node_chain.hpp"
#include "rpc/rpc.hpp"

namespace ig::gateway {
namespace {

using namespace std::chrono_literals;
using json = rpc::json;

template <typename Cond>
bool eventually(Cond cond, std::chrono::milliseconds limit = 10s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// A client leaves (abandon) while its SubmitTask is being sent: the task id is not known yet.
// Once it is (task_submitted), the task is cancelled, so that no miner runs it and its escrow
// returns, and the follow is dropped.
TEST(NodeChain, AbandonedWhileItsTaskIsSentTheTaskIsCancelledOnceItsIdIsKnown) {
  rpc::ServerConfig c;
  c.port = 0;
  c.threads = 4;  // a held tx_send occupies one
  rpc::Server server(c);
  std::mutex mu;
  std::vector<chain::Transaction> sent;
  std::promise<void> held, release;
  auto release_future = release.get_future().share();
  auto add = [&](const std::string& name, std::function<json(const json&)> f) {
    ASSERT_TRUE(server.add_method(name, [f](const json& p) -> rpc::MethodResult { return f(p); }));
  };
  add("registry_models", [](const json&) { return json::array(); });
  add("registry_miners", [](const json&) { return json::array(); });
  add("contracts_params", [](const json&) { return json{{"min_miner_stake", 1}}; });
  add("node_info", [](const json&) { return json{{"chain_id", "stand-in"}}; });
  add("chain_params", [](const json&) { return json{{"fee", {{"base", 0}, {"per_byte", 0}}}}; });
  add("chain_head", [](const json&) { return json{{"height", 5}}; });
  add("tx_receipt", [](const json&) { return json(nullptr); });
  add("task_get", [](const json& p) { return json{{"id", p.at(0)}, {"status", "pending"}}; });
  add("state_getAccount", [&](const json&) {
    std::lock_guard l(mu);
    return json{{"next_nonce", sent.size()}};
  });
  add("tx_send", [&](const json& p) {
    auto tx = chain::decode_tx(*chain::from_hex(p.at(0).get<std::string>()));
    bool first = false;
    {
      std::lock_guard l(mu);
      first = sent.empty();
      sent.push_back(*tx);
    }
    if (first) {  // the SubmitTask: held until the test has abandoned it
      held.set_value();
      release_future.wait();
    }
    return json{{"hash", chain::to_hex(chain::tx_hash(*tx))}};
  });
  ASSERT_TRUE(server.start());

  NodeChainOptions o;
  o.node_url = "ws://127.0.0.1:" + std::to_string(server.port());
  o.key = chain::SecretKey::generate();
  const std::string account = chain::address_to_string(o.key->public_key());
  auto nc = NodeChain::start(o);
  ASSERT_TRUE(nc) << nc.error().to_string();
  ASSERT_TRUE(eventually([&] { return server.has_subscribers("events"); }));

  chain::SubmitTask task;
  task.prompt = "Once upon a time";
  task.params.max_tokens = 8;
  task.max_fee = 1000;
  std::atomic<int> reports{0};
  const uint64_t handle = (*nc)->submit(task, false, [&](const TaskUpdate&) { ++reports; });
  ASSERT_NE(handle, 0u);
  ASSERT_EQ(held.get_future().wait_for(10s), std::future_status::ready) << "the SubmitTask was not sent";
  (*nc)->abandon(handle);
  release.set_value();

  std::string hash;
  {
    std::lock_guard l(mu);
    hash = chain::to_hex(chain::tx_hash(sent.at(0)));
  }
  server.publish("events", json{{"type", "task_submitted"},
                                {"height", 6},
                                {"tx_hash", hash},
                                {"attributes", {{"task", "7"}, {"user", account}}},
                                {"accounts", json::array({account})},
                                {"task", "7"}});
  const auto cancelled = [&] {
    std::lock_guard l(mu);
    for (const auto& tx : sent)
      if (auto* c = std::get_if<chain::CancelTask>(&tx.body.payload); c && c->task_id == 7) return true;
    return false;
  };
  EXPECT_TRUE(eventually(cancelled)) << "the abandoned task was not cancelled";
  EXPECT_TRUE(eventually([&] { return (*nc)->stats().following == 0; }));
  EXPECT_EQ(reports, 0);  // nobody is told anything after abandon
  (*nc)->stop();
  server.stop();
}

}  // namespace
}  // namespace ig::gateway
