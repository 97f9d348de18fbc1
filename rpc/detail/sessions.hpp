// Entry points of the per-connection sessions (internal; Beast types).
#pragma once

#include <memory>

#include "rpc/detail/net.hpp"
#include "rpc/detail/server_state.hpp"

namespace ig::rpc::detail {

// Serves HTTP requests on an accepted connection and hands WebSocket upgrade
// requests to a WebSocket session.
void run_http_session(tcp::socket socket, std::shared_ptr<ServerState> state, ConnectionSlot slot);

// Answers the first request on a connection over max_connections with 503.
void run_reject_session(tcp::socket socket, std::shared_ptr<ServerState> state);

void run_ws_session(beast::tcp_stream stream, http::request<http::string_body> upgrade,
                    std::shared_ptr<ServerState> state, ConnectionSlot slot);

std::string remote_name(const tcp::socket& socket);

}  // namespace ig::rpc::detail
