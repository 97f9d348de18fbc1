// Parsing of the small URLs the clients accept: scheme://host[:port][/path].
#pragma once

#include <cstdint>
#include <string>

#include "common/expected.hpp"

namespace ig::rpc::detail {

struct Url {
  std::string scheme;  // lower case
  std::string host;    // IPv6 literals without brackets
  uint16_t port = 0;
  std::string target;  // path and query, "/" when absent
};

// `scheme` is the one expected ("ws" or "http"); errors are "rpc.bad_url".
ig::Expected<Url> parse_url(const std::string& text, const std::string& scheme);

}  // namespace ig::rpc::detail
