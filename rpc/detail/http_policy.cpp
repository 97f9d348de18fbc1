#include "rpc/detail/http_policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace ig::rpc::detail {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_ip_literal(const std::string& name) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, name.c_str(), buf) == 1 || ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

bool listed(const std::vector<std::string>& list, const std::string& value) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& item) {
    return item == "*" || lower(item) == value;
  });
}

bool is_port(std::string_view s) {
  return !s.empty() && s.size() <= 5 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool is_json_media_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  return lower(trim(type)) == "application/json";
}

std::string host_name_of(std::string_view host_header) {
  std::string_view h = trim(host_header);
  if (h.empty() || h.size() > 255) return "";
  if (h.front() == '[') {  // [v6]:port
    auto close = h.find(']');
    if (close == std::string_view::npos) return "";
    std::string_view rest = h.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !is_port(rest.substr(1)))) return "";
    return lower(h.substr(1, close - 1));
  }
  auto colon = h.find(':');
  if (colon != std::string_view::npos) {
    if (h.find(':', colon + 1) != std::string_view::npos) return "";  // bare IPv6 is not a valid Host
    if (!is_port(h.substr(colon + 1))) return "";
    h = h.substr(0, colon);
  }
  for (char c : h) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') return "";
  }
  return lower(h);
}

std::optional<std::string> browser_refusal(std::optional<std::string_view> host,
                                           std::optional<std::string_view> origin,
                                           const BrowserPolicy& policy) {
  if (host) {
    std::string name = host_name_of(*host);
    if (name.empty()) return "malformed Host header";
    if (!is_ip_literal(name) && name != "localhost" && !listed(policy.allowed_hosts, name)) {
      return "Host '" + name + "' is not allowed (add it to rpc.allowed_hosts to serve it)";
    }
  }
  if (origin) {
    std::string o = lower(trim(*origin));
    if (host && o == "http://" + lower(trim(*host))) return std::nullopt;  // our own pages
    if (!listed(policy.allowed_origins, o)) {
      return "Origin '" + o.substr(0, 128) + "' is not allowed (add it to rpc.allowed_origins to serve it)";
    }
  }
  return std::nullopt;
}

}  // namespace ig::rpc::detail
