// genesis.json: the repository's example, round trips through genesis_to_json, and a clear
// error for every kind of bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/chain/fixtures.hpp"

namespace ig::testing {
namespace {

using json = nlohmann::json;

json valid_json() {
  TestKeys k;
  return json{
      {"chain_id", "ig-devnet"},
      {"genesis_time_ms", 1700000000000},
      {"params",
       {{"block_time_ms", 500},
        {"max_block_txs", 5000},
        {"max_block_bytes", 4194304},
        {"max_tx_bytes", 65536},
        {"fee", {{"base", "1500"}, {"per_byte", 2}}}}},
      {"validators",
       json::array({{{"name", "alpha"},
                     {"consensus_key", to_hex(k.validator.public_key())},
                     {"account", address_to_string(k.validator_account.public_key())},
                     {"stake", "1000000"}}})},
      {"accounts",
       json::array({{{"address", address_to_string(k.alice.public_key())}, {"balance", "18446744073709551000"}},
                    {{"address", address_to_string(k.bob.public_key())}, {"balance", 615}}})},
  };
}

Expected<Genesis> parse(const json& j) { return parse_genesis(j.dump()); }

void expect_error(const json& j, const std::string& code, const std::string& mentions) {
  auto g = parse(j);
  ASSERT_FALSE(g) << "accepted: " << j.dump();
  EXPECT_EQ(g.error().code, code) << g.error().to_string();
  EXPECT_NE(g.error().message.find(mentions), std::string::npos)
      << "message \"" << g.error().message << "\" should mention \"" << mentions << "\"";
}

TEST(ChainGenesis, ParsesEveryField) {
  TestKeys k;
  auto g = parse(valid_json());
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_EQ(g->chain_id, "ig-devnet");
  EXPECT_EQ(g->genesis_time_ms, 1700000000000u);
  EXPECT_EQ(g->params.block_time_ms, 500u);
  EXPECT_EQ(g->params.max_block_txs, 5000u);
  EXPECT_EQ(g->params.max_block_bytes, 4194304u);
  EXPECT_EQ(g->params.max_tx_bytes, 65536u);
  EXPECT_EQ(g->params.fee, (FeeSchedule{1500, 2}));
  ASSERT_EQ(g->validators.size(), 1u);
  EXPECT_EQ(g->validators[0], (Validator{k.validator.public_key(), k.validator_account.public_key(), 1000000, "alpha"}));
  ASSERT_EQ(g->accounts.size(), 2u);
  EXPECT_EQ(g->accounts[0], (GenesisAccount{k.alice.public_key(), 18446744073709551000ull}));
  EXPECT_EQ(g->accounts[1], (GenesisAccount{k.bob.public_key(), 615}));
}

TEST(ChainGenesis, DefaultsApplyWhenParamsAreOmitted) {
  json j = valid_json();
  j.erase("params");
  j.erase("accounts");
  j["validators"][0].erase("name");
  auto g = parse(j);
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_EQ(g->params, ChainParams{});
  EXPECT_TRUE(g->accounts.empty());
  EXPECT_EQ(g->validators[0].name, "validator-0");
}

TEST(ChainGenesis, RoundTripsThroughGenesisToJson) {
  auto g = parse(valid_json());
  ASSERT_TRUE(g);
  std::string text = genesis_to_json(*g);
  auto back = parse_genesis(text);
  ASSERT_TRUE(back) << back.error().to_string() << "\n" << text;
  EXPECT_EQ(*back, *g);
  EXPECT_EQ(genesis_hash(*back), genesis_hash(*g));
  EXPECT_EQ(genesis_to_json(*back), text);
}

TEST(ChainGenesis, HashCoversEveryPart) {
  Genesis g = *parse(valid_json());
  Hash h = genesis_hash(g);
  std::vector<std::function<void(Genesis&)>> edits = {
      [](Genesis& x) { x.chain_id += "x"; },
      [](Genesis& x) { x.genesis_time_ms++; },
      [](Genesis& x) { x.params.fee.per_byte++; },
      [](Genesis& x) { x.params.max_block_txs--; },
      [](Genesis& x) { x.validators[0].power++; },
      [](Genesis& x) { x.validators[0].name = "beta"; },
      [](Genesis& x) { x.accounts[1].balance++; },
      [](Genesis& x) { x.accounts.pop_back(); },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    Genesis e = g;
    edits[i](e);
    EXPECT_NE(genesis_hash(e), h) << "edit " << i;
  }
}

TEST(ChainGenesis, RepositoryGenesisFileParsesAndRoundTrips) {
  const std::string path = std::string(INFERGRID_SOURCE_DIR) + "/genesis.json";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " does not exist yet";
  auto g = load_genesis(path);
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_FALSE(g->chain_id.empty());
  EXPECT_FALSE(g->validators.empty());
  auto back = parse_genesis(genesis_to_json(*g));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, *g);
  // The example must be usable: a ledger initialises from it.
  TestChain chain(*g);
  EXPECT_EQ(chain.ledger->chain_id(), g->chain_id);
  EXPECT_EQ(chain.ledger->head().hash, genesis_hash(*g));
}

TEST(ChainGenesis, LoadReportsAMissingFile) {
  auto g = load_genesis("/nonexistent/genesis.json");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code, "genesis.io");
}

