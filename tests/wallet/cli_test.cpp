// infergrid-wallet run as a real process: argument validation and exit codes, key commands,
// and offline signing. Nothing here needs a node; the node URL points at a closed port so an
// accidental network call fails loudly.
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "common/dir_lock.hpp"
#include "fixtures.hpp"
#include "run_process.hpp"
#include "wallet/transfer.hpp"
#include "wallet/wallet_dir.hpp"

namespace ig::wallet {
namespace {

using json = nlohmann::json;
using testing::ProcessResult;

constexpr const char* kDeadNode = "ws://127.0.0.1:1";

class WalletCli : public ::testing::Test {
 protected:
  void SetUp() override {
    wallet_dir_ = dir_.file("wallet");
    auto w = Wallet::open(wallet_dir_);
    ASSERT_TRUE(w);
    alice_key_ = chain::SecretKey::generate();
    ASSERT_TRUE(w->import("alice", *alice_key_, "alice-pw", testing::kFastKdf));
    testing::write_text(dir_.file("alice.pw"), "alice-pw\n");
    bob_ = chain::address_to_string(chain::SecretKey::generate().public_key());
  }

  std::map<std::string, std::string> env() const {
    return {{"HOME", dir_.path()}, {"INFERGRID_WALLET_DIR", wallet_dir_}, {"INFERGRID_NODE", kDeadNode}};
  }

  ProcessResult wallet(std::vector<std::string> args, std::map<std::string, std::string> extra_env = {},
                       const std::string& stdin_text = "") const {
    auto e = env();
    for (auto& [k, v] : extra_env) e[k] = v;
    return testing::run_process(INFERGRID_WALLET_BIN, args, e, stdin_text);
  }

  std::string pw_file() const { return dir_.file("alice.pw"); }

