// JSON-RPC 2.0 vocabulary shared by the server and the client: error codes,
// the error value a method returns, and the method handler signature.
//
// This header (and every public rpc/ header) is free of Boost: the transport
// lives behind pimpl in rpc/*.cpp so that users compile quickly.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

namespace ig::rpc {

using json = nlohmann::json;

// Standard JSON-RPC 2.0 codes.
inline constexpr int kParseError = -32700;      // body is not valid JSON
inline constexpr int kInvalidRequest = -32600;  // not a valid request object
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;   // handler threw; details go to the log only

// Application range -32000..-32099 (see docs/rpc.md). The transport itself uses
// kLimitExceeded and kMethodNotSupported; the rest are for method handlers.
inline constexpr int kServerError = -32000;        // generic application failure
inline constexpr int kNotFound = -32001;           // block, tx, account ... does not exist
inline constexpr int kUnavailable = -32002;        // temporarily unable (syncing, shutting down)
inline constexpr int kMethodNotSupported = -32004; // e.g. subscribe over HTTP
inline constexpr int kLimitExceeded = -32005;      // message, batch or subscription limit
inline constexpr int kTxRejected = -32010;         // transaction failed validation / mempool

struct RpcError {
  int code = kInternalError;
  std::string message;
  json data = nullptr;  // optional structured detail; omitted from the reply when null
};

inline RpcError invalid_params(std::string message, json data = nullptr) {
  return RpcError{kInvalidParams, std::move(message), std::move(data)};
}
inline RpcError not_found(std::string message, json data = nullptr) {
  return RpcError{kNotFound, std::move(message), std::move(data)};
}

// What a method handler returns: a JSON result or an RpcError. Anything a json
// can be built from converts implicitly, so handlers can `return 42;`,
// `return json{{"height", h}};` or `return not_found("no such block");`.
class MethodResult {
 public:
  MethodResult(RpcError error) : v_(std::in_place_index<1>, std::move(error)) {}
  template <typename T>
    requires(!std::same_as<std::remove_cvref_t<T>, MethodResult> &&
             !std::same_as<std::remove_cvref_t<T>, RpcError> &&
             std::is_constructible_v<json, T>)
  MethodResult(T&& value) : v_(std::in_place_index<0>, json(std::forward<T>(value))) {}

  bool ok() const { return v_.index() == 0; }
  const json& value() const { return std::get<0>(v_); }
  json& value() { return std::get<0>(v_); }
  const RpcError& error() const { return std::get<1>(v_); }

 private:
  std::variant<json, RpcError> v_;
};

// Requests and error replies per JSON-RPC method since start. Names the server does not know
// are counted together under "other", so a client cannot grow the table.
struct MethodStats {
  std::string method;
  uint64_t requests = 0;
  uint64_t errors = 0;  // replies carrying an error object (any code)
};

// A method handler. `params` is the request's params (an array or an object),
// or an empty array when the request had none. Called on a server I/O thread,
// possibly concurrently with other calls when ServerConfig::threads > 1, so it
// must be thread-safe. A thrown exception becomes -32603 "internal error"
// (the exception text is logged, never sent to the client).
using Handler = std::function<MethodResult(const json& params)>;

}  // namespace ig::rpc