TEST(ChainGenesis, RejectsNonJson) {
  for (const std::string text : {"", "not json", "{\"chain_id\": ", "[1,2,3]", "\"a string\"", "42", "null"}) {
    auto g = parse_genesis(text);
    ASSERT_FALSE(g) << "accepted: " << text;
    EXPECT_EQ(g.error().code, "genesis.json") << text;
  }
}

TEST(ChainGenesis, RejectsMissingOrBadChainId) {
  json j = valid_json();
  j.erase("chain_id");
  expect_error(j, "genesis.missing", "chain_id");
  j["chain_id"] = 5;
  expect_error(j, "genesis.missing", "chain_id");
  j["chain_id"] = "";
  expect_error(j, "genesis.field", "chain_id");
  j["chain_id"] = std::string(kMaxChainIdBytes + 1, 'c');
  expect_error(j, "genesis.field", "chain_id");
  j["chain_id"] = std::string(kMaxChainIdBytes, 'c');
  EXPECT_TRUE(parse(j));
}

TEST(ChainGenesis, RejectsMissingTime) {
  json j = valid_json();
  j.erase("genesis_time_ms");
  expect_error(j, "genesis.missing", "genesis_time_ms");
}

TEST(ChainGenesis, RejectsBadAddresses) {
  TestKeys k;
  std::string good = address_to_string(k.alice.public_key());
  std::string bad_checksum = good;
  bad_checksum.back() = bad_checksum.back() == 'q' ? 'p' : 'q';
  auto five = convert_bits(k.alice.public_key(), 8, 5, true);
  std::string wrong_prefix = bech32m_encode("bc", *five);

  json j = valid_json();
  j["accounts"][0]["address"] = bad_checksum;
  expect_error(j, "bech32.checksum", "checksum");
  j["accounts"][0]["address"] = wrong_prefix;
  expect_error(j, "address.prefix", "ig1");
  j["accounts"][0]["address"] = to_hex(k.alice.public_key());
  EXPECT_FALSE(parse(j));
  j["accounts"][0].erase("address");
  expect_error(j, "genesis.missing", "accounts[0].address");

  json v = valid_json();
  v["validators"][0]["account"] = bad_checksum;
  expect_error(v, "bech32.checksum", "checksum");
  v = valid_json();
  v["validators"][0]["consensus_key"] = "abcd";
  expect_error(v, "hex.length", "32");
  v["validators"][0]["consensus_key"] = std::string(64, 'g');
  expect_error(v, "hex.invalid", "hex");
}

TEST(ChainGenesis, RejectsBadStakes) {
  json j = valid_json();
  j["validators"][0]["stake"] = 0;
  expect_error(j, "genesis.field", "stake must be positive");
  j["validators"][0]["stake"] = "0";
  expect_error(j, "genesis.field", "stake");
  j["validators"][0]["stake"] = -5;
  expect_error(j, "genesis.field", "stake");
  j["validators"][0]["stake"] = 1.5;
  expect_error(j, "genesis.field", "stake");
  j["validators"][0].erase("stake");
  expect_error(j, "genesis.missing", "stake");
}

TEST(ChainGenesis, RejectsBadValidatorLists) {
  json j = valid_json();
  j["validators"].push_back(j["validators"][0]);
  j["validators"][1]["name"] = "copy";
  expect_error(j, "genesis.field", "duplicate validator");
  j["validators"] = json::array();
  expect_error(j, "genesis.field", "validators");
  j.erase("validators");
  expect_error(j, "genesis.field", "validators");
  j["validators"] = json::array({"not an object"});
  expect_error(j, "genesis.field", "validators[0]");
  j = valid_json();
  j["validators"][0]["name"] = std::string(65, 'n');
  expect_error(j, "genesis.field", "name");
}

