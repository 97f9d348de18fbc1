// Transfers: signing, the minimum fee, and the offline-signed transaction file.
#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "wallet/transfer.hpp"

namespace ig::wallet {
namespace {

using json = nlohmann::json;

TransferSpec sample_spec() {
  TransferSpec s;
  s.chain_id = "infergrid-test";
  s.to = chain::SecretKey::generate().public_key();
  s.amount = 12345;
  s.fee = 2000;
  s.nonce = 7;
  s.expiry_height = 150;
  s.memo = "rent";
  return s;
}

TEST(WalletTransfer, SignedTransferDecodesAndVerifiesWithEveryField) {
  const auto key = chain::SecretKey::generate();
  const TransferSpec spec = sample_spec();
  auto tx = sign_transfer(spec, key);
  ASSERT_TRUE(tx) << tx.error().to_string();
  auto decoded = chain::decode_tx(chain::encode_tx(*tx));
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(chain::verify_tx_signature(*decoded));
  EXPECT_EQ(decoded->body.chain_id, "infergrid-test");
  EXPECT_EQ(decoded->body.sender, key.public_key());
  EXPECT_EQ(decoded->body.nonce, 7u);
  EXPECT_EQ(decoded->body.fee, 2000u);
  EXPECT_EQ(decoded->body.expiry_height, 150u);
  const auto& t = std::get<chain::Transfer>(decoded->body.payload);
  EXPECT_EQ(t.to, spec.to);
  EXPECT_EQ(t.amount, 12345u);
  EXPECT_EQ(t.memo, "rent");
  EXPECT_TRUE(chain::check_tx_stateless(*decoded, chain::encode_tx(*decoded).size(), "infergrid-test", 100));
}

TEST(WalletTransfer, SigningRejectsBadChainIdAndMemo) {
  const auto key = chain::SecretKey::generate();
  TransferSpec spec = sample_spec();
  spec.chain_id = "";
  EXPECT_EQ(sign_transfer(spec, key).error().code, "arg.bad_chain_id");
  spec = sample_spec();
  spec.memo = std::string(chain::kMaxMemoBytes + 1, 'x');
  EXPECT_EQ(sign_transfer(spec, key).error().code, "arg.bad_memo");
}

TEST(WalletTransfer, MinimumFeeCoversTheFinalEncodedSize) {
  const auto key = chain::SecretKey::generate();
  for (const chain::FeeSchedule schedule : {chain::FeeSchedule{1000, 1}, chain::FeeSchedule{0, 50}, chain::FeeSchedule{7, 0}}) {
    for (size_t memo_len : {0, 1, 100, 256}) {
      TransferSpec spec = sample_spec();
      spec.fee = 0;
      spec.memo.assign(memo_len, 'm');
      spec.fee = minimum_fee(schedule, spec, key.public_key());
      auto tx = sign_transfer(spec, key);
      ASSERT_TRUE(tx);
      const size_t size = chain::encode_tx(*tx).size();
      EXPECT_EQ(size, encoded_tx_size(tx->body));
      EXPECT_EQ(spec.fee, schedule.base + schedule.per_byte * size) << "memo " << memo_len;
    }
  }
  // A schedule so steep that the fee saturates still settles.
  TransferSpec spec = sample_spec();
  EXPECT_EQ(minimum_fee(chain::FeeSchedule{UINT64_MAX, UINT64_MAX}, spec, key.public_key()), UINT64_MAX);
}

TEST(WalletTransfer, SignedTxFileRoundTrips) {
  const auto key = chain::SecretKey::generate();
  auto tx = *sign_transfer(sample_spec(), key);
  const std::string text = signed_tx_to_json(tx);
  json doc = json::parse(text);
  EXPECT_EQ(doc["hash"], chain::to_hex(chain::tx_hash(tx)));
  EXPECT_EQ(doc["tx"], chain::to_hex(chain::encode_tx(tx)));
  auto back = parse_signed_tx(text);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->tx, tx);
  EXPECT_EQ(back->hash, chain::tx_hash(tx));
}

TEST(WalletTransfer, TamperedOrMalformedTxFilesAreRejected) {
  const auto key = chain::SecretKey::generate();
  auto tx = *sign_transfer(sample_spec(), key);
  json doc = json::parse(signed_tx_to_json(tx));

  json wrong_hash = doc;
  wrong_hash["hash"] = std::string(64, '0');
  EXPECT_EQ(parse_signed_tx(wrong_hash.dump()).error().code, "txfile.hash_mismatch");

  chain::Transaction changed = tx;
  std::get<chain::Transfer>(changed.body.payload).amount += 1;  // signature no longer covers it
  json forged = {{"tx", chain::to_hex(chain::encode_tx(changed))}};
  EXPECT_EQ(parse_signed_tx(forged.dump()).error().code, "txfile.bad_signature");

  std::string raw = doc["tx"];
  for (const std::string& bad : {std::string("not json"), std::string("[]"), std::string("{}"),
                                 json{{"tx", 5}}.dump(), json{{"tx", "zz"}}.dump(),
                                 json{{"tx", raw.substr(0, raw.size() - 2)}}.dump(),
                                 json{{"tx", raw + "00"}}.dump(), json{{"tx", raw}, {"hash", 1}}.dump(),
                                 json{{"tx", raw}, {"hash", "abc"}}.dump()}) {
    auto r = parse_signed_tx(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "txfile.malformed") << bad;
  }
}

TEST(WalletTransfer, TxJsonShowsTheFieldsReadably) {
  const auto key = chain::SecretKey::generate();
  const TransferSpec spec = sample_spec();
  auto tx = *sign_transfer(spec, key);
  json j = tx_to_json(tx);
  EXPECT_EQ(j["type"], "Transfer");
  EXPECT_EQ(j["sender"], chain::address_to_string(key.public_key()));
  EXPECT_EQ(j["to"], chain::address_to_string(spec.to));
  EXPECT_EQ(j["amount"], "12345");
  EXPECT_EQ(j["fee"], "2000");
  EXPECT_EQ(j["nonce"], 7);
  EXPECT_EQ(j["hash"], chain::to_hex(chain::tx_hash(tx)));
}

}  // namespace
}  // namespace ig::wallet
