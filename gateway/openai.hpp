// The OpenAI HTTP API as the gateway speaks it (docs/gateway.md): parsing and validating
// /v1/completions and /v1/chat/completions bodies, and building the replies, the streamed
// chunks and the error objects. Pure functions of their inputs (no sockets, no chain), so every
// rule is unit-tested.
//
// Errors are values: a request either parses into a CompletionRequest or into the ApiError the
// client gets, with its HTTP status, in OpenAI's shape
//   {"error": {"message": "...", "type": "invalid_request_error", "param": "max_tokens", "code": "..."}}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace ig::gateway {

using json = nlohmann::json;

struct ApiError {
  int status = 400;
  std::string type = "invalid_request_error";
  std::string code;     // machine-readable: invalid_api_key, model_not_found, no_miner, timeout, ...
  std::string message;  // for a person
  std::string param;    // the offending request field, or empty (null in the JSON)
};

template <typename T>
using ApiResult = std::variant<T, ApiError>;

template <typename T>
const ApiError* error_of(const ApiResult<T>& r) {
  return std::get_if<ApiError>(&r);
}

json error_json(const ApiError& e);
ApiError bad_request(std::string message, std::string param = "", std::string code = "invalid_value");

enum class Endpoint { Completions, Chat };

struct ChatMessage {
  std::string role;  // system, user, assistant ("developer" is read as system)
  std::string content;
};

// A validated request. Sampling values are already in the task's milli-integer units.
struct CompletionRequest {
  Endpoint endpoint = Endpoint::Completions;
  std::string model;                  // a registered model's id (hex) or its name
  std::string prompt;                 // completions
  std::vector<ChatMessage> messages;  // chat
  std::optional<uint32_t> max_tokens; // absent: the gateway's default
  uint32_t temperature_milli = 1000;  // OpenAI's default temperature is 1
  uint32_t top_p_milli = 1000;
  uint32_t top_k = 0;                 // extension (not in OpenAI's API): 0 = no limit
  std::optional<uint64_t> seed;       // absent: the gateway draws one and reports it
  bool stream = false;
  bool include_usage = false;         // stream_options.include_usage
  std::vector<std::string> stop;      // applied to the verified text (docs/gateway.md)
};

// Limits a request is held to (the chain's own where it has one).
inline constexpr size_t kMaxPromptBytes = 16384;  // chain::kMaxPromptBytes
inline constexpr uint32_t kMaxTokensLimit = 4096;
inline constexpr size_t kMaxMessages = 256;
inline constexpr size_t kMaxStopSequences = 4;
inline constexpr size_t kMaxStopBytes = 64;
inline constexpr size_t kMaxModelNameBytes = 128;

// Parses and validates a request body. Unknown fields are ignored (clients send many); fields
// whose non-default values the network cannot honour (n > 1, logprobs, tools, penalties, ...)
// are a 400 naming the field.
ApiResult<CompletionRequest> parse_request(Endpoint endpoint, std::string_view body);

// What the chain produced for one request, ready to be rendered.
struct Completion {
  std::string id;            // "cmpl-…" / "chatcmpl-…"
  std::string model;         // the model id (hex), as /v1/models lists it
  uint64_t created = 0;      // unix seconds
  std::string text;          // after stop sequences
  std::string finish_reason; // "stop" or "length"
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
  json extension;            // the "infergrid" field: task id, receipt, verdicts (docs/gateway.md)
};

json completion_json(Endpoint endpoint, const Completion& c);
json usage_json(const Completion& c);

// Streaming (server-sent events). Each returns one "data: …\n\n" event.
std::string sse_event(const json& payload);
std::string sse_done();                                 // "data: [DONE]\n\n"
std::string sse_comment(std::string_view text);         // ": text\n\n" (clients ignore it)
// The chunk that opens a chat stream (delta.role = assistant), a text piece, the closing chunk
// with finish_reason (and the extension), and the usage chunk (stream_options.include_usage).
json chunk_role(const Completion& head);
json chunk_text(Endpoint endpoint, const Completion& head, std::string_view piece);
json chunk_finish(Endpoint endpoint, const Completion& c);
json chunk_usage(Endpoint endpoint, const Completion& c);

// The text cut into stream pieces: one per word with the whitespace before it, so the pieces
// concatenate to exactly `text` and never split a UTF-8 character.
std::vector<std::string> stream_pieces(std::string_view text);

// Cuts `text` before the first occurrence of any stop sequence; true when it did.
bool apply_stop(std::string& text, const std::vector<std::string>& stop);

}  // namespace ig::gateway
