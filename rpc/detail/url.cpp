#include "rpc/detail/url.hpp"

#include <algorithm>
#include <cctype>

namespace ig::rpc::detail {
namespace {

ig::Unexpected bad(const std::string& url, const std::string& why) {
  return ig::fail("rpc.bad_url", "bad URL '" + url + "': " + why);
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

}  // namespace

ig::Expected<Url> parse_url(const std::string& text, const std::string& scheme) {
  Url url;
  auto sep = text.find("://");
  if (sep == std::string::npos) return bad(text, "expected " + scheme + "://host:port");
  url.scheme = text.substr(0, sep);
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (url.scheme != scheme) return bad(text, "scheme must be " + scheme);

  std::string rest = text.substr(sep + 3);
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  url.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.find('@') != std::string::npos) return bad(text, "user info is not supported");

  std::string port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return bad(text, "unterminated IPv6 address");
    url.host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad(text, "junk after IPv6 address");
      port_text = after.substr(1);
    }
    if (url.host.empty() || url.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
      return bad(text, "bad IPv6 address");
  } else {
    auto colon = authority.find(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
    if (url.host.empty()) return bad(text, "missing host");
    if (!std::all_of(url.host.begin(), url.host.end(), valid_host_char)) return bad(text, "bad host");
  }

  if (port_text.empty()) {
    url.port = 80;
    return url;
  }
  if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos)
    return bad(text, "bad port");
  unsigned long port = std::stoul(port_text);
  if (port == 0 || port > 65535) return bad(text, "port must be 1..65535");
  url.port = static_cast<uint16_t>(port);
  return url;
}

}  // namespace ig::rpc::detail
