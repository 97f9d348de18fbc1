// Step fingerprints are committed with the project's one Merkle tree (common/merkle.hpp):
//   leaf  = SHA-256(0x00 || leaf bytes)        (see fingerprint.hpp)
//   node  = SHA-256(0x01 || left || right)
//   an odd last node is carried up unchanged; zero leaves give 32 zero bytes.
#pragma once

#include "common/merkle.hpp"
#include "inference/receipt/sha256.hpp"

namespace ig::receipt {

using ig::MerkleProof;
using ig::merkle_node;
using ig::merkle_prove;
using ig::merkle_root;
using ig::merkle_verify;

}  // namespace ig::receipt
