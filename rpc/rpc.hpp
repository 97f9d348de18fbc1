// The rpc library's public surface: JSON-RPC 2.0 over WebSocket and HTTP.
//   rpc/types.hpp   error codes, RpcError, MethodResult, Handler
//   rpc/server.hpp  Server, ServerConfig, ServerStats
//   rpc/client.hpp  Client (WebSocket), http_request, http_post
#pragma once

#include "rpc/client.hpp"
#include "rpc/server.hpp"
#include "rpc/types.hpp"
