// infergrid-wallet (the real binary) against a fake node that answers with malformed replies
// (fault 10 of issue 7, client part): a reply with a missing or mistyped field must be an error
// that says so, with exit 1 — never a placeholder such as "status: ?" printed with exit 0, and
// never a JSON exception. The fake node is an in-process rpc::Server over WebSocket and HTTP,
// plus a raw HTTP responder for replies rpc::Server would never send (a malformed error object).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "chain/tx.hpp"
#include "fixtures.hpp"
#include "rpc/server.hpp"
#include "run_process.hpp"
#include "wallet/wallet_dir.hpp"

namespace ig::wallet {
namespace {

using json = nlohmann::json;
using testing::ProcessResult;

// The methods the wallet calls. Each answers what the test put in `replies` (a result), or,
// for tx_send, the hash of the transaction it was given, as a real node does.
class FakeNode {
 public:
  FakeNode() : server_(config()) {
    for (const char* m : {"node_info", "chain_head", "chain_params", "contracts_params", "state_getAccount", "tx_receipt",
                          "chain_getTx", "task_get", "task_list", "weights_get", "yuma_lastEpoch", "staking_getStake",
                          "staking_validators", "registry_miners", "registry_models"}) {
      const std::string name = m;
      EXPECT_TRUE(server_.add_method(name, [this, name](const json&) -> rpc::MethodResult { return reply(name); }));
    }
    EXPECT_TRUE(server_.add_method("tx_send", [](const json& params) -> rpc::MethodResult {
      auto bytes = chain::from_hex(params.at(0).get<std::string>());
      auto tx = bytes ? chain::decode_tx(*bytes) : Expected<chain::Transaction>(fail("x", "bad hex"));
      if (!tx) return rpc::invalid_params("cannot decode the transaction");
      return chain::to_hex(chain::tx_hash(*tx));
    }));
    auto st = server_.start();
    EXPECT_TRUE(st) << (st ? "" : st.error().to_string());
  }

  void set(const std::string& method, json result) {
    std::lock_guard lock(mu_);
    replies_[method] = std::move(result);
  }
  std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(server_.port()); }
  std::string http_url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }

 private:
  static rpc::ServerConfig config() {
    rpc::ServerConfig c;
    c.port = 0;
    return c;
  }
  rpc::MethodResult reply(const std::string& method) {
    std::lock_guard lock(mu_);
    auto it = replies_.find(method);
    if (it == replies_.end()) return rpc::not_found("the fake node has no reply for " + method);
    return it->second;
  }

  // Declared before the server, so they outlive its threads.
  std::mutex mu_;
  std::map<std::string, json> replies_;
  rpc::Server server_;
};

// Answers every HTTP request on a loopback port with one fixed body, whatever it is.
class RawHttpNode {
 public:
  explicit RawHttpNode(std::string body) : body_(std::move(body)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      std::abort();
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~RawHttpNode() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      // Read the head and the body the request announces, then answer and close.
      std::string in;
      char buf[4096];
      size_t need = std::string::npos;
      while (need == std::string::npos || in.size() < need) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
        const size_t head_end = in.find("\r\n\r\n");
        if (need == std::string::npos && head_end != std::string::npos) {
          size_t length = 0;
          std::string head = in.substr(0, head_end);
          for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          if (auto p = head.find("content-length:"); p != std::string::npos) length = std::stoul(head.substr(p + 15));
          need = head_end + 4 + length;
        }
      }
      const std::string out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(body_.size()) + "\r\nConnection: close\r\n\r\n" + body_;
      [[maybe_unused]] ssize_t sent = ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

