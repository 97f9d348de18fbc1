// Binary SHA-256 Merkle tree over step fingerprints.
//
//   leaf  = SHA-256(0x00 || leaf bytes)        (see fingerprint.hpp)
//   node  = SHA-256(0x01 || left || right)
//   Odd rule: when a level has an odd number of nodes, the last node is carried
//   up to the next level unchanged (it is neither duplicated nor re-hashed), so
//   no two different leaf lists share a root. The root of zero leaves is 32 zero
//   bytes; the root of one leaf is that leaf.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "inference/receipt/sha256.hpp"

namespace ig::receipt {

Digest node_hash(const Digest& left, const Digest& right);
Digest merkle_root(std::span<const Digest> leaves);

struct MerkleProof {
  uint32_t index = 0;
  uint32_t n_leaves = 0;
  std::vector<Digest> path;  // siblings from the leaf level up; carried levels add none
};

// index must be < leaves.size().
MerkleProof merkle_proof(std::span<const Digest> leaves, uint32_t index);
// True when `leaf` at proof.index of a proof.n_leaves-leaf tree has this root.
bool verify_proof(const Digest& root, const Digest& leaf, const MerkleProof& proof);

}  // namespace ig::receipt
