#include "chain/merkle.hpp"

#include "chain/hash.hpp"

namespace ig::chain {

Hash merkle_leaf(ByteView data) {
  const uint8_t tag = 0x00;
  return sha256(ByteView(&tag, 1), data);
}

static Hash merkle_node(const Hash& l, const Hash& r) {
  const uint8_t tag = 0x01;
  Sha256 s;
  s.update(ByteView(&tag, 1)).update(l).update(r);
  return s.finish();
}

static std::vector<Hash> next_level(const std::vector<Hash>& level) {
  std::vector<Hash> up;
  up.reserve((level.size() + 1) / 2);
  for (size_t i = 0; i + 1 < level.size(); i += 2) up.push_back(merkle_node(level[i], level[i + 1]));
  if (level.size() % 2 == 1) up.push_back(level.back());
  return up;
}

Hash merkle_root(const std::vector<Hash>& leaf_hashes) {
  if (leaf_hashes.empty()) return Hash{};
  std::vector<Hash> level = leaf_hashes;
  while (level.size() > 1) level = next_level(level);
  return level[0];
}

MerkleProof merkle_prove(const std::vector<Hash>& leaf_hashes, uint64_t index) {
  MerkleProof proof{index, leaf_hashes.size(), {}};
  if (index >= leaf_hashes.size()) return proof;
  std::vector<Hash> level = leaf_hashes;
  uint64_t i = index;
  while (level.size() > 1) {
    uint64_t sibling = i ^ 1;
    if (sibling < level.size()) proof.siblings.push_back(level[sibling]);
    level = next_level(level);
    i /= 2;
  }
  return proof;
}

bool merkle_verify(const Hash& root, const Hash& leaf_hash, const MerkleProof& proof) {
  if (proof.index >= proof.leaf_count) return false;
  Hash node = leaf_hash;
  uint64_t i = proof.index, width = proof.leaf_count;
  size_t used = 0;
  while (width > 1) {
    uint64_t sibling = i ^ 1;
    if (sibling < width) {
      if (used >= proof.siblings.size()) return false;
      node = (i % 2 == 0) ? merkle_node(node, proof.siblings[used]) : merkle_node(proof.siblings[used], node);
      ++used;
    }
    i /= 2;
    width = (width + 1) / 2;
  }
  return used == proof.siblings.size() && node == root;
}

}  // namespace ig::chain
