// The settlement commands against a real infergridd on loopback, on a chain made for the test
// (its own genesis with a short epoch): a validator registers a model, a new account stakes and
// registers as a miner, the dev account submits a task that gets assigned to that miner, the
// validator commits weights and reveals them in the next epoch, the miner unstakes; bad input
// exits 2 and the node's refusals exit 1 with its reason.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <future>
#include <thread>

#include "fixtures.hpp"
#include "rpc/client.hpp"
#include "run_process.hpp"
#include "wallet/transaction.hpp"
#include "wallet/wallet_dir.hpp"

namespace ig::wallet {
namespace {

using json = nlohmann::json;
using testing::ProcessResult;

constexpr uint64_t kTempo = 20;
constexpr uint64_t kRevealWindow = 10;
constexpr uint64_t kBlockMs = 200;
const std::string kModel(64, '7');

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    std::abort();
  ::close(fd);
  return ntohs(a.sin_port);
}

class WalletSettlementNode : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = dir_.file("home");
    wallet_dir_ = dir_.file("wallet");
    port_ = free_port();
    auto w = Wallet::open(wallet_dir_);
    ASSERT_TRUE(w);
    const auto dev = chain::SecretKey::generate(), validator = chain::SecretKey::generate();
    const auto consensus = chain::SecretKey::generate();
    ASSERT_TRUE(w->import("dev", dev, "pw", testing::kFastKdf));
    ASSERT_TRUE(w->import("validator", validator, "pw", testing::kFastKdf));
    testing::write_text(dir_.file("consensus.hex"), chain::to_hex(consensus.bytes()) + "\n");
    testing::write_text(dir_.file("genesis.json"), genesis(dev.public_key(), validator.public_key(), consensus.public_key()).dump(2));

