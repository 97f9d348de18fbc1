// A node and the wallet as a user runs them: init, start, transfers, subscriptions, restart.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <fstream>

#include "chain/address.hpp"
#include "tests/integration/harness.hpp"

namespace ig::itest {
namespace {

using json = rpc::json;
using namespace std::chrono_literals;

class NodeLifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = make_temp_dir("node");
    node_ = std::make_unique<NodeProcess>(home_);
    node_->init(200);
    node_->start();
  }
  void TearDown() override {
    node_.reset();
    remove_dir(home_);
  }

  RunResult wallet(std::vector<std::string> args) {
    std::vector<std::string> argv = {bin_dir() + "/infergrid-wallet", "--wallet-dir", home_ + "/wallet", "--node",
                                     node_->ws_url(), "--json", "--timeout", "30"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }

  json account(rpc::Client& c, const std::string& address) {
    auto a = c.call("state_getAccount", json::array({address}));
    EXPECT_TRUE(a) << (a ? "" : a.error().to_string());
    return a ? *a : json();
  }

  std::string home_;
  std::unique_ptr<NodeProcess> node_;
};

TEST_F(NodeLifecycle, WalletTransfersAreCommittedWithReceiptsAndBalances) {
  auto created = wallet({"new", "--name", "bob"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string bob = json::parse(created.out)["address"];
  const std::string dev = chain::address_to_string(node_->dev_key().public_key());

  auto client = node_->client();
  const uint64_t dev_before = std::stoull(account(client, dev)["balance"].get<std::string>());

  std::vector<std::string> hashes;
  uint64_t fees = 0;
  for (int i = 0; i < 3; ++i) {
    auto sent = wallet({"send", "--from", "dev", "--to", bob, "--amount", std::to_string(1000 + i), "--wait"});
    ASSERT_EQ(sent.exit_code, 0) << sent.out << sent.err;
    json out = json::parse(sent.out);
    ASSERT_EQ(out["receipt"]["status"], "ok");
    hashes.push_back(out["tx_hash"]);
    fees += std::stoull(out["receipt"]["fee_paid"].get<std::string>());
  }

  json bob_acct = account(client, bob);
  EXPECT_EQ(bob_acct["balance"], std::to_string(1000 + 1001 + 1002));
  json dev_acct = account(client, dev);
  EXPECT_EQ(std::stoull(dev_acct["balance"].get<std::string>()), dev_before - 3003 - fees);
  EXPECT_EQ(dev_acct["nonce"], 3);

  for (const auto& h : hashes) {
    auto receipt = client.call("tx_receipt", json::array({h}));
    ASSERT_TRUE(receipt);
    EXPECT_EQ((*receipt)["tx_hash"], h);
    auto tx = client.call("chain_getTx", json::array({h}));
    ASSERT_TRUE(tx);
    EXPECT_EQ((*tx)["tx"]["payload"]["to"], bob);
    auto block = client.call("chain_getBlock", json::array({(*receipt)["height"]}));
    ASSERT_TRUE(block);
    bool found = false;
    for (const auto& t : (*block)["txs"]) found |= t["hash"] == h;
    EXPECT_TRUE(found) << "tx not listed in its block";
  }

  auto balance = wallet({"balance", "bob"});
  ASSERT_EQ(balance.exit_code, 0) << balance.err;
  EXPECT_EQ(json::parse(balance.out)["balance"], "3003");
}

TEST_F(NodeLifecycle, NewHeadsAndEventSubscriptionsDeliverNotifications) {
  auto client = node_->client();
  auto heads = client.subscribe("newHeads");
  ASSERT_TRUE(heads) << heads.error().to_string();
  auto created = wallet({"new", "--name", "carol"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string carol = json::parse(created.out)["address"];
  auto events = client.subscribe("events", json{{"type", "transfer"}, {"accounts", carol}});
  ASSERT_TRUE(events) << events.error().to_string();

  uint64_t last_height = 0;
  for (int i = 0; i < 3; ++i) {
    auto note = client.next_notification(10s);
    ASSERT_TRUE(note) << note.error().to_string();
    if ((*note)["subscription"] != *heads) continue;
    uint64_t h = (*note)["result"]["height"];
    EXPECT_GT(h, last_height);
    EXPECT_EQ((*note)["result"]["hash"].get<std::string>().size(), 64u);
    last_height = h;
  }

  auto sent = wallet({"send", "--from", "dev", "--to", carol, "--amount", "77"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  const std::string hash = json::parse(sent.out)["tx_hash"];
  auto deadline = std::chrono::steady_clock::now() + 15s;
  bool seen = false;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    auto note = client.next_notification(5s);
    ASSERT_TRUE(note) << note.error().to_string();
    if ((*note)["subscription"] != *events) continue;
    const json& ev = (*note)["result"];
    EXPECT_EQ(ev["type"], "transfer");
    EXPECT_EQ(ev["attributes"]["to"], carol);
    EXPECT_EQ(ev["attributes"]["amount"], "77");
    EXPECT_EQ(ev["tx_hash"], hash);
    seen = true;
  }
  EXPECT_TRUE(seen) << "no transfer event for the filtered account";
}

TEST_F(NodeLifecycle, RestartKeepsEveryBlockAndBalance) {
  auto created = wallet({"new", "--name", "dave"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string dave = json::parse(created.out)["address"];
  for (int i = 0; i < 2; ++i) {
    auto sent = wallet({"send", "--from", "dev", "--to", dave, "--amount", "500", "--wait"});
    ASSERT_EQ(sent.exit_code, 0) << sent.err;
  }
  node_->wait_for_height(node_->head_height() + 2);

  std::vector<json> blocks;
  json dave_before;
  {
    auto client = node_->client();
    dave_before = account(client, dave);
    node_->stop();
  }
  // Read what the stopped node had committed, block by block, after a restart.
  node_->start();
  auto client = node_->client();
  auto head = client.call("chain_head", json::array());
  ASSERT_TRUE(head);
  const uint64_t height = (*head)["height"];
  ASSERT_GE(height, 2u);
  std::string prev_hash = std::string(64, '0');
  for (uint64_t h = 1; h <= height; ++h) {
    auto b = client.call("chain_getBlock", json::array({h}));
    ASSERT_TRUE(b) << "block " << h << " missing after restart";
    EXPECT_EQ((*b)["header"]["height"], h);
    if (h > 1) {
      EXPECT_EQ((*b)["header"]["prev_hash"], prev_hash) << "chain broken at " << h;
    }
    prev_hash = (*b)["hash"];
  }
  EXPECT_EQ(account(client, dave)["balance"], dave_before["balance"]);
  EXPECT_EQ(account(client, dave)["balance"], "1000");
  // And it keeps producing on top of the old head.
  node_->wait_for_height(height + 2);
}

TEST(NodeCli, InitRefusesAnInitialisedHomeAndStartNeedsAPassword) {
  std::string home = make_temp_dir("cli");
  auto first = run({bin_dir() + "/infergridd", "init", "--home", home});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto again = run({bin_dir() + "/infergridd", "init", "--home", home});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("already initialised"), std::string::npos) << again.err;

  auto wrong = run({bin_dir() + "/infergridd", "start", "--home", home, "--rpc-port", "0"},
                   {{"INFERGRID_PASSWORD", "not-the-password"}});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("password"), std::string::npos) << wrong.err;

  auto bad_port = run({bin_dir() + "/infergridd", "start", "--home", home, "--rpc-port", "70000"});
  EXPECT_NE(bad_port.exit_code, 0);
  auto no_home = run({bin_dir() + "/infergridd", "start", "--home", home + "/nope"});
  EXPECT_NE(no_home.exit_code, 0);
  remove_dir(home);
}

}  // namespace
}  // namespace ig::itest

namespace ig::itest {
namespace {

TEST(NodeCli, JoinsAGivenGenesisWithItsConsensusKey) {
  std::string dir = make_temp_dir("genesis");
  chain::SecretKey consensus = chain::SecretKey::generate();
  chain::Address funded = chain::SecretKey::generate().public_key();
  std::ofstream(dir + "/consensus.hex") << chain::to_hex(consensus.bytes()) << "\n";
  rpc::json g = rpc::json::parse(read_file(INFERGRID_SOURCE_DIR "/genesis.json"));
  g["chain_id"] = "itest-given-genesis";
  g["params"]["block_time_ms"] = 100;
  g["validators"][0]["consensus_key"] = chain::to_hex(consensus.public_key());
  g["accounts"][0]["address"] = chain::address_to_string(funded);
  std::ofstream(dir + "/genesis.json") << g.dump(2);

  // The repo's example genesis parses; without its validator key the node is a follower: it
  // serves RPC at genesis and waits for the validators' blocks (none here: nobody runs them).
  auto example = run({bin_dir() + "/infergridd", "init", "--home", dir + "/example", "--p2p-listen", "127.0.0.1:0",
                      "--genesis", INFERGRID_SOURCE_DIR "/genesis.json"});
  ASSERT_EQ(example.exit_code, 0) << example.err;
  {
    NodeProcess follower(dir + "/example");
    follower.start();
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    auto fc = follower.client();
    auto head = fc.call("chain_head", rpc::json::array());
    ASSERT_TRUE(head);
    EXPECT_EQ((*head)["height"], 0);
    // RPC answers before consensus starts and logs its role: wait for the line.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (follower.log().find("follower") == std::string::npos && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_NE(follower.log().find("follower"), std::string::npos) << follower.log();
    follower.stop();
  }

  auto bad = run({bin_dir() + "/infergridd", "init", "--home", dir + "/bad", "--genesis", dir + "/consensus.hex"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("genesis"), std::string::npos) << bad.err;

  auto init = run({bin_dir() + "/infergridd", "init", "--home", dir + "/home", "--p2p-listen", "127.0.0.1:0", "--genesis", dir + "/genesis.json",
                   "--consensus-secret-file", dir + "/consensus.hex"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  NodeProcess node(dir + "/home");
  node.start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  node.wait_for_height(3);
  auto c = node.client();
  auto info = c.call("node_info", rpc::json::array());
  ASSERT_TRUE(info);
  EXPECT_EQ((*info)["chain_id"], "itest-given-genesis");
  EXPECT_EQ((*info)["validator"], chain::to_hex(consensus.public_key()));
  auto acct = c.call("state_getAccount", rpc::json::array({chain::address_to_string(funded)}));
  ASSERT_TRUE(acct);
  EXPECT_EQ((*acct)["balance"], g["accounts"][0]["balance"]);
  node.stop();
  remove_dir(dir);
}


// SIGTERM while a client keeps sending transactions. Every admitted transaction is handed to
// the p2p network for gossip, and the RPC server keeps admitting them until it stops itself:
// the node must not destroy its network before its RPC server has stopped (a transaction
// admitted in between went to the destroyed network: a crash on the way out).
TEST(NodeStop, StopsCleanlyWhileTransactionsArrive) {
  const std::string home = make_temp_dir("stop-load");
  NodeProcess node(home);
  node.init(200);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const chain::SecretKey dev = node.dev_key();
  const chain::Address to = chain::SecretKey::generate().public_key();
  for (int round = 0; round < 6 && !::testing::Test::HasFailure(); ++round) {
    node.start();
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    TransferLoad load(node, dev, {to}, {std::chrono::milliseconds(3000), std::chrono::milliseconds(20), 0});
    load.start();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (load.accepted() < 20 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_GE(load.accepted(), 20u) << "the load never got going";
    node.stop();  // expects exit code 0
    load.stop();
  }
  remove_dir(home);
}

}  // namespace
}  // namespace ig::itest
