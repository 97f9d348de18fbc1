#include "common/merkle.hpp"

namespace ig {

Hash32 merkle_leaf(std::span<const uint8_t> data) {
  const uint8_t tag = 0x00;
  return sha256(std::span<const uint8_t>(&tag, 1), data);
}

Hash32 merkle_node(const Hash32& l, const Hash32& r) {
  const uint8_t tag = 0x01;
  Sha256 s;
  s.update(std::span<const uint8_t>(&tag, 1)).update(l).update(r);
  return s.finish();
}

static std::vector<Hash32> next_level(const std::vector<Hash32>& level) {
  std::vector<Hash32> up;
  up.reserve((level.size() + 1) / 2);
  for (size_t i = 0; i + 1 < level.size(); i += 2) up.push_back(merkle_node(level[i], level[i + 1]));
  if (level.size() % 2 == 1) up.push_back(level.back());
  return up;
}

Hash32 merkle_root(std::span<const Hash32> leaf_hashes) {
  if (leaf_hashes.empty()) return Hash32{};
  std::vector<Hash32> level(leaf_hashes.begin(), leaf_hashes.end());
  while (level.size() > 1) level = next_level(level);
  return level[0];
}

MerkleProof merkle_prove(std::span<const Hash32> leaf_hashes, uint64_t index) {
  MerkleProof proof{index, leaf_hashes.size(), {}};
  if (index >= leaf_hashes.size()) return proof;
  std::vector<Hash32> level(leaf_hashes.begin(), leaf_hashes.end());
  uint64_t i = index;
  while (level.size() > 1) {
    uint64_t sibling = i ^ 1;
    if (sibling < level.size()) proof.siblings.push_back(level[sibling]);
    level = next_level(level);
    i /= 2;
  }
  return proof;
}

bool merkle_verify(const Hash32& root, const Hash32& leaf_hash, const MerkleProof& proof) {
  if (proof.index >= proof.leaf_count) return false;
  Hash32 node = leaf_hash;
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

}  // namespace ig
