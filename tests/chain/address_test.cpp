// bech32m (BIP-350) and ig1… account addresses.
#include <gtest/gtest.h>

#include "chain/address.hpp"
#include "tests/chain/fixtures.hpp"

namespace ig::testing {
namespace {

// BIP-350's valid bech32m test strings (each checked against an independent implementation;
// note the "11lll…" vector is exactly 90 characters long).
const std::vector<std::string> kValidBech32m = {
    "A1LQFN3A",
    "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
};

TEST(ChainBech32m, ValidVectorsDecode) {
  for (const auto& s : kValidBech32m) {
    auto d = bech32m_decode(s);
    ASSERT_TRUE(d) << s << ": " << d.error().to_string();
    // Re-encoding the decoded parts gives the lower-case form back.
    std::string lower;
    for (char c : s) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    EXPECT_EQ(bech32m_encode(d->hrp, d->data5), lower);
  }
}

TEST(ChainBech32m, DecodedPartsAreTheExpectedOnes) {
  auto a = bech32m_decode("A1LQFN3A");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->hrp, "a");
  EXPECT_TRUE(a->data5.empty());

  auto abc = bech32m_decode("abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx");
  ASSERT_TRUE(abc);
  EXPECT_EQ(abc->hrp, "abcdef");
  Bytes descending;
  for (int i = 31; i >= 0; --i) descending.push_back(static_cast<uint8_t>(i));
  EXPECT_EQ(abc->data5, descending);  // "l7aum6ec…" is 31, 30, …, 0

  auto ones = bech32m_decode(kValidBech32m[4]);
  ASSERT_TRUE(ones);
  EXPECT_EQ(kValidBech32m[4].size(), 90u);
  EXPECT_EQ(ones->hrp, "1");
  EXPECT_EQ(ones->data5, Bytes(82, 31));

  auto q = bech32m_decode("?1v759aa");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->hrp, "?");
}

TEST(ChainBech32m, InvalidStringsAreRejectedWithTheRightReason) {
  struct Case {
    std::string s;
    std::string code;
  };
  const std::vector<Case> cases = {
      {std::string(1, '\x20') + "1xj0phk", "bech32.char"},   // HRP character out of range
      {std::string(1, '\x7f') + "1g6xzxy", "bech32.char"},
      {std::string(1, '\x80') + "1vctc34", "bech32.char"},
      {"an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11429s3u", "bech32.length"},
      {"11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8", "bech32.length"},
      {"qyrz8wqd2c9m", "bech32.separator"},      // no separator
      {"1qyrz8wqd2c9m", "bech32.separator"},     // empty HRP
      {"16plkw9", "bech32.separator"},           // empty HRP
      {"1p2gdwpf", "bech32.separator"},          // empty HRP
      {"in1muywd", "bech32.separator"},          // checksum too short
      {"y1b0jsk6g", "bech32.char"},              // invalid data character
      {"lt1igcx5c0", "bech32.char"},
      {"mm1crxm3i", "bech32.char"},              // invalid character in checksum
      {"au1s5cgom", "bech32.char"},
      {"M1VUXWEZ", "bech32.checksum"},           // checksum over the upper-case HRP
      {"A12UEL5L", "bech32.checksum"},           // valid bech32, not bech32m
      {"a12uel5l", "bech32.checksum"},
      {"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", "bech32.checksum"},  // bech32
      {"a1lqfn3q", "bech32.checksum"},           // one character changed
      {"A1lqfn3a", "bech32.mixed_case"},
      {"a1LQFN3A", "bech32.mixed_case"},
      {"", "bech32.separator"},
  };
  for (const auto& c : cases) {
    auto d = bech32m_decode(c.s);
    ASSERT_FALSE(d) << "accepted: " << c.s;
    EXPECT_EQ(d.error().code, c.code) << c.s << ": " << d.error().to_string();
  }
}

TEST(ChainBech32m, ConvertBitsRoundTripAndPaddingRules) {
  Bytes data = {0xFF, 0x00, 0x12, 0x34, 0x56};
  auto five = convert_bits(data, 8, 5, true);
  ASSERT_TRUE(five);
  EXPECT_EQ(five->size(), 8u);  // 40 bits, exactly 8 groups
  auto back = convert_bits(*five, 5, 8, false);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, data);
  EXPECT_EQ(convert_bits(Bytes{32}, 5, 8, false).error().code, "bech32.bits");  // 32 does not fit in 5 bits
  EXPECT_EQ(convert_bits(Bytes{1}, 5, 8, false).error().code, "bech32.padding");  // 5 leftover bits, non-zero
}

TEST(ChainAddress, RoundTripsForManyKeys) {
  for (int i = 0; i < 50; ++i) {
    Address a = key_from_seed("addr-" + std::to_string(i)).public_key();
    std::string s = address_to_string(a);
    EXPECT_EQ(s.substr(0, 3), "ig1");
    EXPECT_EQ(s.size(), 3u + 52 + 6);  // 256 bits in 52 groups + 6 checksum characters
    auto back = address_from_string(s);
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, a);
    std::string upper;
    for (char c : s) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    auto back_upper = address_from_string(upper);
    ASSERT_TRUE(back_upper);
    EXPECT_EQ(*back_upper, a);
  }
  EXPECT_EQ(address_to_string(Address{}), "ig1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqys3hv9");
}

TEST(ChainAddress, WrongPrefixIsRejected) {
  Address a = key_from_seed("x").public_key();
  auto five = convert_bits(a, 8, 5, true);
  auto r = address_from_string(bech32m_encode("bc", *five));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "address.prefix");
  EXPECT_EQ(address_from_string(bech32m_encode("igx", *five)).error().code, "address.prefix");
}

TEST(ChainAddress, WrongLengthIsRejected) {
  for (size_t n : {0u, 20u, 31u, 33u, 40u}) {
    Bytes payload(n, 0x5A);
    auto five = convert_bits(payload, 8, 5, true);
    auto r = address_from_string(bech32m_encode("ig", *five));
    ASSERT_FALSE(r) << n;
    EXPECT_TRUE(r.error().code == "address.length" || r.error().code == "bech32.padding") << r.error().to_string();
  }
  // 32 bytes encode to 52 groups with 4 padding bits; non-zero padding is another encoding of
  // the same key and must be refused so every address has one spelling.
  Address a = key_from_seed("pad").public_key();
  auto five = *convert_bits(a, 8, 5, true);
  five.back() |= 1;
  EXPECT_EQ(address_from_string(bech32m_encode("ig", five)).error().code, "bech32.padding");
}

TEST(ChainAddress, CorruptedAddressesAreRejected) {
  std::string s = address_to_string(key_from_seed("y").public_key());
  for (size_t i = 3; i < s.size(); ++i) {
    std::string t = s;
    t[i] = t[i] == 'q' ? 'p' : 'q';
    EXPECT_FALSE(address_from_string(t)) << "position " << i;
  }
  EXPECT_FALSE(address_from_string("ig1"));
  EXPECT_FALSE(address_from_string("not an address"));
}

}  // namespace
}  // namespace ig::testing