TEST(ChainGenesis, RejectsDuplicateAccountsAndBadBalances) {
  json j = valid_json();
  j["accounts"][1]["address"] = j["accounts"][0]["address"];
  j["accounts"][1]["balance"] = 1;
  expect_error(j, "genesis.field", "duplicate account");
  for (const json& bad : {json("12a"), json(""), json("-1"), json("18446744073709551616"), json(-1), json(true),
                          json(1.25), json("123456789012345678901")}) {
    json b = valid_json();
    b["accounts"][1]["balance"] = bad;
    expect_error(b, "genesis.field", "accounts[1].balance");
  }
}

TEST(ChainGenesis, RejectsWronglyTypedListsAndNames) {
  // Each of these once escaped parse_genesis as a JSON type_error exception.
  for (const json& bad : {json("oops"), json{{"x", 1}}, json(3)}) {
    json j = valid_json();
    j["accounts"] = bad;
    expect_error(j, "genesis.field", "accounts");
  }
  json j = valid_json();
  j["accounts"][0] = "not an object";
  expect_error(j, "genesis.field", "accounts[0]");
  json n = valid_json();
  n["validators"][0]["name"] = 5;
  expect_error(n, "genesis.field", "name");
}

TEST(ChainGenesis, RejectsSupplyOverflow) {
  json j = valid_json();
  j["accounts"][1]["balance"] = 616;  // 18446744073709551000 + 616 = 2^64
  expect_error(j, "genesis.field", "supply");
  j["accounts"][1]["balance"] = 615;  // exactly 2^64-1 is allowed
  auto g = parse(j);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->accounts[0].balance + g->accounts[1].balance, UINT64_MAX);
}

TEST(ChainGenesis, RejectsParamsOutOfRange) {
  struct Case {
    std::string field;
    json value;
  };
  const std::vector<Case> bad = {
      {"block_time_ms", 9},          {"block_time_ms", 3600001},     {"max_block_txs", 0},
      {"max_block_txs", kMaxTxsPerBlock + 1},                      {"max_tx_bytes", 255},
      {"max_tx_bytes", kMaxTxBytes + 1}, {"max_block_bytes", 1000},  // below max_tx_bytes
      {"max_block_bytes", kMaxBlockBytes / 2 + 1},                 {"block_time_ms", "fast"},
      {"max_block_txs", -1},
  };
  for (const auto& c : bad) {
    json j = valid_json();
    j["params"][c.field] = c.value;
    expect_error(j, "genesis.field", "params." + c.field);
  }
  json fee = valid_json();
  fee["params"]["fee"] = "cheap";
  expect_error(fee, "genesis.field", "params.fee");
  fee["params"]["fee"] = json{{"base", -1}};
  expect_error(fee, "genesis.field", "params.fee.base");
  json p = valid_json();
  p["params"] = 7;
  expect_error(p, "genesis.field", "params");
  // The edges themselves are accepted.
  json edges = valid_json();
  edges["params"] = json{{"block_time_ms", 10}, {"max_block_txs", kMaxTxsPerBlock}, {"max_tx_bytes", 256},
                         {"max_block_bytes", 256}};
  EXPECT_TRUE(parse(edges));
}

TEST(ChainGenesis, MinFeeSaturates) {
  EXPECT_EQ(min_fee(FeeSchedule{1000, 1}, 200), 1200u);
  EXPECT_EQ(min_fee(FeeSchedule{UINT64_MAX, 1}, 10), UINT64_MAX);
  EXPECT_EQ(min_fee(FeeSchedule{5, UINT64_MAX}, 2), UINT64_MAX);
}

TEST(ChainGenesis, ParamsAndValidatorsLiveInState) {
  Genesis g = *parse(valid_json());
  MapStateReader empty;
  State s(empty);
  EXPECT_EQ(read_params(s).error().code, "state.missing");
  EXPECT_EQ(read_validator_set(s).error().code, "state.missing");
  write_params(s, g.params);
  write_validator_set(s, g.validators);
  EXPECT_EQ(*read_params(s), g.params);
  EXPECT_EQ(*read_validator_set(s), g.validators);
}

}  // namespace
}  // namespace ig::testing
