// Entry points of the per-connection sessions (internal; Beast types).
#pragma once

#include <memory>

#include "rpc/detail/net.hpp"
#include "rpc/detail/server_state.hpp"

namespace ig::rpc::detail {

// Serves HTTP requests on an accepted connection and hands WebSocket upgrade
// requests to a WebSocket session.
void run_http_session(tcp::socket socket, std::shared_ptr<ServerState> state, ConnectionSlot slot);

enum class RejectReason { server_full, address_full };

// Answers the first request on a connection over the limits with 503 (server full) or 429
// (too many from that address), then closes it.
void run_reject_session(tcp::socket socket, std::shared_ptr<ServerState> state, RejectReason reason);

void run_ws_session(beast::tcp_stream stream, http::request<http::string_body> upgrade,
                    std::shared_ptr<ServerState> state, ConnectionSlot slot);

// "1.2.3.4:5678" for logs; "?" when unknown.
std::string remote_name(const tcp::socket& socket);
// The peer's address alone ("1.2.3.4", "::1"; an IPv4-mapped IPv6 address as IPv4), the key
// of the per-address connection cap; "?" when unknown.
std::string remote_address(const tcp::socket& socket);

}  // namespace ig::rpc::detail
