// Binary Merkle tree over SHA-256 (transactions and receipts of a block).
//
// Leaves are hashed as H(0x00 || leaf) and inner nodes as H(0x01 || left || right), so a leaf
// can never be passed off as an inner node. An odd node at any level is promoted unchanged
// (no duplication, which would let two different lists share a root). The empty list's root
// is 32 zero bytes.
#pragma once

#include <vector>

#include "chain/bytes.hpp"

namespace ig::chain {

Hash merkle_leaf(ByteView data);
Hash merkle_root(const std::vector<Hash>& leaf_hashes);

struct MerkleProof {
  uint64_t index = 0;
  uint64_t leaf_count = 0;
  std::vector<Hash> siblings;  // bottom-up; levels where the node was promoted have none
};

MerkleProof merkle_prove(const std::vector<Hash>& leaf_hashes, uint64_t index);
bool merkle_verify(const Hash& root, const Hash& leaf_hash, const MerkleProof& proof);

}  // namespace ig::chain