    auto init = testing::run_process(INFERGRIDD_BIN,
                                     {"init", "--home", home_, "--p2p-listen", "127.0.0.1:0", "--genesis", dir_.file("genesis.json"), "--consensus-secret-file",
                                      dir_.file("consensus.hex"), "--rpc-port", std::to_string(port_)},
                                     env());
    ASSERT_EQ(init.exit_code, 0) << init.out << init.err;
    node_pid_ = testing::spawn_background(INFERGRIDD_BIN, {"start", "--home", home_, "--block-time-ms", std::to_string(kBlockMs)},
                                          env(), dir_.file("node.log"));
    ASSERT_GT(node_pid_, 0);
    for (int i = 0; i < 100; ++i) {
      if (wallet({"--timeout", "1", "balance", "dev"}).exit_code == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "node did not come up; log:\n" << testing::read_text(dir_.file("node.log"));
  }
  void TearDown() override {
    if (node_pid_ > 0) testing::stop_background(node_pid_);
  }

  static json genesis(const chain::PublicKey& dev, const chain::PublicKey& validator, const chain::PublicKey& consensus) {
    return {{"chain_id", "wallet-settle"},
            {"genesis_time_ms", 1798761600000ull},
            {"params", {{"block_time_ms", kBlockMs}, {"fee", {{"base", "1000"}, {"per_byte", "1"}}}}},
            {"validators", json::array({{{"name", "v0"},
                                         {"consensus_key", chain::to_hex(consensus)},
                                         {"account", chain::address_to_string(validator)},
                                         {"stake", "1000000"}}})},
            {"accounts", json::array({{{"address", chain::address_to_string(dev)}, {"balance", "1000000000000"}},
                                      {{"address", chain::address_to_string(validator)}, {"balance", "1000000000"}}})},
            {"contracts", {{"tempo", kTempo}, {"reveal_window_blocks", kRevealWindow}, {"min_miner_stake", 1000},
                           {"result_timeout_blocks", 1000}, {"unbonding_blocks", 5}}}};
  }

  std::map<std::string, std::string> env() const { return {{"HOME", dir_.path()}, {"INFERGRID_PASSWORD", "pw"}}; }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_); }

  ProcessResult wallet(std::vector<std::string> args) const {
    auto e = env();
    e["INFERGRID_WALLET_DIR"] = wallet_dir_;
    e["INFERGRID_NODE"] = url();
    return testing::run_process(INFERGRID_WALLET_BIN, args, e);
  }

  json wallet_json(std::vector<std::string> args) const {
    args.insert(args.begin(), "--json");
    auto r = wallet(args);
    EXPECT_EQ(r.exit_code, 0) << r.err << "\nnode log tail:\n" << testing::read_text(dir_.file("node.log")).substr(0, 2000);
    json j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.out << r.err;
    return j.is_object() ? j : json::object();
  }

  // A transaction command with --wait whose receipt must say ok.
  json wallet_ok(std::vector<std::string> args) const {
    args.push_back("--wait");
    json j = wallet_json(args);
    EXPECT_EQ(j.value("receipt", json::object()).value("status", std::string()), "ok") << j.dump();
    return j;
  }

  uint64_t head_height() const {
    auto client = rpc::Client::connect(url(), std::chrono::seconds(5));
    if (!client) return 0;
    auto head = client->call("chain_head", json::array());
    return head && head->is_object() ? head->value("height", uint64_t{0}) : 0;
  }

  void wait_for_height(uint64_t height) const {
    for (int i = 0; i < 600 && head_height() < height; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_GE(head_height(), height);
  }

  json rpc(const std::string& method, const json& params) const {
    auto client = rpc::Client::connect(url(), std::chrono::seconds(5));
    if (!client) return json();
    auto r = client->call(method, params);
    return r ? *r : json();
  }

  // Polls task_get until the task has `status` (or 30 s pass).
  json wait_for_task(uint64_t id, const std::string& status) const {
    json t;
    for (int i = 0; i < 300; ++i) {
      t = rpc("task_get", json::array({id}));
      if (t.is_object() && t.value("status", std::string()) == status) return t;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "task " << id << " never became " << status << ": " << t.dump();
    return t;
  }

  // What the miner worker does, by hand: a result whose receipt and fingerprints are
  // consistent with the task (`task` as task_get returns it), signed with the miner's key.
  void send_result(const chain::SecretKey& miner, const json& task, const std::vector<uint32_t>& tokens, const std::string& text) const {
    chain::SubmitResult r;
    r.task_id = task["id"].get<uint64_t>();
    r.output_tokens = tokens;
    for (size_t i = 0; i < tokens.size(); ++i)
      r.fingerprints.push_back({static_cast<int32_t>(tokens[i]), 70'000 + static_cast<int32_t>(i), 65'000});
    r.text = text;
    const json& p = task["params"];
    const ig::SamplingParams params{p["max_tokens"].get<uint32_t>(), p["temperature_milli"].get<uint32_t>(), p["top_k"].get<uint32_t>(),
                                    p["top_p_milli"].get<uint32_t>(), p["seed"].get<uint64_t>()};
    r.receipt = {*chain::from_hex_fixed<32>(task["model_id"].get<std::string>()), ig::prompt_hash(task["prompt"].get<std::string>()),
                 ig::sampling_params_hash(params), ig::output_hash(tokens), ig::fingerprint_root(r.fingerprints),
                 static_cast<uint32_t>(tokens.size()), "cpu/1"};
    const uint64_t nonce = rpc("state_getAccount", json::array({chain::address_to_string(miner.public_key())}))["next_nonce"];
    auto tx = sign_payload(TxSpec{"wallet-settle", 1'000'000, nonce, 0}, r, miner);
    ASSERT_TRUE(tx) << tx.error().to_string();
    auto sent = rpc("tx_send", json::array({chain::to_hex(chain::encode_tx(*tx))}));
    ASSERT_TRUE(sent.is_string()) << sent.dump();
    for (int i = 0; i < 100 && rpc("tx_receipt", json::array({sent})).is_null(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(rpc("tx_receipt", json::array({sent})).value("status", std::string()), "ok") << rpc("tx_receipt", json::array({sent})).dump();
  }

  // A registered model named "tiny" (price 2 per token) and a miner serving it whose key the
  // test holds.
  chain::SecretKey setup_model_and_miner() {
    wallet_ok({"register-model", "--from", "validator", "--model-id", kModel, "--name", "tiny", "--architecture", "llama",
               "--price-per-token", "2", "--context-limit", "512"});
    const auto key = chain::SecretKey::generate();
    auto w = Wallet::open(wallet_dir_);
    EXPECT_TRUE(w && w->import("miner", key, "pw", testing::kFastKdf));
    wallet_ok({"send", "--from", "dev", "--to", chain::address_to_string(key.public_key()), "--amount", "10000000"});
    wallet_ok({"stake", "--from", "miner", "--role", "miner", "--amount", "5000"});
    wallet_ok({"register-miner", "--from", "miner", "--gpu-class", "cpu", "--memory-mb", "2048", "--max-concurrent", "2", "--model", kModel});
    return key;
  }

  testing::ScratchDir dir_;
  std::string home_, wallet_dir_;
  uint16_t port_ = 0;
  pid_t node_pid_ = -1;
};

TEST_F(WalletSettlementNode, ModelMinerTaskWeightsAndUnstakeWalkthrough) {
  // A validator registers a model.
  wallet_ok({"register-model", "--from", "validator", "--model-id", kModel, "--name", "tiny", "--architecture", "llama",
             "--price-per-token", "2", "--context-limit", "512"});
  json models = wallet_json({"models"});
  ASSERT_EQ(models["models"].size(), 1u);
  EXPECT_EQ(models["models"][0]["model_id"], kModel);
  EXPECT_EQ(models["models"][0]["price_per_token"], "2");

  // A new account is funded, stakes as a miner and registers.
  const std::string miner = wallet_json({"new", "--name", "miner"})["address"];
  wallet_ok({"send", "--from", "dev", "--to", miner, "--amount", "100000"});
  wallet_ok({"stake", "--from", "miner", "--role", "miner", "--amount", "5000"});
  json stake = wallet_json({"stake", "show", "miner"});
  EXPECT_EQ(stake["miner"], "5000");
  EXPECT_EQ(stake["validator"], "0");
  wallet_ok({"register-miner", "--from", "miner", "--gpu-class", "cpu", "--memory-mb", "2048", "--max-concurrent", "2",
             "--model", kModel});
  json miners = wallet_json({"miners"});
  ASSERT_EQ(miners["miners"].size(), 1u);
  EXPECT_EQ(miners["miners"][0]["account"], miner);
  EXPECT_EQ(miners["miners"][0]["max_concurrent"], 2);
  const uint64_t miner_uid = miners["miners"][0]["uid"];
  wallet_ok({"update-miner", "--from", "miner", "--gpu-class", "H100-80GB", "--memory-mb", "81920", "--max-concurrent", "3",
             "--model", kModel});
  EXPECT_EQ(wallet_json({"miners"})["miners"][0]["gpu_class"], "H100-80GB");

  // The dev account submits a task; the scheduler assigns it to the only miner.
  json submitted = wallet_json({"task", "submit", "--from", "dev", "--model", kModel, "--prompt", "hello", "--max-tokens", "8",
                                "--temperature", "0.7", "--top-p", "0.9", "--seed", "3", "--max-fee", "1000"});
  ASSERT_TRUE(submitted.contains("task_id")) << submitted.dump();
  const std::string task_id = std::to_string(submitted["task_id"].get<uint64_t>());
  json task;
  for (int i = 0; i < 100; ++i) {
    task = wallet_json({"task", "show", task_id});
    if (task.value("status", std::string()) == "assigned") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(task["status"], "assigned") << task.dump();
  EXPECT_EQ(task["miner"], miner);
  EXPECT_EQ(task["params"]["temperature_milli"], 700);
  EXPECT_EQ(task["params"]["top_p_milli"], 900);
  EXPECT_EQ(task["max_fee"], "1000");
  json listed = wallet_json({"task", "list", "--from", task_id, "--limit", "5"});
  ASSERT_EQ(listed["tasks"].size(), 1u);
  // Only a pending task can be cancelled: the node says why not.
  auto cancel = wallet({"task", "cancel", task_id, "--from", "dev", "--wait"});
  EXPECT_EQ(cancel.exit_code, 1);
  EXPECT_NE(cancel.err.find("assigned"), std::string::npos) << cancel.err;
  // A verdict before any result is refused by the node.
  auto early = wallet({"verdict", "--from", "validator", "--task", task_id, "--accept", "--wait"});
  EXPECT_EQ(early.exit_code, 1);
  EXPECT_NE(early.err.find("verdict"), std::string::npos) << early.err;

  // Weights: commit now, reveal inside the next epoch's window.
  json commit = wallet_ok({"weights", "commit", "--from", "validator", "--weights", std::to_string(miner_uid) + ":65535"});
  const uint64_t epoch = commit["epoch"];
  const uint64_t commit_height = commit["receipt"]["height"];
  EXPECT_EQ(commit_height / kTempo, epoch);
  wait_for_height((epoch + 1) * kTempo);
  json reveal = wallet_ok({"weights", "reveal", "--from", "validator"});
  EXPECT_EQ(reveal["epoch"], epoch);
  EXPECT_EQ(reveal["type"], "RevealWeights");
  json shown = wallet_json({"weights", "show", "validator"});
  ASSERT_TRUE(shown["weights"].is_object()) << shown.dump();
  EXPECT_EQ(shown["weights"]["weights"], (json::array({{{"uid", miner_uid}, {"weight", 65535}}})));
  // The same reveal again has no commit left to match.
  auto twice = wallet({"weights", "reveal", "--from", "validator", "--epoch", std::to_string(epoch), "--wait"});
  EXPECT_EQ(twice.exit_code, 1) << twice.err;

  // The epoch boundary ran Yuma at least once by now.
  wait_for_height((epoch + 2) * kTempo + 1);
  json last = wallet_json({"epoch"});
  ASSERT_TRUE(last["epoch"].is_object()) << last.dump();
  EXPECT_FALSE(last["epoch"]["uids"].empty());

  // The miner unstakes everything (allowed down to zero).
  wallet_ok({"unstake", "--from", "miner", "--role", "miner", "--amount", "5000"});
  EXPECT_EQ(wallet_json({"stake", "show", miner})["miner"], "0");

  json validators = wallet_json({"validators"});
  ASSERT_EQ(validators["validators"].size(), 1u);
  EXPECT_EQ(validators["validators"][0]["name"], "v0");
}

TEST_F(WalletSettlementNode, BadInputExitsTwoAndNodeRefusalsExitOneWithTheReason) {
  EXPECT_EQ(wallet({"stake", "--from", "dev", "--role", "boss", "--amount", "5"}).exit_code, 2);
  EXPECT_EQ(wallet({"weights", "commit", "--from", "validator", "--weights", "1:"}).exit_code, 2);
  EXPECT_EQ(wallet({"task", "submit", "--from", "dev", "--model", kModel, "--prompt", "x", "--max-tokens", "4", "--max-fee",
                    "10", "--temperature", "abc"})
                .exit_code,
            2);
  // Only validators register models.
  auto not_validator = wallet({"register-model", "--from", "dev", "--model-id", kModel, "--name", "m", "--architecture", "llama",
                               "--price-per-token", "1", "--context-limit", "16", "--wait"});
  EXPECT_EQ(not_validator.exit_code, 1);
  EXPECT_NE(not_validator.err.find("validators"), std::string::npos) << not_validator.err;
  // Unstaking what was never staked.
  auto beyond = wallet({"unstake", "--from", "dev", "--role", "miner", "--amount", "5", "--wait"});
  EXPECT_EQ(beyond.exit_code, 1);
  EXPECT_NE(beyond.err.find("exceeds"), std::string::npos) << beyond.err;
  // A task for an unknown model.
  auto unknown = wallet({"task", "submit", "--from", "dev", "--model", kModel, "--prompt", "x", "--max-tokens", "4", "--max-fee", "10"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("not registered"), std::string::npos) << unknown.err;
  // A reveal with nothing saved is a usage error, a commit in a wrong epoch the node's refusal.
  EXPECT_EQ(wallet({"weights", "reveal", "--from", "validator", "--epoch", "0"}).exit_code, 2);
  auto wrong_epoch = wallet({"weights", "commit", "--from", "validator", "--weights", "0:1", "--epoch", "999", "--wait"});
  EXPECT_EQ(wrong_epoch.exit_code, 1);
  EXPECT_NE(wrong_epoch.err.find("epoch"), std::string::npos) << wrong_epoch.err;
  EXPECT_EQ(wallet({"task", "show", "42"}).exit_code, 1);
}

// A user names the model and waits: the wallet follows the task through assignment, the
// miner's result, the validator's verdict and settlement, then gives the text, the miner, the
// verdicts and the fee.
TEST_F(WalletSettlementNode, TaskSubmitByModelNameWaitsThroughResultVerdictAndSettlement) {
  const auto miner = setup_model_and_miner();
  const std::string miner_addr = chain::address_to_string(miner.public_key());
  const std::string validator = wallet_json({"address", "validator"})["address"];
  auto follow = std::async(std::launch::async, [&] {
    return wallet({"--json", "task", "submit", "--from", "dev", "--model", "tiny", "--prompt", "Once upon a time", "--max-tokens", "8",
                   "--wait", "--wait-timeout", "60"});
  });
  const json assigned = wait_for_task(1, "assigned");
  EXPECT_EQ(assigned["miner"], miner_addr);
  EXPECT_EQ(assigned["max_fee"], "16");  // the default: price 2 x 8 tokens
  // What a restarted miner asks for: its open assignments.
  json open = rpc("task_assigned", json{{"miner", miner_addr}});
  ASSERT_TRUE(open.is_array()) << open.dump();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0]["id"], 1);
  EXPECT_EQ(rpc("task_assigned", json::array({validator})), json::array());
  send_result(miner, assigned, {413, 1092, 7, 99, 5}, "there was a dog.");
  wait_for_task(1, "submitted");
  EXPECT_EQ(rpc("task_assigned", json{{"miner", miner_addr}}), json::array());
  // What a restarted verifier asks for: results it has not judged yet.
  json awaiting = rpc("task_awaitingVerdict", json{{"validator", validator}});
  ASSERT_TRUE(awaiting.is_array()) << awaiting.dump();
  ASSERT_EQ(awaiting.size(), 1u);
  EXPECT_EQ(awaiting[0]["result"]["text"], "there was a dog.");
  wallet_ok({"verdict", "--from", "validator", "--task", "1", "--accept"});
  if (rpc("task_get", json::array({1})).value("status", std::string()) == "submitted") {  // the window is still open
    EXPECT_EQ(rpc("task_awaitingVerdict", json{{"validator", validator}}), json::array());
    EXPECT_EQ(rpc("task_awaitingVerdict", json::array()).size(), 1u);  // without a validator: every open one
  }
  auto r = follow.get();
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["task_id"], 1);
  EXPECT_EQ(j["status"], "settled");
  EXPECT_EQ(j["text"], "there was a dog.");
  EXPECT_EQ(j["miner"], miner_addr);
  EXPECT_EQ(j["fee_paid"], "10");  // 5 tokens at 2
  EXPECT_EQ(j["refunded"], "6");
  ASSERT_EQ(j["verdicts"].size(), 1u);
  EXPECT_EQ(j["verdicts"][0]["validator"], validator);
  EXPECT_EQ(j["verdicts"][0]["accept"], true);
  std::vector<std::string> stages;
  for (const auto& st : j["stages"]) stages.push_back(st["stage"]);
  EXPECT_EQ(stages, (std::vector<std::string>{"assigned", "result", "verdict", "settled"})) << j["stages"].dump();
  EXPECT_EQ(j["stages"][0]["miner"], miner_addr);
  EXPECT_EQ(j["stages"][1]["tokens"], 5);
  EXPECT_EQ(j["stages"][3]["miner_paid"], "9");  // 10% of the fee to the (only) validator
  // task show prints the text and the verdict too.
  auto shown = wallet({"task", "show", "1"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("text:             there was a dog."), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("verdict:          " + validator + " accept"), std::string::npos) << shown.out;
  // The result transaction keeps the fingerprints a verifier needs.
  json tx = rpc("chain_getTx", json::array({j["task"]["result"]["tx_hash"]}));
  EXPECT_EQ(tx["tx"]["payload"]["fingerprints"].size(), 5u) << tx.dump();
}

TEST_F(WalletSettlementNode, WaitingInTextModePrintsEachStageThenTheTextAndARejection) {
  const auto miner = setup_model_and_miner();
  auto follow = std::async(std::launch::async, [&] {
    return wallet({"task", "submit", "--from", "dev", "--model", "tiny", "--prompt", "Tell me", "--max-tokens", "4", "--max-fee", "100",
                   "--wait", "--wait-timeout", "60"});
  });
  send_result(miner, wait_for_task(1, "assigned"), {1, 2, 3}, "abc");
  wait_for_task(1, "submitted");
  // The only validator rejects for a reason the chain cannot check: the >2/3 rule alone decides.
  wallet_ok({"verdict", "--from", "validator", "--task", "1", "--reject", "--reason", "verify.text_mismatch"});
  auto r = follow.get();
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  size_t at = 0;
  for (const char* line : {"task:             1", "assigned:         miner ", "result:           3 tokens",
                           "verdict:          ", " reject verify.text_mismatch\n", "rejected:         ",
                           "refunded 100", "status:           rejected", "text:             abc"}) {
    size_t found = r.out.find(line, at);
    ASSERT_NE(found, std::string::npos) << "missing \"" << line << "\" in order in:\n" << r.out;
    at = found;
  }
  // A name nobody registered is the node's fact (exit 1); the same name twice is ambiguous (exit 2).
  auto unknown = wallet({"task", "submit", "--from", "dev", "--model", "nope", "--prompt", "x", "--max-tokens", "2"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.err;
  EXPECT_NE(unknown.err.find("no model named \"nope\""), std::string::npos) << unknown.err;
  wallet_ok({"register-model", "--from", "validator", "--model-id", std::string(64, '8'), "--name", "tiny", "--architecture", "llama",
             "--price-per-token", "1", "--context-limit", "64"});
  auto twice = wallet({"task", "submit", "--from", "dev", "--model", "tiny", "--prompt", "x", "--max-tokens", "2"});
  EXPECT_EQ(twice.exit_code, 2) << twice.err;
  EXPECT_NE(twice.err.find("2 models are named \"tiny\""), std::string::npos) << twice.err;
}

}  // namespace
}  // namespace ig::wallet
