// The node key: an Ed25519 key that names this node on the P2P network (its public key is the
// node id) and signs the node's TLS certificate. It is separate from consensus and account keys
// (DESIGN.md §8): losing it only changes how peers must list this node.
//
// On disk it is an unencrypted PKCS#8 PEM file ("-----BEGIN PRIVATE KEY-----"), mode 0600.
// Loading refuses a file that group or others may read, as ssh does for its keys, because
// whoever reads it can impersonate the node to its peers.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "common/expected.hpp"
#include "p2p/node_id.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept opaque so its headers stay out of ours

namespace ig::p2p {

class NodeKey {
 public:
  // A fresh random key.
  static ig::Expected<NodeKey> generate();
  // "p2p.key_io" (missing, unreadable, readable by others), "p2p.bad_key" (not an Ed25519 PEM key).
  static ig::Expected<NodeKey> load(const std::string& path);
  // Loads `path`, or when it does not exist generates a key and saves it there. An existing
  // file that does not load is an error: it is never overwritten.
  static ig::Expected<NodeKey> load_or_create(const std::string& path);
  // From the 32-byte Ed25519 private seed (tests and deterministic tools).
  static ig::Expected<NodeKey> from_seed(const std::array<uint8_t, 32>& seed);

  // Writes the key as PEM with mode 0600: to a temporary file in the same directory, fsync'd,
  // then renamed over `path`, so a crash leaves the old key or the new one. Creates a missing
  // parent directory (mode 0700).
  ig::Status save(const std::string& path) const;

  const NodeId& id() const { return id_; }
  std::string to_pem() const;

  // The OpenSSL key, for the TLS layer (p2p/detail/tls.cpp). Owned by this NodeKey.
  evp_pkey_st* native() const;

 private:
  struct Impl;
  explicit NodeKey(std::shared_ptr<const Impl> impl, NodeId id) : impl_(std::move(impl)), id_(id) {}
  std::shared_ptr<const Impl> impl_;  // immutable once made, so copies share it
  NodeId id_;
};

}  // namespace ig::p2p
