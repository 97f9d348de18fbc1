// Merkle tree, fingerprints, the canonical receipt encoding and receipt files.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "inference/receipt/bundle.hpp"
#include "inference/receipt/merkle.hpp"
#include "inference/receipt/receipt.hpp"

namespace ig::receipt {
namespace {

std::vector<Digest> leaves(size_t n) {
  std::vector<Digest> v;
  for (size_t i = 0; i < n; ++i) v.push_back(leaf_hash(uint32_t(i), Fingerprint{int32_t(i), 1, 2}));
  return v;
}

TEST(ReceiptSha, KnownAnswer) {
  const std::string abc = "abc";
  EXPECT_EQ(to_hex(sha256({reinterpret_cast<const uint8_t*>(abc.data()), abc.size()})),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto d = digest_from_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ASSERT_TRUE(d);
  EXPECT_FALSE(digest_from_hex("zz"));
  EXPECT_FALSE(digest_from_hex(std::string(64, 'g')));
}

TEST(ReceiptMerkle, OddLevelsCarryTheLastNodeUp) {
  auto l = leaves(3);
  EXPECT_EQ(merkle_root(std::span<const Digest>(l.data(), 1)), l[0]);
  EXPECT_EQ(merkle_root(l), merkle_node(merkle_node(l[0], l[1]), l[2]));
  auto l5 = leaves(5);
  EXPECT_EQ(merkle_root(l5), merkle_node(merkle_node(merkle_node(l5[0], l5[1]), merkle_node(l5[2], l5[3])), l5[4]));
  EXPECT_EQ(merkle_root({}), Digest{});
  // no duplication: [a,b,c] and [a,b,c,c] differ
  auto l4 = l;
  l4.push_back(l[2]);
  EXPECT_NE(merkle_root(l), merkle_root(l4));
}

TEST(ReceiptMerkle, EveryProofVerifiesAndTamperingFails) {
  for (size_t n = 1; n <= 17; ++n) {
    auto l = leaves(n);
    const Digest root = merkle_root(l);
    for (uint32_t i = 0; i < n; ++i) {
      MerkleProof p = merkle_prove(l, i);
      ASSERT_TRUE(merkle_verify(root, l[i], p)) << n << " " << i;
      Digest other = l[i];
      other[0] ^= 1;
      EXPECT_FALSE(merkle_verify(root, other, p));
      if (n > 1) {
        MerkleProof wrong = p;
        wrong.index = (i + 1) % uint32_t(n);
        EXPECT_FALSE(merkle_verify(root, l[i], wrong)) << n << " " << i;
        MerkleProof cut = p;
        cut.siblings.pop_back();
        EXPECT_FALSE(merkle_verify(root, l[i], cut));
      }
    }
  }
  MerkleProof bad;
  EXPECT_FALSE(merkle_verify(Digest{}, Digest{}, bad));
}

TEST(ReceiptFingerprint, FixedPointAndLeafLayout) {
  EXPECT_EQ(quantize_logit(1.5f), 98304);
  EXPECT_EQ(quantize_logit(-0.25f), -16384);
  EXPECT_EQ(quantize_logit(1e30f), INT32_MAX);
  EXPECT_EQ(quantize_logit(-INFINITY), INT32_MIN + 1);
  EXPECT_EQ(quantize_logit(NAN), INT32_MIN);
  // leaf = sha256(00 | step | token | logit_q | runner_up_q), little-endian
  const uint8_t bytes[17] = {0, 3, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(leaf_hash(3, Fingerprint{16, 65536, -1}), sha256(bytes));
}

Receipt sample_receipt() {
  engine::SamplingParams p;
  p.max_tokens = 32;
  p.temperature = 0.8f;
  p.top_k = 40;
  p.top_p = 0.95f;
  p.seed = 0x0102030405060708ull;
  std::vector<int32_t> prompt = {1, 403}, out = {5, 6, 2};
  std::vector<Fingerprint> fps = {{5, 1, 0}, {6, 2, 1}, {2, 3, 2}};
  return make_receipt(sha256(std::vector<uint8_t>{1}), prompt, p, out, fps);
}

TEST(ReceiptEncoding, LayoutRoundTripAndRejections) {
  const Receipt r = sample_receipt();
  const auto b = encode(r);
  ASSERT_EQ(b.size(), kReceiptBytes);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "IGRC");
  EXPECT_EQ(b[4], 1);
  EXPECT_EQ(b[69], 32);           // max_tokens LE
  EXPECT_EQ(b[85], 0x08);         // seed LE, low byte first
  EXPECT_EQ(b[92], 0x01);
  EXPECT_EQ(b[157], 3);           // steps
  EXPECT_TRUE(std::equal(r.model_id.begin(), r.model_id.end(), b.begin() + 5));
  EXPECT_TRUE(std::equal(r.fingerprint_root.begin(), r.fingerprint_root.end(), b.begin() + 125));
  auto d = decode(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, r);
  EXPECT_EQ(receipt_id(*d), sha256(b));

  auto shorter = b;
  shorter.pop_back();
  EXPECT_EQ(decode(shorter).error().code, "receipt.bad_length");
  auto magic = b;
  magic[0] = 'X';
  EXPECT_EQ(decode(magic).error().code, "receipt.bad_magic");
  auto version = b;
  version[4] = 2;
  EXPECT_EQ(decode(version).error().code, "receipt.bad_version");
  auto steps = b;
  steps[157] = 200;  // > max_tokens
  EXPECT_EQ(decode(steps).error().code, "receipt.bad_steps");
  auto topp = b;
  topp[84] = 0x7f;  // top_p high byte -> huge / NaN
  EXPECT_FALSE(decode(topp));
}

TEST(ReceiptBundle, JsonRoundTripAndBadFiles) {
  Bundle b;
  b.receipt = sample_receipt();
  b.prompt_text = "hi";
  b.prompt_ids = {1, 403};
  b.output_ids = {5, 6, 2};
  b.fingerprints = {{5, 1, 0}, {6, 2, 1}, {2, 3, 2}};
  const auto path = (std::filesystem::temp_directory_path() / "ig_receipt_bundle.json").string();
  ASSERT_TRUE(write_bundle(path, b));
  auto r = read_bundle(path);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->receipt, b.receipt);
  EXPECT_EQ(r->output_ids, b.output_ids);
  EXPECT_EQ(r->fingerprints, b.fingerprints);
  EXPECT_EQ(r->prompt_text, "hi");

  auto j = to_json(b);
  j["receipt"] = "00ff";
  EXPECT_EQ(bundle_from_json(j).error().code, "receipt.bad_length");
  j = to_json(b);
  j["output_ids"] = {1, -2};
  EXPECT_EQ(bundle_from_json(j).error().code, "receipt.bad_bundle");
  j = to_json(b);
  j["fingerprints"] = {{1, 2}};
  EXPECT_EQ(bundle_from_json(j).error().code, "receipt.bad_bundle");
  j = to_json(b);
  j["receipt"] = "xyz1";
  EXPECT_EQ(bundle_from_json(j).error().code, "receipt.bad_hex");
  EXPECT_EQ(bundle_from_json(nlohmann::json::array()).error().code, "receipt.bad_bundle");
  EXPECT_EQ(read_bundle("/nonexistent/file.json").error().code, "receipt.io");
  std::ofstream(path) << "{not json";
  EXPECT_EQ(read_bundle(path).error().code, "receipt.bad_json");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace ig::receipt
