// infergrid-wallet's settlement commands run as a real process without a node: every bad
// argument exits 2 before the node or the password is needed, and --offline signs every kind
// into a file that decodes, verifies and carries exactly what was typed.
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixtures.hpp"
#include "run_process.hpp"
#include "wallet/transaction.hpp"
#include "wallet/wallet_dir.hpp"
#include "wallet/weights_file.hpp"
#include "chain/hash.hpp"
#include "chain/json_view.hpp"

namespace ig::wallet {
namespace {

using json = nlohmann::json;
using testing::ProcessResult;

constexpr const char* kDeadNode = "ws://127.0.0.1:1";

std::string join(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
  return s;
}
const std::string kModel(64, 'a');

class WalletSettlementCli : public ::testing::Test {
 protected:
  void SetUp() override {
    wallet_dir_ = dir_.file("wallet");
    auto w = Wallet::open(wallet_dir_);
    ASSERT_TRUE(w);
    key_ = chain::SecretKey::generate();
    ASSERT_TRUE(w->import("val", *key_, "pw", testing::kFastKdf));
    testing::write_text(dir_.file("pw"), "pw\n");
  }

  ProcessResult wallet(std::vector<std::string> args) const {
    std::map<std::string, std::string> env = {
        {"HOME", dir_.path()}, {"INFERGRID_WALLET_DIR", wallet_dir_}, {"INFERGRID_NODE", kDeadNode}};
    args.insert(args.begin(), {"--password-file", dir_.file("pw")});
    return testing::run_process(INFERGRID_WALLET_BIN, args, env);
  }

  // Runs a command with the offline options and returns the transaction it wrote.
  chain::Transaction sign_offline(std::vector<std::string> args) const {
    const std::string file = dir_.file("tx.json");
    for (const char* a : {"--from", "val", "--offline", "--chain-id", "test-chain", "--nonce", "4", "--fee", "3000", "-o"})
      args.push_back(a);
    args.push_back(file);
    auto r = wallet(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto parsed = read_signed_tx_file(file);
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().message);
    if (!parsed) return {};
    EXPECT_TRUE(chain::verify_tx_signature(parsed->tx));
    EXPECT_EQ(parsed->tx.body.sender, key_->public_key());
    EXPECT_EQ(parsed->tx.body.chain_id, "test-chain");
    EXPECT_EQ(parsed->tx.body.nonce, 4u);
    EXPECT_EQ(parsed->tx.body.fee, 3000u);
    return parsed->tx;
  }

  void expect_usage(std::vector<std::string> args, const std::string& stderr_part) const {
    auto r = wallet(args);
    EXPECT_EQ(r.exit_code, 2) << "args: " << join(args) << "\nstderr: " << r.err;
    EXPECT_NE(r.err.find(stderr_part), std::string::npos) << "args: " << join(args) << "\nstderr: " << r.err;
  }

