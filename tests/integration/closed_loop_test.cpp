// The closed loop with real processes on loopback (issue 8): `infergridd devnet` runs a node
// with its verifier, two honest miners and one that cheats (the test option) on stories260K;
// then the chain itself is checked — honest work paid, every cheat rejected at the step the
// cheater altered, the cheater slashed, the user refunded, incentive only for honest miners,
// the supply audited at every block — and a settled result is re-verified by infergrid-infer
// from what the chain holds.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "chain/tx.hpp"
#include "inference/receipt/result.hpp"
#include "tests/integration/harness.hpp"

namespace ig::itest {
namespace {

using json = rpc::json;
using namespace std::chrono_literals;

const std::string kModel = std::string(INFERGRID_SOURCE_DIR) + "/../shared/data/models/stories260K.gguf";

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

uint64_t num(const json& v) { return v.is_string() ? std::stoull(v.get<std::string>()) : v.get<uint64_t>(); }

class ClosedLoop : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(make_temp_dir("loop"));
    home_ = new std::string(*dir_ + "/net");
    const std::string summary_path = *dir_ + "/summary.json";
    auto r = run({bin_dir() + "/infergridd", "devnet", "--home", *home_, "--model", kModel, "--port",
                  std::to_string(free_port()), "--p2p-port", std::to_string(free_port()), "--validators", "1",
                  "--summary", summary_path, "--tasks", "8", "--epochs", "1"},
                 {}, 300s);
    devnet_out_ = new std::string(r.out + r.err);
    ASSERT_EQ(r.exit_code, 0) << *devnet_out_;
    summary_ = new json(json::parse(read_file(summary_path)));
    // The validator again, on its home, to ask the chain itself.
    node_ = new NodeProcess(*home_ + "/node0");
    node_->start();
  }
  static void TearDownTestSuite() {
    delete node_;
    remove_dir(*dir_);
    delete dir_;
    delete home_;
    delete summary_;
    delete devnet_out_;
  }

  static std::set<std::string> addresses(bool cheats) {
    std::set<std::string> out;
    for (const auto& m : (*summary_)["miners"])
      if (m["cheats"].get<bool>() == cheats) out.insert(m["address"].get<std::string>());
    return out;
  }

  static std::string* dir_;
  static std::string* home_;
  static std::string* devnet_out_;
  static json* summary_;
  static NodeProcess* node_;
};
std::string* ClosedLoop::dir_ = nullptr;
std::string* ClosedLoop::home_ = nullptr;
std::string* ClosedLoop::devnet_out_ = nullptr;
json* ClosedLoop::summary_ = nullptr;
NodeProcess* ClosedLoop::node_ = nullptr;

}  // namespace

TEST_F(ClosedLoop, HonestTasksSettleAndArePaidWithNoFalseRejection) {
  auto honest = addresses(false);
  auto c = node_->client();
  int settled = 0;
  for (const auto& t : (*summary_)["tasks"]) {
    if (!honest.count(t["miner"].get<std::string>())) continue;
    EXPECT_EQ(t["status"], "settled") << t.dump();
    EXPECT_EQ(t["verdict"], "accept") << t.dump();
    EXPECT_FALSE(t["text"].get<std::string>().empty());
    auto task = c.call("task_get", json::array({t["id"]}));
    ASSERT_TRUE(task) << task.error().to_string();
    EXPECT_EQ((*task)["status"], "settled");
    EXPECT_EQ((*task)["miner"], t["miner"]);
    EXPECT_GT(num((*task)["miner_paid"]), 0u);
    EXPECT_EQ((*task)["result"]["text"], t["text"]);
    ++settled;
  }
  EXPECT_GE(settled, 4);
  for (const auto& m : (*summary_)["miners"]) {
    if (m["cheats"].get<bool>()) continue;
    EXPECT_EQ(m["stake_after"], m["stake_before"]) << m.dump();
  }
}