  std::string body_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class WalletFakeNode : public ::testing::Test {
 protected:
  void SetUp() override {
    wallet_dir_ = dir_.file("wallet");
    auto w = Wallet::open(wallet_dir_);
    ASSERT_TRUE(w);
    alice_key_ = chain::SecretKey::generate();
    ASSERT_TRUE(w->import("alice", *alice_key_, "pw", testing::kFastKdf));
    testing::write_text(dir_.file("pw"), "pw\n");
    alice_ = chain::address_to_string(alice_key_->public_key());
    hash_ = std::string(64, 'a');
    good_receipt_ = {{"tx_hash", hash_}, {"height", 7},    {"index", 0},          {"status", "ok"},
                     {"code", 0},        {"error", ""},    {"fee_paid", "1500"}, {"events", json::array()}};
  }

  ProcessResult wallet(const std::string& node_url, std::vector<std::string> args) const {
    args.insert(args.begin(), {"--node", node_url, "--timeout", "5"});
    return testing::run_process(INFERGRID_WALLET_BIN, args,
                                {{"HOME", dir_.path()}, {"INFERGRID_WALLET_DIR", wallet_dir_}});
  }

  // Runs the command over both transports and checks it fails as a malformed reply.
  void expect_malformed(const std::vector<std::string>& args, const std::string& method, const std::string& why) {
    for (const std::string& url : {node_.ws_url(), node_.http_url()}) {
      SCOPED_TRACE(url + " " + ::testing::PrintToString(args));
      auto r = wallet(url, args);
      EXPECT_EQ(r.exit_code, 1) << "stdout: " << r.out << "\nstderr: " << r.err;
      EXPECT_NE(r.err.find("error: malformed reply from node to " + method + ": " + why), std::string::npos) << r.err;
      EXPECT_EQ(r.err.find("internal"), std::string::npos) << r.err;  // not an escaped exception
      EXPECT_EQ(r.out.find('?'), std::string::npos) << r.out;          // no placeholder printed
    }
  }

  void expect_ok(const std::vector<std::string>& args) {
    for (const std::string& url : {node_.ws_url(), node_.http_url()}) {
      auto r = wallet(url, args);
      EXPECT_EQ(r.exit_code, 0) << url << " " << ::testing::PrintToString(args) << "\n" << r.err;
    }
  }

  testing::ScratchDir dir_;
  FakeNode node_;
  std::string wallet_dir_, alice_, hash_;
  std::optional<chain::SecretKey> alice_key_;
  json good_receipt_;
};

TEST_F(WalletFakeNode, ATxReceiptWithoutStatusIsAnErrorNotStatusQuestionMark) {
  // The original report: `tx` printed "status: ?" and exited 0.
  json r = good_receipt_;
  r.erase("status");
  node_.set("tx_receipt", r);
  node_.set("chain_getTx", nullptr);
  expect_malformed({"tx", hash_}, "tx_receipt", "field 'status' missing");

  // The well-formed receipt is shown, so the failures above are about the field alone.
  node_.set("tx_receipt", good_receipt_);
  expect_ok({"tx", hash_});
}

TEST_F(WalletFakeNode, EveryReceiptFieldTheWalletReadsIsChecked) {
  node_.set("chain_getTx", nullptr);
  const std::vector<std::tuple<std::string, json, std::string>> cases = {
      {"status", 5, "field 'status' is a number, expected a string"},
      {"height", nullptr, "field 'height' is null, expected a non-negative integer"},
      {"height", "7", "field 'height' is a string, expected a non-negative integer"},
      {"index", -1, "field 'index' is a negative number, expected a non-negative integer"},
      {"fee_paid", "1.5", "field 'fee_paid' is not a decimal amount"},
      {"error", nullptr, "field 'error' is null, expected a string"},
      {"events", json::object(), "field 'events' is an object, expected an array"},
      {"events", json::parse(R"([{"type": 1, "attributes": {}}])"), "field 'events[0].type' is a number, expected a string"},
      {"events", json::parse(R"([{"type": "fee"}])"), "field 'events[0].attributes' missing"},
      {"tx_hash", std::string(64, 'b'), "it is the receipt of " + std::string(64, 'b')},
  };
  for (const auto& [field, value, why] : cases) {
    json r = good_receipt_;
    r[field] = value;
    node_.set("tx_receipt", r);
    expect_malformed({"tx", hash_}, "tx_receipt", why);
  }
  node_.set("tx_receipt", "not a receipt");
  expect_malformed({"tx", hash_}, "tx_receipt", "result is a string, expected an object");
  node_.set("tx_receipt", nullptr);
  node_.set("chain_getTx", json{{"hash", hash_}, {"height", 7}});
  expect_malformed({"tx", hash_}, "chain_getTx", "field 'tx' missing");
}

TEST_F(WalletFakeNode, SendWaitWithAMalformedReceiptFailsAfterSending) {
  node_.set("node_info", {{"chain_id", "fake"}});
  node_.set("chain_head", {{"height", 10}});
  node_.set("chain_params", {{"fee", {{"base", "1000"}, {"per_byte", "1"}}}});
  node_.set("state_getAccount", {{"address", alice_}, {"balance", "1000000"}, {"nonce", 0}, {"next_nonce", 0}});
  // Any hash: receipt() is asked for the hash of the sent transaction, so tx_hash is left out.
  json r = good_receipt_;
  r.erase("tx_hash");
  r.erase("status");
  node_.set("tx_receipt", r);
  const std::vector<std::string> send = {"--password-file", dir_.file("pw"), "send", "--from", "alice", "--to", alice_,
                                         "--amount", "5", "--wait"};
  expect_malformed(send, "tx_receipt", "field 'status' missing");
  r["status"] = "ok";
  node_.set("tx_receipt", r);
  expect_ok(send);
  // An account reply about another account, or with a mistyped field, stops the send before signing.
  node_.set("state_getAccount", {{"address", 7}, {"balance", "1"}, {"nonce", 0}, {"next_nonce", 0}});
  expect_malformed(send, "state_getAccount", "field 'address' is a number, expected a string");
}

TEST_F(WalletFakeNode, QueriesCheckTheFieldsTheyPrint) {
  const json task = {{"id", 1},           {"status", "assigned"}, {"user", alice_}, {"miner", alice_},
                     {"verdicts", json::array()}, {"fee_paid", "0"},      {"refunded", "0"}};
  const json result = {{"output_tokens", {5, 6}}, {"text", "hi"}, {"height", 9}, {"window_end", 19}, {"tx_hash", std::string(64, 'a')}};
  const json verdict = {{"account", alice_}, {"accept", false}, {"reason", "verify.token_mismatch"}, {"first_bad_step", 1}};
  auto with = [](json j, const std::string& k, json v) {
    j[k] = std::move(v);
    return j;
  };
  auto without = [](json j, const std::string& k) {
    j.erase(k);
    return j;
  };

  node_.set("task_get", with(task, "miner", 7));
  expect_malformed({"task", "show", "1"}, "task_get", "field 'miner' is a number, expected a string");
  node_.set("task_get", with(task, "result", json::array({1})));
  expect_malformed({"task", "show", "1"}, "task_get", "field 'result' is an array, expected an object");
  node_.set("task_get", with(task, "id", 2));
  expect_malformed({"task", "show", "1"}, "task_get", "it is task 2, not task 1");
  // What `task show` prints of a result and its verdicts is checked too.
  node_.set("task_get", with(task, "result", with(result, "text", 5)));
  expect_malformed({"task", "show", "1"}, "task_get", "field 'result.text' is a number, expected a string");
  node_.set("task_get", with(task, "verdicts", json::array({without(verdict, "reason")})));
  expect_malformed({"task", "show", "1"}, "task_get", "field 'verdicts[0].reason' missing");
  node_.set("task_get", without(task, "fee_paid"));
  expect_malformed({"task", "show", "1"}, "task_get", "field 'fee_paid' missing");
  node_.set("task_get", task);
  expect_ok({"task", "show", "1"});
  node_.set("task_get", with(with(task, "result", result), "verdicts", json::array({verdict})));
  expect_ok({"task", "show", "1"});

  node_.set("task_list", json::array({5}));
  expect_malformed({"task", "list"}, "task_list", "[0] is a number, expected an object");
  node_.set("task_list", json::array({task, without(task, "status")}));
  expect_malformed({"task", "list"}, "task_list", "field '[1].status' missing");
  node_.set("task_list", json::array({task}));
  expect_ok({"task", "list"});

  const json weights = {{"reveal_epoch", 3}, {"reveal_height", 31}, {"weights", json::parse(R"([{"uid": 1, "weight": 9}])")}};
  node_.set("weights_get", with(weights, "weights", json::parse(R"([{"uid": 1}])")));
  expect_malformed({"weights", "show", alice_}, "weights_get", "field 'weights[0].weight' missing");
  node_.set("weights_get", without(weights, "reveal_epoch"));
  expect_malformed({"weights", "show", alice_}, "weights_get", "field 'reveal_epoch' missing");
  node_.set("weights_get", weights);
  expect_ok({"weights", "show", alice_});

  const json uid = {{"uid", 0},         {"account", alice_},  {"stake_weight", 1}, {"consensus", 2},         {"incentive", 3},
                    {"dividends", 4},   {"validator_trust", 5}, {"validator_permit", true}, {"emission", "6"}};
  const json epoch = {{"epoch", 1}, {"height", 99}, {"emission", "1000"}, {"uids", json::array({uid})}};
  node_.set("yuma_lastEpoch", without(epoch, "emission"));
  expect_malformed({"epoch"}, "yuma_lastEpoch", "field 'emission' missing");
  node_.set("yuma_lastEpoch", with(epoch, "uids", json::array({without(uid, "validator_permit")})));
  expect_malformed({"epoch"}, "yuma_lastEpoch", "field 'uids[0].validator_permit' missing");
  node_.set("yuma_lastEpoch", with(epoch, "uids", json::array({with(uid, "account", 1)})));
  expect_malformed({"epoch"}, "yuma_lastEpoch", "field 'uids[0].account' is a number, expected a string");
  node_.set("yuma_lastEpoch", epoch);
  expect_ok({"epoch"});

  const json account = {{"address", alice_}, {"balance", "5"}, {"nonce", 0}, {"next_nonce", 1}};
  node_.set("state_getAccount", without(account, "next_nonce"));
  expect_malformed({"balance", alice_}, "state_getAccount", "field 'next_nonce' missing");
  node_.set("state_getAccount", with(account, "address", 5));
  expect_malformed({"balance", alice_}, "state_getAccount", "field 'address' is a number, expected a string");
  const std::string bob = chain::address_to_string(chain::SecretKey::generate().public_key());
  node_.set("state_getAccount", with(account, "address", bob));
  expect_malformed({"balance", alice_}, "state_getAccount", "it is about account " + bob);
  node_.set("state_getAccount", account);
  expect_ok({"balance", alice_});

  const json stake = {{"address", alice_}, {"validator", "0"}, {"miner", "10"}};
  node_.set("staking_getStake", with(stake, "validator", "ten"));
  expect_malformed({"stake", "show", alice_}, "staking_getStake", "field 'validator' is not a decimal amount");
  node_.set("staking_getStake", stake);
  expect_ok({"stake", "show", alice_});

  node_.set("staking_validators", json::array({1, 2}));
  expect_malformed({"validators"}, "staking_validators", "[0] is a number, expected an object");
  node_.set("registry_miners", json::object({{"a", 1}}));
  expect_malformed({"miners"}, "registry_miners", "result is an object, expected an array");
  node_.set("registry_models", json::array());
  expect_ok({"models"});

  node_.set("contracts_params", {{"tempo", "x"}});
  node_.set("chain_head", {{"height", 10}});
  expect_malformed({"--password-file", dir_.file("pw"), "weights", "commit", "--from", "alice", "--weights", "1:5"},
                   "contracts_params", "field 'tempo' is not a decimal amount");
}

TEST_F(WalletFakeNode, AMalformedJsonRpcEnvelopeOverHttpIsAnErrorNotACrash) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}})", "error has no integer 'code'"},
      {R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":5}})", "field 'error.message' is a number, expected a string"},
      {R"({"jsonrpc":"2.0","id":1,"error":"boom"})", "error is a string, expected an object"},
      {R"({"jsonrpc":"2.0","id":1})", "it has neither result nor error"},
      {R"([1,2])", "the reply is an array, not a JSON-RPC object"},
  };
  for (const auto& [body, why] : cases) {
    SCOPED_TRACE(body);
    RawHttpNode raw(body);
    auto r = wallet(raw.url(), {"balance", alice_});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("error: malformed reply from node to state_getAccount: " + why), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  // A well-formed error still carries the node's own message.
  RawHttpNode raw(R"({"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"no such account"}})");
  auto r = wallet(raw.url(), {"balance", alice_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error: no such account"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ig::wallet