  testing::ScratchDir dir_;
  std::string wallet_dir_;
  std::optional<chain::SecretKey> key_;
};

TEST_F(WalletSettlementCli, BadStakeArgumentsExitTwo) {
  expect_usage({"stake", "--from", "val", "--role", "boss", "--amount", "5"}, "--role");
  expect_usage({"stake", "--from", "val", "--role", "miner", "--amount", "-5"}, "--amount");
  expect_usage({"stake", "--from", "val", "--role", "miner", "--amount", "0"}, "--amount");
  expect_usage({"stake", "--from", "val", "--role", "miner"}, "--amount");
  expect_usage({"stake", "--role", "miner", "--amount", "5"}, "--from");
  expect_usage({"unstake", "--from", "val", "--role", "Validator", "--amount", "5"}, "--role");
  expect_usage({"stake", "--from", "nobody", "--role", "miner", "--amount", "5"}, "nobody");
  expect_usage({"stake", "show"}, "account");
}

TEST_F(WalletSettlementCli, BadWeightsExitTwo) {
  for (const char* w : {"1:", "x:5", "1:5,1:6", "1:65536", "70000:1", "", "1:5,"})
    expect_usage({"weights", "commit", "--from", "val", "--weights", w}, "--weights");
  expect_usage({"weights", "commit", "--from", "val", "--weights", "1:5", "--epoch", "-1"}, "--epoch");
  expect_usage({"weights", "commit", "--from", "val", "--weights", "1:5", "--offline", "--chain-id", "c", "--nonce", "0",
                "--fee", "1", "-o", dir_.file("x.json")},
               "--epoch");
  expect_usage({"weights", "reveal", "--from", "val", "--epoch", "3"}, "no saved weights");
}

TEST_F(WalletSettlementCli, BadTaskArgumentsExitTwo) {
  const std::vector<std::string> base = {"task", "submit", "--from", "val", "--model", kModel, "--prompt", "hi",
                                         "--max-tokens", "8", "--max-fee", "100"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  expect_usage(with({"--temperature", "abc"}), "--temperature");
  expect_usage(with({"--temperature", "-0.5"}), "--temperature");
  expect_usage(with({"--temperature", "0.0001"}), "--temperature");
  expect_usage(with({"--top-p", "1.5"}), "--top-p");
  expect_usage(with({"--top-p", "0"}), "--top-p");
  expect_usage(with({"--top-k", "-1"}), "--top-k");
  expect_usage(with({"--seed", "1.5"}), "--seed");
  expect_usage(with({"--prompt-file", dir_.file("p.txt")}), "--prompt");
  // A model named rather than given by id, or a default max fee, needs the node's registry.
  const std::vector<std::string> offline = {"--offline", "--chain-id", "c", "--nonce", "0", "--fee", "1", "-o", dir_.file("x.json")};
  auto offline_with = [&](std::vector<std::string> a) {
    a.insert(a.end(), offline.begin(), offline.end());
    return a;
  };
  expect_usage(offline_with({"task", "submit", "--from", "val", "--model", "tiny", "--prompt", "hi", "--max-tokens", "8", "--max-fee", "1"}),
               "the model named \"tiny\"");
  expect_usage(offline_with({"task", "submit", "--from", "val", "--model", kModel, "--prompt", "hi", "--max-tokens", "8"}), "--max-fee");
  expect_usage(with({"--wait-timeout", "0"}), "--wait-timeout");
  expect_usage(with({"--temperature", "100.001"}), "temperature");
  expect_usage({"task", "submit", "--from", "val", "--model", kModel, "--prompt", "hi", "--max-tokens", "0", "--max-fee", "1"}, "--max-tokens");
  expect_usage({"task", "submit", "--from", "val", "--model", kModel, "--prompt-file", dir_.file("absent"), "--max-tokens", "8",
                "--max-fee", "1"},
               "absent");
  expect_usage({"task", "show", "x"}, "task id");
  expect_usage({"task", "list", "--limit", "0"}, "--limit");
  expect_usage({"task", "cancel", "-3", "--from", "val"}, "task id");
  expect_usage({"verdict", "--from", "val", "--task", "1"}, "--accept");
  expect_usage({"verdict", "--from", "val", "--task", "1", "--accept", "--reject", "--first-bad-step", "1"}, "--accept");
  expect_usage({"verdict", "--from", "val", "--task", "1", "--reject"}, "--reason");
  expect_usage({"verdict", "--from", "val", "--task", "1", "--accept", "--first-bad-step", "2"}, "--first-bad-step");
  expect_usage({"verdict", "--from", "val", "--task", "1", "--reject", "--reason", "Token Mismatch"}, "--reason");
  // Only the two reasons the chain cannot check may come without evidence.
  expect_usage({"verdict", "--from", "val", "--task", "1", "--reject", "--reason", "verify.token_mismatch"}, "--evidence-file");
  testing::write_text(dir_.file("bad-evidence.json"), R"({"claimed": {"token": 1, "logit_q": 2, "runner_up_q": 3}, "proof": {"index": 0}})");
  expect_usage({"verdict", "--from", "val", "--task", "1", "--reject", "--reason", "verify.token_mismatch", "--evidence-file",
                dir_.file("bad-evidence.json")},
               "evidence");
  testing::write_text(dir_.file("evidence.json"), R"({"claimed": {"token": 5, "logit_q": 2, "runner_up_q": 3},
    "proof": {"index": 1, "leaf_count": 2, "siblings": ["00000000000000000000000000000000000000000000000000000000000000aa"]},
    "recomputed": {"token": 6, "logit_q": 2, "runner_up_q": 3}})");
  expect_usage({"verdict", "--from", "val", "--task", "1", "--reject", "--reason", "verify.token_mismatch", "--evidence-file",
                dir_.file("evidence.json"), "--first-bad-step", "0"},
               "--first-bad-step");
}

TEST_F(WalletSettlementCli, BadRegistryAndValidatorArgumentsExitTwo) {
  const std::vector<std::string> miner = {"register-miner", "--from", "val", "--gpu-class", "cpu", "--memory-mb", "1024"};
  auto m = miner;
  m.insert(m.end(), {"--max-concurrent", "0", "--model", kModel});
  expect_usage(m, "--max-concurrent");
  m = miner;
  m.insert(m.end(), {"--max-concurrent", "2", "--model", kModel, "--model", kModel});
  expect_usage(m, "twice");
  m = miner;
  m.insert(m.end(), {"--max-concurrent", "2", "--model", "zz"});
  expect_usage(m, "model id");
  expect_usage({"update-miner", "--from", "val", "--gpu-class", "", "--memory-mb", "1", "--max-concurrent", "1", "--model", kModel},
               "--gpu-class");
  expect_usage({"register-model", "--from", "val", "--name", "n", "--architecture", "llama", "--price-per-token", "1",
                "--context-limit", "10"},
               "--model-file");
  expect_usage({"register-model", "--from", "val", "--model-id", kModel, "--name", "n", "--architecture", "llama",
                "--price-per-token", "1", "--context-limit", "0"},
               "--context-limit");
  expect_usage({"register-model", "--from", "val", "--model-file", dir_.file("none.gguf"), "--name", "n", "--architecture",
                "llama", "--price-per-token", "1", "--context-limit", "10"},
               "none.gguf");
  expect_usage({"validator", "propose", "--from", "val", "--consensus-key", "12", "--account",
                chain::address_to_string(key_->public_key()), "--name", "v"},
               "consensus key");
  expect_usage({"validator", "propose", "--from", "val", "--consensus-key", kModel, "--account", "ig1nope", "--name", "v"},
               "ig1nope");
  expect_usage({"validator", "approve", "--from", "val", "--proposal", "one"}, "--proposal");
  testing::write_text(dir_.file("ev.json"), "{\"a\": 1}");
  expect_usage({"evidence", "--from", "val", "--file", dir_.file("ev.json")}, "evidence");
  expect_usage({"stake", "--from", "val", "--role", "miner", "--amount", "5", "--offline"}, "--chain-id");
  expect_usage({"stake", "--from", "val", "--role", "miner", "--amount", "5", "--chain-id", "c"}, "--offline");
}

TEST_F(WalletSettlementCli, OfflineSigningCarriesEachKindsFields) {
  auto stake = sign_offline({"stake", "--role", "validator", "--amount", "2500"});
  EXPECT_EQ(stake.body.payload, chain::Payload(chain::Stake{chain::StakeRole::kValidator, 2500}));

  auto model_id = chain::from_hex_fixed<32>(kModel);
  auto miner = sign_offline({"register-miner", "--gpu-class", "H100-80GB", "--memory-mb", "81920", "--max-concurrent", "3",
                             "--model", kModel});
  EXPECT_EQ(miner.body.payload, chain::Payload(chain::RegisterMiner{{"H100-80GB", 81920, 3, {*model_id}}}));

  testing::write_text(dir_.file("prompt.txt"), "tell me\na story");
  auto task = sign_offline({"task", "submit", "--model", kModel, "--prompt-file", dir_.file("prompt.txt"), "--max-tokens", "32",
                            "--temperature", "0.7", "--top-k", "40", "--top-p", "0.95", "--seed", "9", "--max-fee", "777"});
  EXPECT_EQ(task.body.payload,
            chain::Payload(chain::SubmitTask{*model_id, "tell me\na story", {32, 700, 40, 950, 9}, 777}));

  // A reject with step evidence in the shape chain_getTx shows it; the step comes from the proof.
  chain::StepEvidence evidence{{311, -70000, 65536}, {2, 5, {chain::sha256(chain::view(std::string("a"))), chain::Hash{}}}, {290, 1, 0}};
  testing::write_text(dir_.file("evidence.json"), chain::step_evidence_to_json(evidence).dump(2));
  auto verdict = sign_offline({"verdict", "--task", "5", "--reject", "--reason", "verify.token_mismatch", "--evidence-file",
                               dir_.file("evidence.json")});
  EXPECT_EQ(verdict.body.payload, chain::Payload(chain::Verdict{5, false, 2, "verify.token_mismatch", evidence}));
  auto unchecked = sign_offline({"verdict", "--task", "5", "--reject", "--reason", "verify.text_mismatch"});
  EXPECT_EQ(unchecked.body.payload, chain::Payload(chain::Verdict{5, false, 0, "verify.text_mismatch", std::nullopt}));
  auto accept = sign_offline({"verdict", "--task", "5", "--accept"});
  EXPECT_EQ(accept.body.payload, chain::Payload(chain::Verdict{5, true, 0, "", std::nullopt}));

  // A GGUF file's id is its SHA-256.
  testing::write_text(dir_.file("m.gguf"), "GGUF fake bytes");
  auto model = sign_offline({"register-model", "--model-file", dir_.file("m.gguf"), "--name", "tiny", "--architecture", "qwen2",
                             "--price-per-token", "3", "--context-limit", "4096"});
  EXPECT_EQ(model.body.payload,
            chain::Payload(chain::RegisterModel{chain::sha256(chain::view(std::string("GGUF fake bytes"))), "tiny", "qwen2", 3, 4096}));

  auto approve = sign_offline({"validator", "approve", "--proposal", "7"});
  EXPECT_EQ(approve.body.payload, chain::Payload(chain::ApproveValidator{7}));
}

TEST_F(WalletSettlementCli, OfflineCommitSavesTheSaltAndRevealMatchesIt) {
  auto commit_tx = sign_offline({"weights", "commit", "--weights", "2:10,0:65535", "--epoch", "6"});
  const auto& commit = std::get<chain::CommitWeights>(commit_tx.body.payload);
  EXPECT_EQ(commit.epoch, 6u);
  const std::string secret_path = weights_secret_path(wallet_dir_, key_->public_key(), 6);
  struct stat st{};
  ASSERT_EQ(::stat(secret_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Without --epoch, an offline reveal takes the latest saved commitment.
  auto reveal_tx = sign_offline({"weights", "reveal"});
  const auto& reveal = std::get<chain::RevealWeights>(reveal_tx.body.payload);
  EXPECT_EQ(reveal.epoch, 6u);
  EXPECT_EQ(reveal.weights, (std::vector<chain::WeightEntry>{{0, 65535}, {2, 10}}));
  EXPECT_EQ(commit.commit, chain::weights_commit_hash(key_->public_key(), 6, reveal.weights, reveal.salt));

  // A second commit for the same epoch would lose the first salt: refused.
  auto again = wallet({"weights", "commit", "--from", "val", "--weights", "1:1", "--epoch", "6", "--offline", "--chain-id", "c",
                       "--nonce", "5", "--fee", "1", "-o", dir_.file("again.json")});
  EXPECT_NE(again.exit_code, 0);
}

TEST_F(WalletSettlementCli, SignedFilesOfAnyKindAreShownAsJson) {
  const std::string file = dir_.file("stake.json");
  auto r = wallet({"--json", "unstake", "--from", "val", "--role", "miner", "--amount", "10", "--offline", "--chain-id", "c",
                   "--nonce", "0", "--fee", "1500", "-o", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["type"], "Unstake");
  EXPECT_EQ(j["payload"], (json{{"role", "miner"}, {"amount", "10"}}));
  EXPECT_EQ(j["file"], file);
  // broadcast reads any kind; with the node unreachable it fails with exit 1 after parsing.
  auto b = wallet({"broadcast", file});
  EXPECT_EQ(b.exit_code, 1) << b.err;
}

}  // namespace
}  // namespace ig::wallet
