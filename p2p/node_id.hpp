// Node ids and peer addresses: the names the P2P layer gives to peers.
//
// A node id is the 32-byte Ed25519 public key of the node key (node_key.hpp). Its text form is
// the 64 lowercase hex digits of those bytes; parsing accepts upper case too, so an id copied
// from anywhere works, and always prints lowercase. A peer address is "ID@host:port" (host a
// name, an IPv4 address, or an IPv6 address in brackets), as in CometBFT's persistent_peers.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace ig::p2p {

struct NodeId {
  std::array<uint8_t, 32> bytes{};

  std::string to_string() const;         // 64 lowercase hex digits
  std::string short_string() const;      // first 12 hex digits, for logs
  auto operator<=>(const NodeId&) const = default;
  bool operator==(const NodeId&) const = default;
};

// "p2p.bad_node_id" unless `text` is exactly 64 hex digits.
ig::Expected<NodeId> node_id_from_string(std::string_view text);

struct PeerAddress {
  NodeId id;
  std::string host;  // DNS name or IP address (without brackets)
  uint16_t port = 0;

  std::string to_string() const;  // ID@host:port, IPv6 hosts in brackets
  bool operator==(const PeerAddress&) const = default;
};

// "p2p.bad_address" unless `text` is ID@host:port with a valid id, a non-empty host of at most
// 253 characters (letters, digits, '.', '-', '_', or ':' inside brackets) and a port in 1..65535.
ig::Expected<PeerAddress> parse_peer_address(std::string_view text);

// "host:port" (port 0 allowed: an ephemeral port for a listener). Used for NetworkConfig::listen.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
ig::Expected<HostPort> parse_host_port(std::string_view text);

}  // namespace ig::p2p

template <>
struct std::hash<ig::p2p::NodeId> {
  size_t operator()(const ig::p2p::NodeId& id) const noexcept {
    // The bytes are a public key: already uniformly distributed, so any 8 of them hash well.
    size_t h = 0;
    for (size_t i = 0; i < sizeof(size_t); ++i) h = (h << 8) | id.bytes[i];
    return h;
  }
};