  testing::ScratchDir dir_;
  std::string wallet_dir_;
  std::optional<chain::SecretKey> alice_key_;
  std::string bob_;
};

void expect_usage_error(const ProcessResult& r, const std::string& stderr_part) {
  EXPECT_EQ(r.exit_code, 2) << "stdout: " << r.out << "\nstderr: " << r.err;
  EXPECT_NE(r.err.find(stderr_part), std::string::npos) << "stderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

json parse_stdout(const ProcessResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r.out;
  return j;
}

TEST_F(WalletCli, HelpSucceedsAndUnknownCommandsAreUsageErrors) {
  auto help = wallet({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("send"), std::string::npos);
  expect_usage_error(wallet({"frobnicate"}), "error:");
  expect_usage_error(wallet({}), "error:");
  expect_usage_error(wallet({"send", "--from", "alice"}), "--to");
  expect_usage_error(wallet({"--timeout", "0", "list"}), "--timeout");
}

TEST_F(WalletCli, BadAmountsAreRejectedBeforeAnythingElse) {
  for (const char* amount : {"-5", "1.5", "abc", "1e3", "18446744073709551616", "", "0x10"}) {
    SCOPED_TRACE(amount);
    expect_usage_error(wallet({"send", "--from", "alice", "--to", bob_, "--amount", amount}), "--amount");
  }
  expect_usage_error(wallet({"send", "--from", "alice", "--to", bob_, "--amount", "5", "--fee", "-1"}), "--fee");
  expect_usage_error(wallet({"send", "--from", "alice", "--to", bob_, "--amount", "5", "--nonce", "x"}), "--nonce");
  expect_usage_error(wallet({"send", "--from", "alice", "--to", bob_, "--amount", "5", "--expiry-blocks", "-1"}),
                     "--expiry-blocks");
}

TEST_F(WalletCli, BadAddressesAreRejected) {
  std::string typo = bob_;
  typo[8] = typo[8] == 'q' ? 'p' : 'q';
  for (const std::string& to : {typo, std::string("ig1"), std::string("bob"), bob_.substr(0, bob_.size() - 2)}) {
    SCOPED_TRACE(to);
    expect_usage_error(wallet({"send", "--from", "alice", "--to", to, "--amount", "5"}), "not a valid ig1 address");
  }
}

TEST_F(WalletCli, UnknownKeyNamesAreUsageErrors) {
  expect_usage_error(wallet({"send", "--from", "carol", "--to", bob_, "--amount", "5"}), "no key named \"carol\"");
  expect_usage_error(wallet({"address", "carol"}), "no key named \"carol\"");
  expect_usage_error(wallet({"balance", "carol"}), "no key named \"carol\"");
  expect_usage_error(
      wallet({"sign", "--from", "carol", "--to", bob_, "--amount", "1", "--nonce", "0", "--fee", "1", "--chain-id", "c", "-o", "-"}),
      "carol");
}

TEST_F(WalletCli, NoPasswordSourceWithoutATerminalIsAClearUsageError) {
  auto r = wallet({"new", "--name", "carol"});
  expect_usage_error(r, "--password-file");
  EXPECT_NE(r.err.find("INFERGRID_PASSWORD"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(wallet_dir_ + "/carol.json"));
  expect_usage_error(wallet({"sign", "--from", "alice", "--to", bob_, "--amount", "1", "--nonce", "0", "--fee", "1",
                             "--chain-id", "c", "-o", "-"}),
                     "--password-file");
}

TEST_F(WalletCli, NewListAndAddressWithJsonOutput) {
  auto created = wallet({"--password-file", pw_file(), "--json", "new", "--name", "carol"});
  json c = parse_stdout(created);
  EXPECT_EQ(c["name"], "carol");
  ASSERT_TRUE(c["address"].is_string());
  EXPECT_TRUE(chain::address_from_string(c["address"].get<std::string>()));
  EXPECT_EQ(c["file"], wallet_dir_ + "/carol.json");
  struct stat st {};
  ASSERT_EQ(::stat((wallet_dir_ + "/carol.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The key opens with the password from the file.
  auto key = read_keystore(wallet_dir_ + "/carol.json", "alice-pw");
  ASSERT_TRUE(key);
  EXPECT_EQ(chain::address_to_string(key->public_key()), c["address"]);

  json l = parse_stdout(wallet({"list", "--json"}));  // global options may follow the command
  ASSERT_EQ(l["keys"].size(), 2u);
  EXPECT_EQ(l["keys"][0]["name"], "alice");
  EXPECT_EQ(l["keys"][1]["name"], "carol");
  EXPECT_EQ(l["keys"][0]["address"], chain::address_to_string(alice_key_->public_key()));

  json a = parse_stdout(wallet({"--json", "address", "carol"}));
  EXPECT_EQ(a["address"], c["address"]);
  auto plain = wallet({"address", "carol"});
  EXPECT_EQ(plain.exit_code, 0);
  EXPECT_EQ(plain.out, c["address"].get<std::string>() + "\n");

  expect_usage_error(wallet({"--password-file", pw_file(), "new", "--name", "carol"}), "already exists");
  expect_usage_error(wallet({"--password-file", pw_file(), "new", "--name", "../evil"}), "key name");
}

TEST_F(WalletCli, EnvironmentPasswordWorksForScripts) {
  auto r = wallet({"--json", "new", "--name", "dave"}, {{"INFERGRID_PASSWORD", "env-pw"}});
  json d = parse_stdout(r);
  EXPECT_TRUE(read_keystore(wallet_dir_ + "/dave.json", "env-pw"));
}

TEST_F(WalletCli, ImportFromFileAndStdinButNotTwice) {
  const auto key = chain::SecretKey::generate();
  const std::string hex = chain::to_hex(key.bytes());
  testing::write_text(dir_.file("secret"), hex + "\n");
  json e = parse_stdout(wallet({"--password-file", pw_file(), "--json", "import", "--name", "erin", "--secret-file", dir_.file("secret")}));
  EXPECT_EQ(e["address"], chain::address_to_string(key.public_key()));

  const auto key2 = chain::SecretKey::generate();
  json f = parse_stdout(wallet({"--password-file", pw_file(), "--json", "import", "--name", "frank", "--secret-file", "-"}, {},
                               chain::to_hex(key2.bytes()) + "\n"));
  EXPECT_EQ(f["address"], chain::address_to_string(key2.public_key()));
  auto back = read_keystore(wallet_dir_ + "/frank.json", "alice-pw");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->bytes(), key2.bytes());

  expect_usage_error(wallet({"--password-file", pw_file(), "import", "--name", "erin2", "--secret-file", dir_.file("secret")}),
                     "already in the wallet as \"erin\"");
  expect_usage_error(wallet({"--password-file", pw_file(), "import", "--name", "g", "--secret-hex", "abcd"}), "64 hex digits");
  expect_usage_error(wallet({"--password-file", pw_file(), "import", "--name", "g"}), "--secret-file");
  expect_usage_error(wallet({"--password-file", pw_file(), "import", "--name", "g", "--secret-file", dir_.file("none")}),
                     "cannot read secret file");
}

TEST_F(WalletCli, OfflineSignWritesATransactionThatDecodesAndVerifies) {
  const std::string out = dir_.file("tx.json");
  auto r = wallet({"--password-file", pw_file(), "--json", "sign", "--from", "alice", "--to", bob_, "--amount", "250",
                   "--nonce", "3", "--fee", "1500", "--chain-id", "infergrid-test", "--expiry-height", "99", "--memo",
                   "hello", "-o", out});
  json summary = parse_stdout(r);
  auto file = read_signed_tx_file(out);
  ASSERT_TRUE(file) << file.error().to_string();
  const chain::Transaction& tx = file->tx;
  EXPECT_TRUE(chain::verify_tx_signature(tx));
  EXPECT_EQ(tx.body.chain_id, "infergrid-test");
  EXPECT_EQ(tx.body.sender, alice_key_->public_key());
  EXPECT_EQ(tx.body.nonce, 3u);
  EXPECT_EQ(tx.body.fee, 1500u);
  EXPECT_EQ(tx.body.expiry_height, 99u);
  const auto& t = std::get<chain::Transfer>(tx.body.payload);
  EXPECT_EQ(chain::address_to_string(t.to), bob_);
  EXPECT_EQ(t.amount, 250u);
  EXPECT_EQ(t.memo, "hello");
  EXPECT_EQ(summary["tx_hash"], chain::to_hex(chain::tx_hash(tx)));
  EXPECT_EQ(summary["file"], out);

  // "-o -" prints the same file format on stdout.
  auto piped = wallet({"--password-file", pw_file(), "sign", "--from", "alice", "--to", bob_, "--amount", "1",
                       "--nonce", "0", "--fee", "1", "--chain-id", "c", "-o", "-"});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  auto parsed = parse_signed_tx(piped.out);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  EXPECT_EQ(parsed->tx.body.chain_id, "c");
}

TEST_F(WalletCli, SignNeedsTheRightPasswordAndValidArguments) {
  testing::write_text(dir_.file("wrong.pw"), "nope\n");
  auto r = wallet({"--password-file", dir_.file("wrong.pw"), "sign", "--from", "alice", "--to", bob_, "--amount", "1",
                   "--nonce", "0", "--fee", "1", "--chain-id", "c", "-o", dir_.file("tx.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("wrong password or corrupted keystore"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.file("tx.json")));

  const std::vector<std::string> base = {"--password-file", pw_file(), "sign", "--from", "alice", "--to", bob_,
                                         "--amount", "1", "--nonce", "0", "--fee", "1", "-o", "-"};
  auto with = [&](std::vector<std::string> extra) {
    auto args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return wallet(args);
  };
  expect_usage_error(with({"--chain-id", ""}), "chain id");
  expect_usage_error(with({"--chain-id", "has space"}), "chain id");
  expect_usage_error(with({"--chain-id", "c", "--expiry-height", "-3"}), "--expiry-height");
  expect_usage_error(with({"--chain-id", "c", "--memo", std::string(257, 'm')}), "memo");
  expect_usage_error(with({}), "--chain-id");
}

TEST_F(WalletCli, BroadcastChecksTheFileBeforeContactingTheNode) {
  testing::write_text(dir_.file("junk.json"), "{\"tx\":\"00ff\"}");
  expect_usage_error(wallet({"broadcast", dir_.file("junk.json")}), "not a valid transaction");
  expect_usage_error(wallet({"broadcast", dir_.file("missing.json")}), "cannot read");

  auto tx = *sign_transfer(TransferSpec{"c", chain::SecretKey::generate().public_key(), 5, 1, 0, 0, ""}, *alice_key_);
  chain::Transaction forged = tx;
  std::get<chain::Transfer>(forged.body.payload).amount = 500;
  testing::write_text(dir_.file("forged.json"), json{{"tx", chain::to_hex(chain::encode_tx(forged))}}.dump());
  expect_usage_error(wallet({"broadcast", dir_.file("forged.json")}), "signature");

  // A good file reaches the network step, which fails against the closed port: exit 1.
  testing::write_text(dir_.file("good.json"), signed_tx_to_json(tx));
  auto r = wallet({"--timeout", "2", "broadcast", dir_.file("good.json")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("error:"), std::string::npos);
}

TEST_F(WalletCli, NetworkFailuresExitWithOne) {
  auto r = wallet({"--timeout", "2", "balance", bob_});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_FALSE(r.err.empty());
  auto s = wallet({"--timeout", "2", "--password-file", pw_file(), "send", "--from", "alice", "--to", bob_, "--amount", "5"});
  EXPECT_EQ(s.exit_code, 1) << s.err;
  expect_usage_error(wallet({"--node", "ftp://x", "--password-file", pw_file(), "balance", bob_}), "ws://");
  expect_usage_error(wallet({"tx", "1234"}), "hash");
}

// Fault 5 of issue 7: an argument that takes "a key name or an address" and is a mistyped
// address must say what is wrong with the address, not "no key named ...".
TEST_F(WalletCli, MistypedAddressesGetTheDecodersReasonNotNoKeyNamed) {
  const auto payload = *chain::convert_bits(chain::Bytes(20, 7), 8, 5, true);
  const auto full = *chain::convert_bits(chain::Bytes(32, 7), 8, 5, true);
  std::string typo = bob_;
  typo[8] = typo[8] == 'q' ? 'p' : 'q';
  std::string bad_char = bob_;
  bad_char[8] = 'b';  // not in the bech32 alphabet
  const std::vector<std::pair<std::string, std::string>> cases = {
      {typo, "checksum does not match"},
      {bad_char, "invalid data character 'b'"},
      {chain::bech32m_encode("ig", payload), "payload must be 32 bytes"},
      {chain::bech32m_encode("tig", full), "must start with \"ig1\""},
      {"ig1", "checksum too short"},
      {"IG1" + bob_.substr(3), "mixes upper and lower case"},
  };
  for (const auto& [arg, reason] : cases) {
    SCOPED_TRACE(arg);
    const std::vector<std::vector<std::string>> commands = {
        {"balance", arg},
        {"address", arg},
        {"stake", "show", arg},
        {"weights", "show", arg},
        {"--password-file", pw_file(), "send", "--from", arg, "--to", bob_, "--amount", "1"},
        {"--password-file", pw_file(), "sign", "--from", arg, "--to", bob_, "--amount", "1", "--nonce", "0", "--fee", "1",
         "--chain-id", "c", "-o", "-"},
        {"--password-file", pw_file(), "stake", "--from", arg, "--role", "miner", "--amount", "5"},
        {"--password-file", pw_file(), "send", "--from", "alice", "--to", arg, "--amount", "1"},
        {"validator", "propose", "--from", "alice", "--consensus-key", chain::to_hex(alice_key_->public_key()), "--account", arg,
         "--name", "v"},
    };
    for (const auto& cmd : commands) {
      SCOPED_TRACE(::testing::PrintToString(cmd));
      auto r = wallet(cmd);
      expect_usage_error(r, reason);
      EXPECT_NE(r.err.find("not a valid ig1 address"), std::string::npos) << r.err;
      EXPECT_EQ(r.err.find("no key named"), std::string::npos) << r.err;
    }
  }
  // A plain name that is not in the wallet still says exactly that, for every such argument.
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
           {"balance", "carol"}, {"stake", "show", "carol"}, {"weights", "show", "carol"}, {"address", "carol"}}) {
    auto r = wallet(cmd);
    expect_usage_error(r, "no key named \"carol\"");
  }
  // ...and a recipient, which must be an address, says so instead of quoting the decoder.
  expect_usage_error(wallet({"send", "--from", "alice", "--to", "carol", "--amount", "1"}), "does not start with \"ig1\"");
}

TEST_F(WalletCli, KeyNamesThatReadAsAddressesAreRefusedButOldOnesStillOpen) {
  expect_usage_error(wallet({"--password-file", pw_file(), "new", "--name", "ig1mykey"}), "must not look like an address");
  expect_usage_error(wallet({"--password-file", pw_file(), "new", "--name", "IG1x"}), "must not look like an address");
  EXPECT_FALSE(std::filesystem::exists(wallet_dir_ + "/ig1mykey.json"));
  // A key stored under such a name before the rule existed is still found by its name.
  const auto key = chain::SecretKey::generate();
  ASSERT_TRUE(write_keystore(wallet_dir_ + "/ig1legacy.json", "ig1legacy", key, "pw", testing::kFastKdf));
  auto r = wallet({"address", "ig1legacy"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, chain::address_to_string(key.public_key()) + "\n");
}

// Fault 3 of issue 7 (wallet part): two wallet processes writing one wallet directory.
TEST_F(WalletCli, TwoProcessesCreatingOneNameGetOneKeyAndOneClearRefusal) {
  for (int round = 0; round < 3; ++round) {
    const std::string name = "race" + std::to_string(round);
    ProcessResult results[2];
    std::thread a([&] { results[0] = wallet({"--password-file", pw_file(), "--json", "new", "--name", name}); });
    std::thread b([&] { results[1] = wallet({"--password-file", pw_file(), "--json", "new", "--name", name}); });
    a.join();
    b.join();
    const int winner = results[0].exit_code == 0 ? 0 : 1;
    const ProcessResult& won = results[winner];
    const ProcessResult& lost = results[1 - winner];
    ASSERT_EQ(won.exit_code, 0) << won.err;
    EXPECT_EQ(lost.exit_code, 2) << lost.err;
    EXPECT_NE(lost.err.find("a key named \"" + name + "\" already exists"), std::string::npos) << lost.err;
    // The keystore is the winner's and whole.
    const json created = json::parse(won.out);
    auto key = read_keystore(wallet_dir_ + "/" + name + ".json", "alice-pw");
    ASSERT_TRUE(key) << key.error().to_string();
    EXPECT_EQ(chain::address_to_string(key->public_key()), created["address"]);
  }
  auto listed = wallet({"list"});
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_EQ(listed.err, "");  // the LOCK file the writers left is not "skipped"
}

TEST_F(WalletCli, AWalletDirectoryInUseIsAClearErrorNamingTheHolder) {
  auto held = DirLock::acquire(wallet_dir_, "other-writer");
  ASSERT_TRUE(held) << held.error().to_string();
  auto r = wallet({"--password-file", pw_file(), "new", "--name", "dave"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(wallet_dir_ + " is in use by another process (pid " + std::to_string(::getpid()) + " (other-writer))"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(wallet_dir_ + "/dave.json"));
  // Readers do not need the lock.
  EXPECT_EQ(wallet({"address", "alice"}).exit_code, 0);
  held->release();
  EXPECT_EQ(wallet({"--password-file", pw_file(), "new", "--name", "dave"}).exit_code, 0);
}

}  // namespace
}  // namespace ig::wallet
