// Strict parsing of settlement-transaction arguments: roles, milli decimals, weights, model
// ids (typed and hashed from a file), consensus keys, labels and double-sign evidence.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "chain/hash.hpp"
#include "fixtures.hpp"
#include "wallet/payload_args.hpp"

namespace ig::wallet {
namespace {

using json = nlohmann::json;

TEST(WalletPayloadArgs, RolesAreExactlyValidatorOrMiner) {
  EXPECT_EQ(*parse_role("validator"), chain::StakeRole::kValidator);
  EXPECT_EQ(*parse_role("miner"), chain::StakeRole::kMiner);
  for (const char* bad : {"", "Miner", "validators", "miner ", "0", "1"}) {
    auto r = parse_role(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "arg.bad_role");
  }
}

TEST(WalletPayloadArgs, U32RejectsWhatDoesNotFit) {
  EXPECT_EQ(*parse_u32("4294967295", "--x"), 4294967295u);
  EXPECT_FALSE(parse_u32("4294967296", "--x"));
  EXPECT_FALSE(parse_u32("-1", "--x"));
  EXPECT_FALSE(parse_u32("1e3", "--x"));
}

TEST(WalletPayloadArgs, MilliDecimalsAreExactThousandths) {
  EXPECT_EQ(*parse_milli("0", "--temperature"), 0u);
  EXPECT_EQ(*parse_milli("0.7", "--temperature"), 700u);
  EXPECT_EQ(*parse_milli("0.125", "--temperature"), 125u);
  EXPECT_EQ(*parse_milli("1.05", "--temperature"), 1050u);
  EXPECT_EQ(*parse_milli("2", "--temperature"), 2000u);
  EXPECT_EQ(*parse_milli("4294967.295", "--temperature"), 4294967295u);
  for (const char* bad : {"abc", "", "-0.5", "-1", ".5", "1.", "0.1234", "1e-3", "+1", "0,5", "1.2.3", " 1", "4294967.296",
                          "99999999999"}) {
    auto r = parse_milli(bad, "--temperature");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "arg.invalid") << bad;
    EXPECT_NE(r.error().message.find("--temperature"), std::string::npos);
  }
}

TEST(WalletPayloadArgs, TopPIsWithinZeroExclusiveAndOne) {
  EXPECT_EQ(*parse_top_p("1"), 1000u);
  EXPECT_EQ(*parse_top_p("0.9"), 900u);
  EXPECT_EQ(*parse_top_p("0.001"), 1u);
  for (const char* bad : {"0", "0.000", "1.001", "2", "-0.5", "abc"}) EXPECT_FALSE(parse_top_p(bad)) << bad;
}

TEST(WalletPayloadArgs, WeightsParseSortAndRejectEveryMalformedItem) {
  auto w = parse_weights("3:100,0:65535,1:0");
  ASSERT_TRUE(w) << w.error().message;
  ASSERT_EQ(w->size(), 3u);
  EXPECT_EQ((*w)[0], (chain::WeightEntry{0, 65535}));
  EXPECT_EQ((*w)[1], (chain::WeightEntry{1, 0}));
  EXPECT_EQ((*w)[2], (chain::WeightEntry{3, 100}));
  EXPECT_EQ(weights_to_string(*w), "0:65535,1:0,3:100");
  EXPECT_EQ(*parse_weights("65535:1"), (std::vector<chain::WeightEntry>{{65535, 1}}));
  for (const char* bad : {"", "1:", ":5", "x:5", "1:x", "1", "1:5,", ",1:5", "1:5,1:6", "1:65536", "65536:1", "1:-5",
                          "-1:5", "1:5;2:6", "1 :5", "1:5 ", "01:5", "1::5"}) {
    auto r = parse_weights(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "arg.bad_weights") << bad;
  }
  EXPECT_NE(parse_weights("1:5,1:6").error().message.find("repeats uid 1"), std::string::npos);
}

TEST(WalletPayloadArgs, TooManyWeightsAreRefused) {
  std::string many;
  for (size_t i = 0; i <= chain::kMaxWeights; ++i) many += (i ? "," : "") + std::to_string(i) + ":1";
  EXPECT_FALSE(parse_weights(many));
}

TEST(WalletPayloadArgs, ModelIdIsSha256OfTheFileStreamed) {
  testing::ScratchDir dir;
  // Over one read chunk (1 MiB), so the streaming path is exercised across chunk boundaries.
  std::string content((1 << 20) + 12345, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 131) & 0xff);
  testing::write_text(dir.file("model.gguf"), content);
  auto id = model_id_of_file(dir.file("model.gguf"));
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(*id, chain::sha256(chain::view(content)));
  testing::write_text(dir.file("empty.gguf"), "");
  EXPECT_EQ(chain::to_hex(*model_id_of_file(dir.file("empty.gguf"))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto missing = model_id_of_file(dir.file("absent.gguf"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "arg.model_file");
}

TEST(WalletPayloadArgs, ModelIdsAndConsensusKeysAre32BytesOfHex) {
  const std::string hex(64, 'a');
  EXPECT_TRUE(parse_model_id(hex));
  EXPECT_TRUE(parse_consensus_key(hex));
  for (const std::string& bad : {std::string(63, 'a'), std::string(66, 'a'), std::string(64, 'g'), std::string()}) {
    EXPECT_EQ(parse_model_id(bad).error().code, "arg.bad_model_id");
    EXPECT_EQ(parse_consensus_key(bad).error().code, "arg.bad_key");
  }
}

TEST(WalletPayloadArgs, LabelsArePrintableAndBounded) {
  EXPECT_TRUE(validate_label("H100-80GB", "--gpu-class"));
  EXPECT_TRUE(validate_label(std::string(chain::kMaxNameBytes, 'x'), "--name"));
  EXPECT_FALSE(validate_label("", "--name"));
  EXPECT_FALSE(validate_label(std::string(chain::kMaxNameBytes + 1, 'x'), "--name"));
  EXPECT_FALSE(validate_label("tab\there", "--name"));
  EXPECT_EQ(validate_label("", "--gpu-class").error().code, "arg.bad_name");
}

json vote(uint64_t height, char hash_digit) {
  return {{"type", 2}, {"height", height}, {"round", 0}, {"block_hash", std::string(64, hash_digit)},
          {"validator", std::string(64, 'c')}, {"signature", std::string(128, 'd')}};
}

TEST(WalletPayloadArgs, EvidenceTakesTwoVotesAsObjectOrArray) {
  auto ev = parse_evidence(json{{"a", vote(5, '1')}, {"b", vote(5, '2')}}.dump());
  ASSERT_TRUE(ev) << ev.error().message;
  EXPECT_EQ(ev->a.height, 5u);
  EXPECT_EQ(ev->a.type, 2);
  EXPECT_EQ(ev->a.block_hash[0], 0x11);
  EXPECT_EQ(ev->b.block_hash[0], 0x22);
  EXPECT_EQ(ev->b.validator[31], 0xcc);
  EXPECT_EQ(ev->b.signature[63], 0xdd);
  auto arr = parse_evidence(json::array({vote(5, '1'), vote(5, '2')}).dump());
  ASSERT_TRUE(arr);
  EXPECT_EQ(*arr, *ev);
}

TEST(WalletPayloadArgs, EvidenceRejectsMalformedVotes) {
  auto bad_vote = [](const char* key, json value) {
    json v = vote(5, '1');
    if (value.is_null())
      v.erase(key);
    else
      v[key] = value;
    return json{{"a", v}, {"b", vote(5, '2')}}.dump();
  };
  for (const std::string& text :
       {std::string("not json"), std::string("{}"), json::array({vote(5, '1')}).dump(), bad_vote("type", 3),
        bad_vote("type", nullptr), bad_vote("height", -1), bad_vote("height", "5"), bad_vote("round", 4294967296ull),
        bad_vote("block_hash", std::string(62, 'a')), bad_vote("validator", "zz"), bad_vote("signature", std::string(64, 'a'))}) {
    auto r = parse_evidence(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, "arg.bad_evidence") << text;
  }
}

}  // namespace
}  // namespace ig::wallet
