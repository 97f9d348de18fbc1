// What the HTTP front door accepts, as pure functions of header values (no sockets), so the
// rules can be tested exhaustively: the media type of a JSON-RPC POST, and the browser
// defences on Host and Origin (docs/rpc.md, "Browsers and other web pages").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ig::rpc::detail {

// True for "application/json", in any case, optionally followed by parameters
// ("application/json; charset=utf-8"). "application/jsonfoo", "text/json" and an empty
// value are not JSON.
bool is_json_media_type(std::string_view content_type);

struct BrowserPolicy {
  std::vector<std::string> allowed_hosts;    // besides IP literals and "localhost"; "*" = any
  std::vector<std::string> allowed_origins;  // besides the server's own; "*" = any
};

// Why a request with these Host and Origin header values (nullopt = header absent) is refused,
// or nullopt when it is acceptable.
//  - Host: absent (HTTP/1.0 clients), an IP literal (with or without a port, IPv6 in
//    brackets), "localhost", or a name in allowed_hosts. Anything else is a DNS name that
//    may have been rebound to this machine by a hostile page.
//  - Origin: absent (not a browser), the server's own origin ("http://" + the Host value, so
//    pages the node serves itself may call it), or listed in allowed_origins. "null" (sandboxed
//    frames, file: pages) is foreign.
std::optional<std::string> browser_refusal(std::optional<std::string_view> host,
                                           std::optional<std::string_view> origin,
                                           const BrowserPolicy& policy);

// The host part of a Host header value: "127.0.0.1:8546" → "127.0.0.1", "[::1]:80" → "::1",
// "Example.COM" → "example.com". Empty when the value is malformed.
std::string host_name_of(std::string_view host_header);

}  // namespace ig::rpc::detail
