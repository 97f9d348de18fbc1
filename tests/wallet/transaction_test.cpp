// Transactions of every kind: offline signing round-trips through the signed-transaction file,
// the minimum fee, payload limits, the readable JSON view, and the weight-commitment secret.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "wallet/transaction.hpp"
#include "wallet/weights_file.hpp"

namespace ig::wallet {
namespace {

using json = nlohmann::json;

chain::Hash filled(uint8_t b) {
  chain::Hash h{};
  h.fill(b);
  return h;
}

std::vector<chain::Payload> one_of_each_kind() {
  chain::SubmitTask task{filled(1), "why is the sky blue?", {64, 700, 40, 900, 42}, 5000};
  const std::vector<ig::Fingerprint> fps{{1, 10, 9}, {2, 20, 19}, {3, 30, -29}};
  chain::SubmitResult result{3, {1, 2, 3}, fps, "a tale", {filled(1), filled(2), filled(3), filled(4), ig::fingerprint_root(fps), 3, "cpu/1"}};
  chain::StepEvidence evidence{fps[2], ig::merkle_prove(ig::fingerprint_leaves(fps), 2), {3, 31, -29}};
  chain::SignedVote a{2, 10, 0, filled(7), filled(8), {}};
  chain::SignedVote b = a;
  b.block_hash = filled(9);
  return {chain::Transfer{filled(3), 5, "m"},
          chain::Stake{chain::StakeRole::kMiner, 5000},
          chain::Unstake{chain::StakeRole::kValidator, 10},
          chain::RegisterMiner{{"H100-80GB", 81920, 4, {filled(1), filled(2)}}},
          chain::UpdateMiner{{"cpu", 0, 1, {filled(1)}}},
          chain::RegisterModel{filled(1), "tiny", "llama", 3, 2048},
          task,
          result,
          chain::CancelTask{9},
          chain::Verdict{3, false, 2, "verify.logit_mismatch", evidence},
          chain::CommitWeights{4, filled(6)},
          chain::RevealWeights{3, {{0, 10}, {2, 65535}}, filled(5)},
          chain::Evidence{a, b},
          chain::ProposeValidator{filled(4), filled(5), "val-2"},
          chain::ApproveValidator{1}};
}

TEST(WalletTransaction, EveryKindSignsOfflineAndRoundTripsThroughTheFile) {
  const auto key = chain::SecretKey::generate();
  const TxSpec spec{"infergrid-test", 4000, 11, 99};
  const auto kinds = one_of_each_kind();
  ASSERT_EQ(kinds.size(), std::variant_size_v<chain::Payload>);  // a new kind must be added here
  for (const auto& payload : kinds) {
    auto tx = sign_payload(spec, payload, key);
    ASSERT_TRUE(tx) << chain::payload_name(payload) << ": " << tx.error().message;
    auto file = parse_signed_tx(signed_tx_to_json(*tx));
    ASSERT_TRUE(file) << chain::payload_name(payload) << ": " << file.error().message;
    EXPECT_TRUE(chain::verify_tx_signature(file->tx));
    EXPECT_EQ(file->tx.body.payload, payload) << chain::payload_name(payload);
    EXPECT_EQ(file->tx.body.sender, key.public_key());
    EXPECT_EQ(file->tx.body.nonce, 11u);
    EXPECT_EQ(file->tx.body.fee, 4000u);
    EXPECT_EQ(file->tx.body.expiry_height, 99u);
    EXPECT_EQ(file->hash, chain::tx_hash(*tx));

    json j = tx_to_json(*tx);
    EXPECT_EQ(j["type"], chain::payload_name(payload));
    EXPECT_EQ(j["sender"], chain::address_to_string(key.public_key()));
    EXPECT_TRUE(j["payload"].is_object()) << j.dump();
  }
}

TEST(WalletTransaction, JsonViewSpellsOutThePayload) {
  const auto key = chain::SecretKey::generate();
  const auto kinds = one_of_each_kind();
  auto view = [&](size_t i) { return tx_to_json(*sign_payload({"c", 1, 0, 0}, kinds[i], key))["payload"]; };
  EXPECT_EQ(view(1), (json{{"role", "miner"}, {"amount", "5000"}}));
  EXPECT_EQ(view(3)["models"].size(), 2u);
  EXPECT_EQ(view(3)["max_concurrent"], 4);
  EXPECT_EQ(view(5)["price_per_token"], "3");
  EXPECT_EQ(view(6)["params"]["temperature_milli"], 700);
  EXPECT_EQ(view(6)["max_fee"], "5000");
  EXPECT_EQ(view(7)["text"], "a tale");
  EXPECT_EQ(view(7)["fingerprints"][2], (json{{"token", 3}, {"logit_q", 30}, {"runner_up_q", -29}}));
  EXPECT_EQ(view(7)["receipt"]["backend"], "cpu/1");
  EXPECT_EQ(view(9)["reason"], "verify.logit_mismatch");
  EXPECT_EQ(view(9)["evidence"]["proof"]["index"], 2);
  EXPECT_EQ(view(9)["evidence"]["recomputed"]["logit_q"], 31);
  EXPECT_EQ(view(11)["weights"][1], (json{{"uid", 2}, {"weight", 65535}}));
  EXPECT_EQ(view(12)["b"]["block_hash"], chain::to_hex(filled(9)));
  // Transfers keep their fields at the top level too (the shape older scripts read).
  json t = tx_to_json(*sign_payload({"c", 1, 0, 0}, kinds[0], key));
  EXPECT_EQ(t["amount"], "5");
  EXPECT_EQ(t["memo"], "m");
}

TEST(WalletTransaction, MinimumFeeCoversTheEncodedSizeOfEachKind) {
  const chain::FeeSchedule schedule{1000, 3};
  const auto key = chain::SecretKey::generate();
  for (const auto& payload : one_of_each_kind()) {
    chain::TxBody body = tx_body({"infergrid-test", 0, 5, 0}, payload, key.public_key());
    const chain::Amount fee = minimum_fee(schedule, body);
    body.fee = fee;
    EXPECT_EQ(fee, chain::min_fee(schedule, encoded_tx_size(body))) << chain::payload_name(payload);
    EXPECT_GT(fee, 1000u);
  }
  // A longer prompt costs exactly per_byte more per byte.
  chain::SubmitTask small{filled(1), "a", {8, 0, 0, 1000, 0}, 10};
  chain::SubmitTask big = small;
  big.prompt = std::string(101, 'a');
  const auto f_small = minimum_fee(schedule, tx_body({"c", 0, 0, 0}, small, key.public_key()));
  const auto f_big = minimum_fee(schedule, tx_body({"c", 0, 0, 0}, big, key.public_key()));
  EXPECT_EQ(f_big - f_small, 100u * 3);
}

TEST(WalletTransaction, OverLongFieldsAreRefusedBeforeSigning) {
  const auto key = chain::SecretKey::generate();
  const TxSpec spec{"infergrid-test", 1, 0, 0};
  chain::SubmitTask task{filled(1), std::string(chain::kMaxPromptBytes + 1, 'p'), {8, 0, 0, 1000, 0}, 10};
  EXPECT_EQ(sign_payload(spec, task, key).error().code, "arg.too_long");
  chain::RegisterModel model{filled(1), std::string(chain::kMaxNameBytes + 1, 'n'), "llama", 1, 1};
  EXPECT_EQ(sign_payload(spec, model, key).error().code, "arg.too_long");
  chain::MinerProfile profile{"cpu", 0, 1, std::vector<chain::Hash>(chain::kMaxServedModels + 1, filled(1))};
  EXPECT_EQ(sign_payload(spec, chain::RegisterMiner{profile}, key).error().code, "arg.too_many");
  chain::Verdict verdict{1, false, 0, std::string(chain::kMaxReasonBytes + 1, 'r'), std::nullopt};
  EXPECT_EQ(sign_payload(spec, verdict, key).error().code, "arg.too_long");
  chain::Verdict deep{1, false, 0, "verify.x", chain::StepEvidence{}};
  deep.evidence->proof.siblings.assign(chain::kMaxProofSiblings + 1, filled(1));
  EXPECT_EQ(sign_payload(spec, deep, key).error().code, "arg.too_many");
  chain::SubmitResult long_text{1, {}, {}, std::string(chain::kMaxResultTextBytes + 1, 't'), {}};
  long_text.receipt.backend = "cpu/1";
  EXPECT_EQ(sign_payload(spec, long_text, key).error().code, "arg.too_long");
  chain::SubmitResult no_backend{1, {}, {}, "", {}};  // a receipt that could not decode
  EXPECT_EQ(sign_payload(spec, no_backend, key).error().code, "arg.invalid");
  EXPECT_EQ(sign_payload({"", 1, 0, 0}, chain::CancelTask{1}, key).error().code, "arg.bad_chain_id");
}

TEST(WalletWeightsSecret, SavedSecretReloadsAndMatchesItsCommitment) {
  testing::ScratchDir dir;
  const auto key = chain::SecretKey::generate();
  auto salt = random_salt();
  ASSERT_TRUE(salt);
  EXPECT_NE(*salt, *random_salt());  // 2^-256 chance of a false failure
  WeightsSecret s{key.public_key(), 7, {{0, 100}, {3, 65535}}, *salt};
  ASSERT_TRUE(save_weights_secret(dir.path(), s));
  const std::string path = weights_secret_path(dir.path(), s.validator, 7);
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto back = load_weights_secret(dir.path(), s.validator, 7);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
  // The reveal built from the file is exactly what the chain checks against the commit.
  const auto commit = std::get<chain::CommitWeights>(commit_payload(s));
  const auto reveal = std::get<chain::RevealWeights>(reveal_payload(*back));
  EXPECT_EQ(commit.epoch, 7u);
  EXPECT_EQ(commit.commit, chain::weights_commit_hash(s.validator, reveal.epoch, reveal.weights, reveal.salt));

  // One commitment per validator and epoch: the first salt is never overwritten.
  WeightsSecret other = s;
  other.salt = *random_salt();
  EXPECT_FALSE(save_weights_secret(dir.path(), other));
  EXPECT_EQ(*load_weights_secret(dir.path(), s.validator, 7), s);

  EXPECT_EQ(load_weights_secret(dir.path(), s.validator, 8).error().code, "weights.no_secret");
  EXPECT_EQ(*latest_secret_epoch(dir.path(), s.validator), 7u);
  WeightsSecret later = s;
  later.epoch = 12;
  ASSERT_TRUE(save_weights_secret(dir.path(), later));
  EXPECT_EQ(*latest_secret_epoch(dir.path(), s.validator), 12u);
  EXPECT_FALSE(latest_secret_epoch(dir.path(), chain::SecretKey::generate().public_key()));
}

TEST(WalletWeightsSecret, TamperedFilesAreRefused) {
  testing::ScratchDir dir;
  const auto key = chain::SecretKey::generate();
  WeightsSecret s{key.public_key(), 2, {{1, 5}}, *random_salt()};
  ASSERT_TRUE(save_weights_secret(dir.path(), s));
  const std::string path = weights_secret_path(dir.path(), s.validator, 2);
  json doc = json::parse(testing::read_text(path));
  for (auto mutate : std::vector<std::function<void(json&)>>{
           [](json& d) { d["salt"] = "00"; }, [](json& d) { d["epoch"] = 3; }, [](json& d) { d["weights"][0]["weight"] = 70000; },
           [](json& d) { d.erase("validator"); }, [](json& d) { d["weights"] = "1:5"; }}) {
    json bad = doc;
    mutate(bad);
    testing::write_text(path, bad.dump());
    auto r = load_weights_secret(dir.path(), s.validator, 2);
    ASSERT_FALSE(r) << bad.dump();
    EXPECT_EQ(r.error().code, "weights.bad_secret") << bad.dump();
  }
}

}  // namespace
}  // namespace ig::wallet
