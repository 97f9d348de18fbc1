#include "inference/receipt/merkle.hpp"

#include <cstring>

namespace ig::receipt {

Digest node_hash(const Digest& left, const Digest& right) {
  uint8_t buf[65];
  buf[0] = 0x01;
  std::memcpy(buf + 1, left.data(), 32);
  std::memcpy(buf + 33, right.data(), 32);
  return sha256(buf);
}

namespace {
std::vector<Digest> next_level(const std::vector<Digest>& level) {
  std::vector<Digest> up;
  up.reserve((level.size() + 1) / 2);
  for (size_t i = 0; i + 1 < level.size(); i += 2) up.push_back(node_hash(level[i], level[i + 1]));
  if (level.size() % 2 == 1) up.push_back(level.back());
  return up;
}
}  // namespace

Digest merkle_root(std::span<const Digest> leaves) {
  if (leaves.empty()) return Digest{};
  std::vector<Digest> level(leaves.begin(), leaves.end());
  while (level.size() > 1) level = next_level(level);
  return level[0];
}

MerkleProof merkle_proof(std::span<const Digest> leaves, uint32_t index) {
  MerkleProof p;
  p.index = index;
  p.n_leaves = uint32_t(leaves.size());
  std::vector<Digest> level(leaves.begin(), leaves.end());
  size_t idx = index;
  while (level.size() > 1) {
    const size_t sib = idx ^ 1;
    if (sib < level.size()) p.path.push_back(level[sib]);
    level = next_level(level);
    idx /= 2;
  }
  return p;
}

bool verify_proof(const Digest& root, const Digest& leaf, const MerkleProof& proof) {
  if (proof.n_leaves == 0 || proof.index >= proof.n_leaves) return false;
  Digest h = leaf;
  uint64_t idx = proof.index, n = proof.n_leaves;
  size_t used = 0;
  while (n > 1) {
    const bool carried = (idx == n - 1) && (n % 2 == 1);
    if (!carried) {
      if (used >= proof.path.size()) return false;
      const Digest& sib = proof.path[used++];
      h = (idx % 2 == 0) ? node_hash(h, sib) : node_hash(sib, h);
    }
    idx /= 2;
    n = (n + 1) / 2;
  }
  return used == proof.path.size() && h == root;
}

}  // namespace ig::receipt
