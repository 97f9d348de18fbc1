// Strict parsing of amounts, counters, addresses, chain ids, memos, secrets and hashes.
#include <gtest/gtest.h>

#include "wallet/parse.hpp"

namespace ig::wallet {
namespace {

TEST(WalletParse, AmountsArePlainBase10U64) {
  EXPECT_EQ(*parse_amount("0"), 0u);
  EXPECT_EQ(*parse_amount("1"), 1u);
  EXPECT_EQ(*parse_amount("1000000"), 1000000u);
  EXPECT_EQ(*parse_amount("18446744073709551615"), UINT64_MAX);
}

TEST(WalletParse, JunkAmountsAreRejectedWithTheValueNamed) {
  for (const char* bad : {"", "-1", "-0", "+1", "1.5", "1e3", "0x10", " 1", "1 ", "1_000", "abc", "01", "00",
                          "18446744073709551616", "99999999999999999999999", "１"}) {
    auto r = parse_amount(bad, "--amount");
    ASSERT_FALSE(r) << "accepted \"" << bad << "\"";
    EXPECT_EQ(r.error().code, "arg.invalid");
    EXPECT_EQ(r.error().message.rfind("--amount", 0), 0u) << r.error().message;
  }
  EXPECT_NE(parse_amount("-5").error().message.find("negative"), std::string::npos);
  EXPECT_NE(parse_amount("18446744073709551616").error().message.find("larger"), std::string::npos);
}

TEST(WalletParse, AddressesMustBeIgBech32m) {
  const auto key = chain::SecretKey::generate();
  const std::string good = chain::address_to_string(key.public_key());
  auto a = parse_address(good);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, key.public_key());

  std::string typo = good;
  typo[10] = typo[10] == 'q' ? 'p' : 'q';
  for (const std::string& bad : {std::string(""), std::string("ig1"), typo, good.substr(0, good.size() - 1),
                                 std::string("bc1") + good.substr(3), chain::to_hex(key.public_key())}) {
    auto r = parse_address(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "arg.bad_address");
  }
}

TEST(WalletParse, ChainIdsAndMemos) {
  EXPECT_TRUE(validate_chain_id("infergrid-devnet-1"));
  EXPECT_FALSE(validate_chain_id(""));
  EXPECT_FALSE(validate_chain_id("has space"));
  EXPECT_FALSE(validate_chain_id(std::string(65, 'c')));
  EXPECT_TRUE(validate_chain_id(std::string(64, 'c')));
  EXPECT_TRUE(validate_memo(""));
  EXPECT_TRUE(validate_memo(std::string(256, 'm')));
  auto r = validate_memo(std::string(257, 'm'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "arg.bad_memo");
}

TEST(WalletParse, SecretsAre32BytesOfHexAndNeverEchoed) {
  const auto key = chain::SecretKey::generate();
  const std::string hex = chain::to_hex(key.bytes());
  for (const std::string& form : {hex, "0x" + hex, hex + "\n", "  " + hex + " \r\n"}) {
    auto k = parse_secret_hex(form);
    ASSERT_TRUE(k) << form;
    EXPECT_EQ(k->bytes(), key.bytes());
  }
  const std::string zero(64, '0');
  const std::string order = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";  // the curve order
  for (const std::string& bad : {hex.substr(2), hex + "00", hex.substr(0, 63) + "g", zero, order, std::string("")}) {
    auto r = parse_secret_hex(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "arg.bad_secret");
    if (bad.size() > 8) {
      EXPECT_EQ(r.error().message.find(bad.substr(0, 8)), std::string::npos);
    }
  }
}

TEST(WalletParse, Hashes) {
  EXPECT_TRUE(parse_hash_hex(std::string(64, 'a')));
  EXPECT_FALSE(parse_hash_hex(std::string(62, 'a')));
  EXPECT_FALSE(parse_hash_hex(std::string(63, 'a') + "x"));
}

}  // namespace
}  // namespace ig::wallet
