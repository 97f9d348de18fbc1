// Block transaction and receipt roots use the project's one Merkle tree (common/merkle.hpp).
#pragma once

#include "chain/bytes.hpp"
#include "common/merkle.hpp"

namespace ig::chain {

using ig::MerkleProof;
using ig::merkle_leaf;
using ig::merkle_verify;

// Vector overloads, so callers can also pass a braced list of leaves.
inline Hash merkle_root(const std::vector<Hash>& leaves) { return ig::merkle_root(std::span<const Hash>(leaves)); }
inline MerkleProof merkle_prove(const std::vector<Hash>& leaves, uint64_t index) {
  return ig::merkle_prove(std::span<const Hash>(leaves), index);
}

}  // namespace ig::chain
