#include "p2p/node_id.hpp"

#include <charconv>

namespace ig::p2p {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

ig::Expected<uint16_t> parse_port(std::string_view s, bool allow_zero, const char* code) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || s.size() > 5 || ec != std::errc() || end != s.data() + s.size() || value > 65535 ||
      (!allow_zero && value == 0)) {
    return ig::fail(code, "port must be a number in " + std::string(allow_zero ? "0" : "1") +
                              "..65535, got '" + std::string(s) + "'");
  }
  return static_cast<uint16_t>(value);
}

// Splits "host:port" / "[v6]:port"; the host comes back without brackets.
ig::Expected<HostPort> split_host_port(std::string_view s, bool allow_zero, const char* code) {
  std::string_view host, port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return ig::fail(code, "expected [ipv6]:port, got '" + std::string(s) + "'");
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    if (host.empty() || host.size() > 45) return ig::fail(code, "bad IPv6 address in '" + std::string(s) + "'");
    for (char c : host)
      if (hex_value(c) < 0 && c != ':' && c != '.') return ig::fail(code, "bad IPv6 address in '" + std::string(s) + "'");
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return ig::fail(code, "expected host:port, got '" + std::string(s) + "'");
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.empty() || host.size() > 253) return ig::fail(code, "empty or overlong host in '" + std::string(s) + "'");
    for (char c : host)
      if (!is_host_char(c)) return ig::fail(code, "bad character in host '" + std::string(host) + "'");
  }
  IG_TRY_ASSIGN(p, parse_port(port, allow_zero, code));
  return HostPort{std::string(host), p};
}

}  // namespace

std::string NodeId::to_string() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return out;
}

std::string NodeId::short_string() const { return to_string().substr(0, 12); }

ig::Expected<NodeId> node_id_from_string(std::string_view text) {
  if (text.size() != 64) {
    return ig::fail("p2p.bad_node_id", "a node id is 64 hex digits, got " + std::to_string(text.size()) +
                                           " characters");
  }
  NodeId id;
  for (size_t i = 0; i < 32; ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return ig::fail("p2p.bad_node_id", "a node id is 64 hex digits; found a non-hex character");
    id.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return id;
}

std::string PeerAddress::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  return id.to_string() + "@" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

ig::Expected<PeerAddress> parse_peer_address(std::string_view text) {
  auto at = text.find('@');
  if (at == std::string_view::npos)
    return ig::fail("p2p.bad_address", "a peer address is ID@host:port, got '" + std::string(text) + "'");
  auto id = node_id_from_string(text.substr(0, at));
  if (!id) return ig::fail("p2p.bad_address", "in '" + std::string(text) + "': " + id.error().message);
  IG_TRY_ASSIGN(hp, split_host_port(text.substr(at + 1), false, "p2p.bad_address"));
  return PeerAddress{*id, std::move(hp.host), hp.port};
}

ig::Expected<HostPort> parse_host_port(std::string_view text) {
  return split_host_port(text, true, "p2p.bad_address");
}

}  // namespace ig::p2p
