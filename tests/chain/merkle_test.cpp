// Merkle roots computed by hand from the documented rule (leaf H(0x00||x), node
// H(0x01||l||r), odd node promoted, empty root zero), and inclusion proofs.
#include <gtest/gtest.h>

#include "chain/merkle.hpp"
#include "tests/chain/fixtures.hpp"

namespace ig::testing {
namespace {

// Independent of merkle.cpp: concatenate the bytes and hash them in one call.
Hash leaf(const std::string& x) {
  Bytes b{0x00};
  b.insert(b.end(), x.begin(), x.end());
  return sha256(b);
}
Hash node(const Hash& l, const Hash& r) {
  Bytes b{0x01};
  b.insert(b.end(), l.begin(), l.end());
  b.insert(b.end(), r.begin(), r.end());
  return sha256(b);
}

std::vector<Hash> leaves(size_t n) {
  std::vector<Hash> out;
  for (size_t i = 0; i < n; ++i) out.push_back(merkle_leaf(view("leaf-" + std::to_string(i))));
  return out;
}

TEST(ChainMerkle, LeafHashIsTagged) {
  EXPECT_EQ(merkle_leaf(view(std::string("abc"))), leaf("abc"));
  EXPECT_NE(merkle_leaf(view(std::string("abc"))), sha256(view(std::string("abc"))));
}

TEST(ChainMerkle, RootsBuiltByHand) {
  auto L = leaves(8);
  EXPECT_EQ(merkle_root(std::vector<Hash>{}), Hash{});
  EXPECT_EQ(merkle_root({L[0]}), L[0]);
  EXPECT_EQ(merkle_root({L[0], L[1]}), node(L[0], L[1]));
  // Three: the third leaf is promoted to the second level unchanged.
  EXPECT_EQ(merkle_root({L[0], L[1], L[2]}), node(node(L[0], L[1]), L[2]));
  // Five: L4 is promoted twice.
  Hash n01 = node(L[0], L[1]), n23 = node(L[2], L[3]), n45 = node(L[4], L[5]), n67 = node(L[6], L[7]);
  EXPECT_EQ(merkle_root({L[0], L[1], L[2], L[3], L[4]}), node(node(n01, n23), L[4]));
  EXPECT_EQ(merkle_root(L), node(node(n01, n23), node(n45, n67)));
}

TEST(ChainMerkle, RootsMatchValuesComputedOutsideThisCodebase) {
  // Computed with Python's hashlib from the same rule, over leaves "leaf-0", "leaf-1", ….
  EXPECT_EQ(to_hex(merkle_root(leaves(1))), "305df59f9590c3c9ac63d2b2743c388e3792449078cebf7fb3dbe6471643b2b7");
  EXPECT_EQ(to_hex(merkle_root(leaves(2))), "60a53eed0de87a90c8e59427c59c46253c33a76a09502a51801300927b7e6bdc");
  EXPECT_EQ(to_hex(merkle_root(leaves(3))), "cf763a041c81ceef1578a6083f75c61bef2e0014f2a3e683a97fcfca5be7f19a");
  EXPECT_EQ(to_hex(merkle_root(leaves(5))), "00d21829a5503145348abcf712513eacf2a274211ad83e970202bb5b6d80b286");
  EXPECT_EQ(to_hex(merkle_root(leaves(8))), "ca6b7b3e674ac86c1027b59c87c064fc3bc27b313294c75f83bd05fdd13f0dcf");
}

TEST(ChainMerkle, NoDuplicationAmbiguity) {
  // Bitcoin's duplicate-last-node rule gives [a,b,c] and [a,b,c,c] the same root; ours must not.
  auto L = leaves(3);
  auto L4 = L;
  L4.push_back(L[2]);
  EXPECT_NE(merkle_root(L), merkle_root(L4));
  // A leaf can never pose as an inner node.
  auto two = leaves(2);
  Bytes concatenated(two[0].begin(), two[0].end());
  concatenated.insert(concatenated.end(), two[1].begin(), two[1].end());
  EXPECT_NE(merkle_leaf(concatenated), merkle_root(two));
}

TEST(ChainMerkle, ProofsVerifyForEveryIndex) {
  for (size_t n : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 13u, 16u, 17u, 33u}) {
    auto L = leaves(n);
    Hash root = merkle_root(L);
    for (size_t i = 0; i < n; ++i) {
      MerkleProof p = merkle_prove(L, i);
      EXPECT_EQ(p.index, i);
      EXPECT_EQ(p.leaf_count, n);
      EXPECT_TRUE(merkle_verify(root, L[i], p)) << "n=" << n << " i=" << i;
    }
  }
}

TEST(ChainMerkle, TamperedProofsFail) {
  for (size_t n : {2u, 3u, 5u, 8u, 11u}) {
    auto L = leaves(n);
    Hash root = merkle_root(L);
    for (size_t i = 0; i < n; ++i) {
      SCOPED_TRACE("n=" + std::to_string(n) + " i=" + std::to_string(i));
      MerkleProof p = merkle_prove(L, i);
      ASSERT_FALSE(p.siblings.empty());
      EXPECT_FALSE(merkle_verify(root, L[(i + 1) % n], p));  // another leaf
      for (size_t s = 0; s < p.siblings.size(); ++s) {
        MerkleProof bad = p;
        bad.siblings[s][7] ^= 0x10;
        EXPECT_FALSE(merkle_verify(root, L[i], bad));
      }
      MerkleProof moved = p;
      moved.index = (i + 1) % n;
      EXPECT_FALSE(merkle_verify(root, L[i], moved));
      MerkleProof out_of_range = p;
      out_of_range.index = n;
      EXPECT_FALSE(merkle_verify(root, L[i], out_of_range));
      MerkleProof extra = p;
      extra.siblings.push_back(L[0]);
      EXPECT_FALSE(merkle_verify(root, L[i], extra));
      MerkleProof missing = p;
      missing.siblings.pop_back();
      EXPECT_FALSE(merkle_verify(root, L[i], missing));
      // (leaf_count is not bound by the root; a verifier takes it from the block. A count
      // that changes the path's shape must still fail.)
      MerkleProof wrong_count = p;
      wrong_count.leaf_count = 1;
      EXPECT_FALSE(merkle_verify(root, L[i], wrong_count));
      Hash other_root = root;
      other_root[0] ^= 1;
      EXPECT_FALSE(merkle_verify(other_root, L[i], p));
    }
  }
}

TEST(ChainMerkle, SingleLeafAndEmptyProofs) {
  auto L = leaves(1);
  MerkleProof p = merkle_prove(L, 0);
  EXPECT_TRUE(p.siblings.empty());
  EXPECT_TRUE(merkle_verify(L[0], L[0], p));
  EXPECT_FALSE(merkle_verify(L[0], leaves(2)[1], p));
  EXPECT_FALSE(merkle_verify(Hash{}, Hash{}, merkle_prove(std::vector<Hash>{}, 0)));
}

TEST(ChainMerkle, BlockRootsUseTheEncodings) {
  TestKeys k;
  std::vector<Transaction> txs = {make_transfer(k.alice, 0, k.bob.public_key(), 1),
                                  make_transfer(k.bob, 0, k.alice.public_key(), 2)};
  EXPECT_EQ(tx_root(txs), node(merkle_leaf(encode_tx(txs[0])), merkle_leaf(encode_tx(txs[1]))));
  EXPECT_EQ(tx_root({}), Hash{});
  Receipt r;
  r.tx_hash = tx_hash(txs[0]);
  EXPECT_EQ(receipts_root({r}), merkle_leaf(encode_receipt(r)));
}

}  // namespace
}  // namespace ig::testing
