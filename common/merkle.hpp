// The one binary Merkle tree of the project (block transactions and receipts, inference
// receipts' per-step fingerprints).
//
// Leaves are hashed as H(0x00 || leaf) and inner nodes as H(0x01 || left || right), so a leaf
// can never be passed off as an inner node. An odd node at any level is carried up unchanged
// (no duplication, which would let two different lists share a root). The empty list's root
// is 32 zero bytes.
#pragma once

#include <vector>

#include "common/sha256.hpp"

namespace ig {

Hash32 merkle_leaf(std::span<const uint8_t> data);  // H(0x00 || data)
Hash32 merkle_node(const Hash32& left, const Hash32& right);
Hash32 merkle_root(std::span<const Hash32> leaf_hashes);

struct MerkleProof {
  uint64_t index = 0;
  uint64_t leaf_count = 0;
  std::vector<Hash32> siblings;  // bottom-up; levels where the node was carried up have none
};

MerkleProof merkle_prove(std::span<const Hash32> leaf_hashes, uint64_t index);
bool merkle_verify(const Hash32& root, const Hash32& leaf_hash, const MerkleProof& proof);

}  // namespace ig
