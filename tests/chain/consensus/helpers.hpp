// Helpers for the consensus tests: deterministic validator keys, blocks, and messages signed
// directly with a key (how a test plays the other validators, honest or byzantine).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "chain/consensus/tendermint.hpp"
#include "chain/hash.hpp"

namespace ig::chain::bft::testing {

inline constexpr const char* kChain = "ig-bft-test";

inline SecretKey test_key(size_t i) {
  const std::string seed = "bft-test-validator-" + std::to_string(i);
  auto k = SecretKey::from_bytes(sha256(view(seed)));
  if (!k) throw std::runtime_error("bad test key");
  return *k;
}

struct Keys {
  explicit Keys(size_t n, std::vector<uint64_t> powers = {}) {
    for (size_t i = 0; i < n; ++i) {
      keys.push_back(test_key(i));
      Validator v;
      v.consensus_key = keys.back().public_key();
      v.account = v.consensus_key;
      v.power = powers.empty() ? 1 : powers[i];
      v.name = "v" + std::to_string(i);
      validators.push_back(v);
    }
  }
  std::vector<SecretKey> keys;
  std::vector<Validator> validators;
  // The index of the validator with this key.
  size_t index_of(const PublicKey& k) const {
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i].public_key() == k) return i;
    throw std::runtime_error("unknown key");
  }
};

// A distinct block per (height, tag).
inline Block make_block(uint64_t height, uint64_t tag, const PublicKey& proposer = {}) {
  Block b;
  b.header.chain_id = kChain;
  b.header.height = height;
  b.header.time_ms = 1000 + tag;
  b.header.proposer = proposer;
  b.header.tx_root = tx_root(b.txs);
  return b;
}

inline Proposal signed_proposal(const SecretKey& k, uint64_t h, uint32_t r, int32_t pol, const Block& b) {
  Proposal p{h, r, pol, b, k.public_key(), {}};
  p.signature = k.sign(proposal_signing_hash(kChain, p));
  return p;
}

inline Vote signed_vote(const SecretKey& k, uint8_t type, uint64_t h, uint32_t r, const Hash& value) {
  Vote v{type, h, r, value, k.public_key(), {}};
  v.signature = k.sign(vote_signing_hash(kChain, v));
  return v;
}

inline Hash hash_of(const Block& b) { return block_hash(b.header); }

// A fresh directory under /tmp, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/ig-bft-test-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace ig::chain::bft::testing
