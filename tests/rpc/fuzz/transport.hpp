// Drives a running JSON-RPC server (rpc::Server in a test, or a real infergridd) with hostile
// input over its real transports, and checks after every message that it still answers:
// a sentinel request that gets no reply within the timeout is a hang, a refused reconnect a
// crash. Used by the randomized tests (short runs in CI) and by `rpc_fuzz` (long runs).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/expected.hpp"
#include "messages.hpp"

namespace ig::rpc::fuzz {

// Why `text` is not a well-formed reply (a JSON-RPC response, a batch of them, or a
// notification), or nullopt when it is.
std::optional<std::string> reply_problem(const std::string& text);

struct RunStats {
  uint64_t messages = 0;     // hostile messages sent
  uint64_t replies = 0;      // replies read (sentinels excluded)
  uint64_t reconnects = 0;   // connections the server closed (oversize, bad frames, refusals)
  std::map<int, uint64_t> http_status;  // HTTP runs: responses by status
  double seconds = 0;
};

struct Target {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::chrono::milliseconds timeout{10000};  // for one sentinel round trip
};

// WebSocket: each hostile message (text or binary frame) is followed by a sentinel request.
ig::Expected<RunStats> run_websocket(const Target& target, MessageGen& gen, uint64_t count);
// HTTP POST on a keep-alive connection, with varied Content-Type, Origin and Host headers.
ig::Expected<RunStats> run_http(const Target& target, MessageGen& gen, uint64_t count);
// Whole HTTP requests mutated byte by byte (request line, headers, framing), one per connection.
ig::Expected<RunStats> run_raw_http(const Target& target, MessageGen& gen, uint64_t count);

}  // namespace ig::rpc::fuzz