TEST_F(ClosedLoop, EveryCheatIsRejectedAtTheAlteredStepTheCheaterSlashedTheUserRefunded) {
  // The cheater logs each step it altered: "task N: CHEATING (test option): token at step K altered".
  const std::string log = read_file(*home_ + "/logs/cheater.log");
  std::map<uint64_t, uint64_t> altered;
  static const std::regex re("task ([0-9]+): CHEATING \\(test option\\): token at step ([0-9]+) altered");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it)
    altered[std::stoull((*it)[1])] = std::stoull((*it)[2]);
  ASSERT_FALSE(altered.empty()) << "the cheater was never assigned a task:\n" << *devnet_out_;
  auto cheaters = addresses(true);
  auto c = node_->client();
  for (const auto& [id, step] : altered) {
    auto task = c.call("task_get", json::array({id}));
    ASSERT_TRUE(task);
    EXPECT_EQ((*task)["status"], "rejected") << task->dump();
    ASSERT_FALSE((*task)["verdicts"].empty());
    const json& v = (*task)["verdicts"][0];
    EXPECT_FALSE(v["accept"].get<bool>());
    EXPECT_EQ(v["first_bad_step"].get<uint64_t>(), step) << "task " << id;
    EXPECT_TRUE(v["evidence"].get<bool>());  // the chain checked the step's proof
    EXPECT_EQ((*task)["refunded"], (*task)["max_fee"]);
  }
  for (const auto& m : (*summary_)["miners"]) {
    if (!m["cheats"].get<bool>()) continue;
    EXPECT_LT(num(m["stake_after"]), num(m["stake_before"]));
    EXPECT_EQ(m["rewards"], "0");
  }
}

TEST_F(ClosedLoop, IncentiveGoesToHonestMinersOnlyAndSupplyHoldsAtEveryBlock) {
  auto honest = addresses(false), cheaters = addresses(true);
  bool honest_paid = false;
  for (const auto& e : (*summary_)["epochs"]) {
    for (const auto& [addr, v] : e["incentive"].items()) {
      if (honest.count(addr) && v.get<uint64_t>() > 0) honest_paid = true;
      if (cheaters.count(addr)) {
        EXPECT_EQ(v.get<uint64_t>(), 0u) << "epoch " << e["epoch"];
      }
    }
  }
  EXPECT_TRUE(honest_paid);
  EXPECT_TRUE((*summary_)["supply_ok"].get<bool>());
  EXPECT_GT((*summary_)["supply"]["audited_blocks"].get<uint64_t>(), 10u);
  EXPECT_TRUE((*summary_)["supply"]["mismatch_heights"].empty());
  auto c = node_->client();
  auto s = c.call("bank_supply", json::array());
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)["supply"], (*s)["balances_total"]);
}

// A SubmitResult the miner worker built, as the chain holds it, is a result file that
// infergrid-infer verifies; the same file with any parameter changed is refused.
TEST_F(ClosedLoop, AResultOnChainVerifiesWithInfergridInferAndAChangedParameterDoesNot) {
  auto c = node_->client();
  std::optional<json> task;
  for (const auto& t : (*summary_)["tasks"])
    if (t["status"] == "settled" && t["sampled"].get<bool>()) task = *c.call("task_get", json::array({t["id"]}));
  ASSERT_TRUE(task);
  auto tx = c.call("chain_getTx", json::array({(*task)["result"]["tx_hash"]}));
  ASSERT_TRUE(tx);
  auto bytes = chain::from_hex((*tx)["raw"].get<std::string>());
  ASSERT_TRUE(bytes);
  auto decoded = chain::decode_tx(*bytes);
  ASSERT_TRUE(decoded);
  const auto& sr = std::get<chain::SubmitResult>(decoded->body.payload);
  receipt::TaskResult r;
  r.receipt = sr.receipt;
  r.prompt = (*task)["prompt"].get<std::string>();
  const json& p = (*task)["params"];
  r.params = SamplingParams{static_cast<uint32_t>(num(p["max_tokens"])), static_cast<uint32_t>(num(p["temperature_milli"])),
                            static_cast<uint32_t>(num(p["top_k"])), static_cast<uint32_t>(num(p["top_p_milli"])), num(p["seed"])};
  r.output = sr.output_tokens;
  r.fingerprints = sr.fingerprints;
  r.text = sr.text;
  const std::string file = *dir_ + "/result.json";
  ASSERT_TRUE(receipt::write_task_result(file, r));
  auto ok = run({bin_dir() + "/infergrid-infer", "verify", "--model", kModel, "--json", "--receipt", file});
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_TRUE(json::parse(ok.out)["accepted"].get<bool>()) << ok.out;
  for (int change = 0; change < 3; ++change) {
    receipt::TaskResult bad = r;
    if (change == 0) bad.params.seed += 1;
    if (change == 1) bad.params.temperature_milli += 1;
    if (change == 2) bad.params.top_k += 1;
    ASSERT_TRUE(receipt::write_task_result(file, bad));
    auto refused = run({bin_dir() + "/infergrid-infer", "verify", "--model", kModel, "--json", "--receipt", file});
    EXPECT_NE(refused.exit_code, 0) << refused.out;
    EXPECT_NE(refused.out.find("\"accepted\":false"), std::string::npos) << refused.out;
  }
}

}  // namespace ig::itest
