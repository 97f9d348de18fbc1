// BIP-340 Schnorr keys and signatures against the official test vectors
// (${INFERGRID_SHARED_DATA}/crypto/bip340-test-vectors.csv), plus secret-key validation.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "chain/keys.hpp"
#include "tests/chain/fixtures.hpp"

namespace ig::testing {
namespace {

struct VectorRow {
  int index = 0;
  std::string secret_key, public_key, aux_rand, message, signature;
  bool result = false;
  std::string comment;
};

std::vector<VectorRow> load_vectors() {
  const std::string path = std::string(INFERGRID_SHARED_DATA) + "/crypto/bip340-test-vectors.csv";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<VectorRow> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    // The comment is the last column and may be empty; only the first seven split.
    for (int i = 0; i < 7 && std::getline(ss, cell, ','); ++i) f.push_back(cell);
    std::getline(ss, cell);
    if (f.size() != 7) throw std::runtime_error("malformed vector line: " + line);
    rows.push_back(VectorRow{std::stoi(f[0]), f[1], f[2], f[3], f[4], f[5], f[6] == "TRUE", ss ? cell : ""});
  }
  return rows;
}

Bytes hex(const std::string& s) {
  auto b = from_hex(s);
  if (!b) throw std::runtime_error("bad hex in vectors: " + s);
  return *b;
}

template <size_t N>
std::array<uint8_t, N> hex_fixed(const std::string& s) {
  auto b = from_hex_fixed<N>(s);
  if (!b) throw std::runtime_error("bad fixed hex in vectors: " + s);
  return *b;
}

TEST(ChainBip340, VectorFileHasEveryRow) {
  auto rows = load_vectors();
  ASSERT_EQ(rows.size(), 19u);
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].index, static_cast<int>(i));
}

TEST(ChainBip340, SigningRowsGiveTheExactKeyAndSignature) {
  int signing_rows = 0;
  for (const auto& v : load_vectors()) {
    if (v.secret_key.empty()) continue;
    ++signing_rows;
    SCOPED_TRACE("vector " + std::to_string(v.index));
    auto sk = SecretKey::from_bytes(hex(v.secret_key));
    ASSERT_TRUE(sk) << sk.error().to_string();
    EXPECT_EQ(sk->public_key(), hex_fixed<32>(v.public_key));
    Bytes msg = hex(v.message);
    Signature sig = sk->sign(msg, hex_fixed<32>(v.aux_rand));
    EXPECT_EQ(to_hex(sig), to_hex(hex_fixed<64>(v.signature)));
    EXPECT_TRUE(verify_signature(sk->public_key(), msg, sig));
    // Fresh aux randomness gives a different but equally valid signature.
    Signature fresh = sk->sign(msg);
    EXPECT_TRUE(verify_signature(sk->public_key(), msg, fresh));
  }
  EXPECT_EQ(signing_rows, 8);
}

TEST(ChainBip340, EveryRowVerifiesAsTheVectorSays) {
  int true_rows = 0, false_rows = 0;
  for (const auto& v : load_vectors()) {
    SCOPED_TRACE("vector " + std::to_string(v.index) + " " + v.comment);
    bool ok = verify_signature(hex_fixed<32>(v.public_key), hex(v.message), hex_fixed<64>(v.signature));
    EXPECT_EQ(ok, v.result);
    (v.result ? true_rows : false_rows)++;
  }
  EXPECT_EQ(true_rows, 9);
  EXPECT_EQ(false_rows, 10);
}

TEST(ChainBip340, MessagesOfEveryLengthAreSignedWhole) {
  // The vectors sign 0, 1, 17, 32 and 100-byte messages; a change in any byte must matter.
  auto rows = load_vectors();
  for (int idx : {15, 16, 17, 18}) {
    const auto& v = rows[idx];
    Bytes msg = hex(v.message);
    Signature sig = hex_fixed<64>(v.signature);
    PublicKey pub = hex_fixed<32>(v.public_key);
    ASSERT_TRUE(verify_signature(pub, msg, sig));
    Bytes longer = msg;
    longer.push_back(0);
    EXPECT_FALSE(verify_signature(pub, longer, sig)) << "vector " << idx;
    if (!msg.empty()) {
      Bytes flipped = msg;
      flipped.back() ^= 1;
      EXPECT_FALSE(verify_signature(pub, flipped, sig)) << "vector " << idx;
    }
  }
}

TEST(ChainBip340, SecretKeyRejectsZeroOrderAndWrongLength) {
  const std::string n = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141";
  const std::string n_minus_1 = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140";
  const std::string n_plus_1 = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364142";
  EXPECT_EQ(SecretKey::from_bytes(Bytes(32, 0)).error().code, "key.invalid");
  EXPECT_EQ(SecretKey::from_bytes(hex(n)).error().code, "key.invalid");
  EXPECT_EQ(SecretKey::from_bytes(hex(n_plus_1)).error().code, "key.invalid");
  EXPECT_EQ(SecretKey::from_bytes(Bytes(32, 0xFF)).error().code, "key.invalid");
  EXPECT_TRUE(SecretKey::from_bytes(hex(n_minus_1)));
  Bytes one(32, 0);
  one[31] = 1;
  auto k1 = SecretKey::from_bytes(one);
  ASSERT_TRUE(k1);
  // 1·G: the generator's x coordinate.
  EXPECT_EQ(to_hex(k1->public_key()), "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
  EXPECT_EQ(SecretKey::from_bytes(Bytes(31, 1)).error().code, "key.length");
  EXPECT_EQ(SecretKey::from_bytes(Bytes(33, 1)).error().code, "key.length");
}

TEST(ChainBip340, GeneratedKeysAreDistinctAndSign) {
  SecretKey a = SecretKey::generate(), b = SecretKey::generate();
  EXPECT_NE(a.bytes(), b.bytes());
  EXPECT_NE(a.public_key(), b.public_key());
  Bytes msg = {1, 2, 3};
  Signature sig = a.sign(msg);
  EXPECT_TRUE(verify_signature(a.public_key(), msg, sig));
  EXPECT_FALSE(verify_signature(b.public_key(), msg, sig));
}

TEST(ChainBip340, TransactionSignatureCoversBodyAndChainId) {
  TestKeys k;
  Transaction tx = make_transfer(k.alice, 0, k.bob.public_key(), 10);
  EXPECT_TRUE(verify_tx_signature(tx));
  Transaction other_amount = tx;
  std::get<Transfer>(other_amount.body.payload).amount = 11;
  EXPECT_FALSE(verify_tx_signature(other_amount));
  Transaction other_chain = tx;
  other_chain.body.chain_id = "ig-other";
  EXPECT_FALSE(verify_tx_signature(other_chain));
  Transaction other_sender = tx;
  other_sender.body.sender = k.bob.public_key();
  EXPECT_FALSE(verify_tx_signature(other_sender));
  // The signed message is the domain-separated hash, not the raw body.
  Writer body;
  encode_body(body, tx.body);
  EXPECT_EQ(tx_signing_hash(tx.body), signing_hash(kTagTx, kChainId, body.data()));
  EXPECT_NE(tx_signing_hash(tx.body), signing_hash(kTagVote, kChainId, body.data()));
}

}  // namespace
}  // namespace ig::testing
