// infergrid-wallet against a real infergridd on loopback: sends with fee and nonce discovery,
// receipts, offline sign + broadcast, rejections carrying the node's reason, HTTP transport.
// Each test gets a fresh single-validator devnet (init + start) in a scratch home.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "fixtures.hpp"
#include "run_process.hpp"
#include "wallet/transfer.hpp"

namespace ig::wallet {
namespace {

using json = nlohmann::json;
using testing::ProcessResult;

constexpr uint64_t kDevGenesisBalance = 1'000'000'000'000;  // what `infergridd init` funds "dev" with

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    std::abort();
  ::close(fd);
  return ntohs(a.sin_port);
}

class WalletNode : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = dir_.file("home");
    port_ = free_port();
    auto init = testing::run_process(INFERGRIDD_BIN,
                                     {"init", "--home", home_, "--rpc-port", std::to_string(port_), "--block-time-ms", "100"},
                                     base_env());
    ASSERT_EQ(init.exit_code, 0) << init.out << init.err;
    node_pid_ = testing::spawn_background(INFERGRIDD_BIN, {"start", "--home", home_}, base_env(), dir_.file("node.log"));
    ASSERT_GT(node_pid_, 0);
    // Ready once it answers JSON-RPC.
    for (int i = 0; i < 100; ++i) {
      if (wallet({"--timeout", "1", "balance", "dev"}).exit_code == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "node did not come up; log:\n" << testing::read_text(dir_.file("node.log"));
  }
  void TearDown() override {
    if (node_pid_ > 0) testing::stop_background(node_pid_);
  }

  std::map<std::string, std::string> base_env() const {
    return {{"HOME", dir_.path()}, {"INFERGRID_PASSWORD", "node-pw"}};
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_); }

  ProcessResult wallet(std::vector<std::string> args) const {
    auto env = base_env();
    env["INFERGRID_WALLET_DIR"] = home_ + "/wallet";  // init writes the dev keystore here
    env["INFERGRID_NODE"] = url();
    return testing::run_process(INFERGRID_WALLET_BIN, args, env);
  }

  json wallet_json(std::vector<std::string> args) const {
    args.insert(args.begin(), "--json");
    auto r = wallet(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.out << r.err;
    return j;
  }

  uint64_t balance(const std::string& who) const {
    json b = wallet_json({"balance", who});
    return std::stoull(b.value("balance", std::string("0")));
  }

  std::string new_key(const std::string& name) const { return wallet_json({"new", "--name", name})["address"]; }

  testing::ScratchDir dir_;
  std::string home_;
  uint16_t port_ = 0;
  pid_t node_pid_ = -1;
};

TEST_F(WalletNode, SendWithWaitMovesTheAmountAndPaysTheMinimumFee) {
  const std::string bob = new_key("bob");
  json sent = wallet_json({"send", "--from", "dev", "--to", bob, "--amount", "12345", "--memo", "first", "--wait"});
  ASSERT_TRUE(sent.contains("receipt"));
  const json& receipt = sent["receipt"];
  EXPECT_EQ(receipt["status"], "ok");
  EXPECT_EQ(receipt["tx_hash"], sent["tx_hash"]);
  EXPECT_EQ(receipt["fee_paid"], sent["fee"]);
  EXPECT_EQ(sent["nonce"], 0);
  EXPECT_GT(sent["expiry_height"].get<uint64_t>(), 0u);
  const uint64_t fee = std::stoull(sent["fee"].get<std::string>());
  EXPECT_GT(fee, 0u);

  EXPECT_EQ(balance("bob"), 12345u);
  EXPECT_EQ(balance("dev"), kDevGenesisBalance - 12345 - fee);

  json shown = wallet_json({"tx", sent["tx_hash"]});
  EXPECT_EQ(shown["receipt"]["status"], "ok");
  EXPECT_EQ(shown["tx"]["hash"], sent["tx_hash"]);

  // The same transfer (same encoded size, so the same minimum) one unit short of the fee is
  // refused by the node, with its reason.
  auto low = wallet({"send", "--from", "dev", "--to", bob, "--amount", "12345", "--memo", "first", "--fee",
                     std::to_string(fee - 1)});
  EXPECT_EQ(low.exit_code, 1);
  EXPECT_NE(low.err.find("fee"), std::string::npos) << low.err;
}

TEST_F(WalletNode, ConsecutiveSendsTakeTheNextPendingNonce) {
  const std::string bob = new_key("bob");
  std::vector<std::string> hashes;
  for (int i = 0; i < 3; ++i) {
    json s = wallet_json({"send", "--from", "dev", "--to", bob, "--amount", "10"});
    EXPECT_EQ(s["nonce"], i);
    hashes.push_back(s["tx_hash"]);
  }
  // All three land; the last one's receipt arriving means the others did too (nonce order).
  for (const auto& h : hashes) {
    bool found = false;
    for (int i = 0; i < 100 && !found; ++i) {
      found = wallet({"tx", h}).exit_code == 0;
      if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(found) << h;
  }
  EXPECT_EQ(balance("bob"), 30u);
  json dev = wallet_json({"balance", "dev"});
  EXPECT_EQ(dev["nonce"], 3);
  EXPECT_EQ(dev["next_nonce"], 3);
}

TEST_F(WalletNode, OfflineSignedTransactionIsBroadcastAndIncluded) {
  const std::string bob = new_key("bob");
  const std::string file = dir_.file("tx.json");
  json signed_tx = wallet_json({"sign", "--from", "dev", "--to", bob, "--amount", "77", "--nonce", "0", "--fee", "5000",
                                "--chain-id", "infergrid-dev", "-o", file});
  json sent = wallet_json({"broadcast", file});
  EXPECT_EQ(sent["tx_hash"], signed_tx["tx_hash"]);
  bool included = false;
  for (int i = 0; i < 100 && !included; ++i) {
    included = wallet({"tx", sent["tx_hash"]}).exit_code == 0;
    if (!included) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(included);
  EXPECT_EQ(balance("bob"), 77u);
  EXPECT_EQ(balance("dev"), kDevGenesisBalance - 77 - 5000);

  // The same transaction again is a replay: the node refuses it and says why.
  auto again = wallet({"broadcast", file});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("tx.bad_nonce"), std::string::npos) << again.err;
}

TEST_F(WalletNode, RejectionsCarryTheNodesReason) {
  const std::string bob = new_key("bob");
  auto bad_nonce = wallet({"send", "--from", "dev", "--to", bob, "--amount", "1", "--nonce", "9"});
  EXPECT_EQ(bad_nonce.exit_code, 1);
  EXPECT_NE(bad_nonce.err.find("tx.bad_nonce"), std::string::npos) << bad_nonce.err;

  auto broke = wallet({"send", "--from", "bob", "--to", bob, "--amount", "1"});  // bob has nothing
  EXPECT_EQ(broke.exit_code, 1);
  EXPECT_NE(broke.err.find("rejected"), std::string::npos) << broke.err;

  // Wrong chain id in an offline-signed transaction.
  const std::string file = dir_.file("other-chain.json");
  wallet_json({"sign", "--from", "dev", "--to", bob, "--amount", "1", "--nonce", "0", "--fee", "5000", "--chain-id",
               "another-chain", "-o", file});
  auto wrong_chain = wallet({"broadcast", file});
  EXPECT_EQ(wrong_chain.exit_code, 1);
  EXPECT_NE(wrong_chain.err.find("chain"), std::string::npos) << wrong_chain.err;

  EXPECT_EQ(wallet({"tx", std::string(64, '0')}).exit_code, 1);
}

TEST_F(WalletNode, HttpUrlsWorkLikeWebSocketOnes) {
  auto r = wallet({"--json", "--node", "http://127.0.0.1:" + std::to_string(port_), "balance", "dev"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["balance"], std::to_string(kDevGenesisBalance));
}

}  // namespace
}  // namespace ig::wallet
