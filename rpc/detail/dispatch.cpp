#include "rpc/detail/dispatch.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace ig::rpc::detail {
namespace {

constexpr size_t kMaxNameInMessage = 64;  // never reflect a huge method name back

std::string clip(const std::string& s) {
  return s.size() <= kMaxNameInMessage ? s : s.substr(0, kMaxNameInMessage) + "...";
}

json reply(const json& id, const MethodResult& result) {
  json out = {{"jsonrpc", "2.0"}, {"id", id}};
  if (result.ok()) {
    out["result"] = result.value();
  } else {
    out["error"] = error_object(result.error());
  }
  return out;
}

json invalid_request(std::string message) {
  return reply(nullptr, RpcError{kInvalidRequest, std::move(message)});
}

// JSON-RPC 2.0 asks for ids to be echoed exactly. A string, null or an integer that fits
// 64 bits (signed or unsigned) comes back exactly; the JSON library keeps any other number
// as a double (18446744073709551616, 1.5, 1e2), whose text can change on the way back, so
// two ids of one batch could come back equal. Those are refused instead (the spec says
// numeric ids SHOULD NOT have fractional parts).
bool is_valid_id(const json& id) {
  return id.is_string() || id.is_number_integer() || id.is_null();
}

struct ParsedMessage {
  json value;
  std::optional<RpcError> error;
};

// Parses with a nesting limit: deeper values are discarded while parsing, so
// a hostile input never builds a structure deep enough to exhaust the stack
// when it is later copied or destroyed. Never throws: every failure the JSON
// library can report (syntax, a number beyond the range of a double, ...) and
// running out of memory become an RpcError.
ParsedMessage parse_message(std::string_view text, size_t max_depth) {
  bool too_deep = false;
  auto guard = [&](int depth, json::parse_event_t event, json&) {
    bool opens = event == json::parse_event_t::object_start ||
                 event == json::parse_event_t::array_start;
    if (opens && static_cast<size_t>(depth) >= max_depth) {
      too_deep = true;
      return false;
    }
    return true;
  };
  ParsedMessage out;
  try {
    out.value = json::parse(text.begin(), text.end(), guard);
  } catch (const json::parse_error& e) {
    out.error = RpcError{kParseError, "parse error at byte " + std::to_string(e.byte)};
    return out;
  } catch (const json::out_of_range&) {
    // Valid JSON syntax, but a number (e.g. 1e400) beyond what a double holds.
    out.error = RpcError{kInvalidRequest, "a number in the message is out of range"};
    return out;
  } catch (const json::exception& e) {
    out.error = RpcError{kInvalidRequest, "malformed message (json error " + std::to_string(e.id) + ")"};
    return out;
  } catch (const std::bad_alloc&) {
    out.error = RpcError{kLimitExceeded, "message too large to parse"};
    return out;
  }
  if (too_deep) {
    out.error = RpcError{kInvalidRequest,
                         "JSON nested deeper than " + std::to_string(max_depth) + " levels"};
  }
  return out;
}

struct SubscribeParams {
  std::string topic;
  json filter;
};

std::optional<SubscribeParams> read_subscribe_params(const json& params, RpcError& err) {
  json topic, filter;
  if (params.is_array() && (params.size() == 1 || params.size() == 2)) {
    topic = params[0];
    if (params.size() == 2) filter = params[1];
  } else if (params.is_object() && params.contains("topic")) {
    topic = params["topic"];
    if (params.contains("filter")) filter = params["filter"];
  } else {
    err = invalid_params("expected [topic] or [topic, filter]");
    return std::nullopt;
  }
  if (!topic.is_string()) {
    err = invalid_params("topic must be a string");
    return std::nullopt;
  }
  if (!filter.is_null() && !filter.is_object()) {
    err = invalid_params("filter must be an object");
    return std::nullopt;
  }
  return SubscribeParams{topic.get<std::string>(), filter};
}

std::optional<std::string> read_unsubscribe_params(const json& params) {
  json id;
  if (params.is_array() && params.size() == 1) id = params[0];
  if (params.is_object() && params.contains("subscription")) id = params["subscription"];
  if (!id.is_string()) return std::nullopt;
  return id.get<std::string>();
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

bool is_reserved_method(const std::string& name) {
  return name == "rpc_methods" || name == "subscribe" || name == "unsubscribe" ||
         name.rfind("rpc.", 0) == 0;
}

std::string to_text(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

json error_object(const RpcError& e) {
  json out = {{"code", e.code}, {"message", e.message}};
  if (!e.data.is_null()) out["data"] = e.data;
  return out;
}

std::string error_reply_text(const RpcError& e) { return to_text(reply(nullptr, e)); }

Dispatcher::Dispatcher(std::map<std::string, Handler> methods, std::vector<std::string> topics,
                       DispatchLimits limits)
    : methods_(std::move(methods)), topics_(std::move(topics)), limits_(limits) {
  for (const auto& [name, handler] : methods_) counters_.emplace(name, std::make_unique<MethodCounter>());
  for (const char* name : {"rpc_methods", "subscribe", "unsubscribe", "other"})
    counters_.emplace(name, std::make_unique<MethodCounter>());
}

void Dispatcher::count(const std::string& method, bool ok) const {
  auto it = counters_.find(method);
  if (it == counters_.end()) it = counters_.find("other");
  it->second->requests.fetch_add(1, std::memory_order_relaxed);
  if (!ok) it->second->errors.fetch_add(1, std::memory_order_relaxed);
}

std::vector<MethodStats> Dispatcher::method_stats() const {
  std::vector<MethodStats> out;
  out.reserve(counters_.size());
  for (const auto& [name, c] : counters_)
    out.push_back({name, c->requests.load(std::memory_order_relaxed), c->errors.load(std::memory_order_relaxed)});
  return out;
}

std::optional<std::string> Dispatcher::handle(std::string_view text, SubscriptionHost* host) const noexcept {
  // This runs on an I/O thread for every message from the network: nothing may escape it.
  try {
    return handle_message(text, host);
  } catch (const std::exception& e) {
    spdlog::warn("rpc: a message could not be handled: {}", e.what());
  } catch (...) {
    spdlog::warn("rpc: a message could not be handled (unknown exception)");
  }
  try {
    return error_reply_text({kInternalError, "internal error"});
  } catch (...) {
    return std::nullopt;  // out of memory even for the error: the session closes instead
  }
}

std::optional<std::string> Dispatcher::handle_message(std::string_view text, SubscriptionHost* host) const {
  ParsedMessage msg = parse_message(text, limits_.max_depth);
  if (msg.error) return error_reply_text(*msg.error);
  if (!msg.value.is_array()) {
    auto out = handle_one(msg.value, host);
    if (!out) return std::nullopt;
    return to_text(*out);
  }
  const json& batch = msg.value;
  if (batch.empty()) return error_reply_text({kInvalidRequest, "empty batch"});
  if (batch.size() > limits_.max_batch) {
    return error_reply_text({kLimitExceeded, "batch of " + std::to_string(batch.size()) +
                                                 " requests exceeds the limit of " +
                                                 std::to_string(limits_.max_batch)});
  }
  json replies = json::array();
  for (const auto& request : batch) {
    if (auto out = handle_one(request, host)) replies.push_back(std::move(*out));
  }
  if (replies.empty()) return std::nullopt;
  return to_text(replies);
}

std::optional<json> Dispatcher::handle_one(const json& request, SubscriptionHost* host) const {
  if (!request.is_object()) return invalid_request("request must be a JSON object");
  auto id_it = request.find("id");
  bool is_notification = id_it == request.end();
  json id = is_notification ? json(nullptr) : *id_it;
  if (!is_valid_id(id)) {
    return invalid_request("\"id\" must be a string, an integer within 64 bits, or null");
  }

  auto version = request.find("jsonrpc");
  if (version == request.end() || *version != "2.0") {
    return reply(id, RpcError{kInvalidRequest, "\"jsonrpc\" must be \"2.0\""});
  }
  auto method = request.find("method");
  if (method == request.end() || !method->is_string()) {
    return reply(id, RpcError{kInvalidRequest, "\"method\" must be a string"});
  }
  auto params = request.find("params");
  if (params != request.end() && !params->is_array() && !params->is_object()) {
    return reply(id, RpcError{kInvalidRequest, "\"params\" must be an array or an object"});
  }

  requests_.fetch_add(1, std::memory_order_relaxed);
  static const json kNoParams = json::array();
  const json& args = params == request.end() ? kNoParams : *params;
  const std::string& name = method->get_ref<const std::string&>();
  MethodResult result = invoke(name, args, host);
  count(name, result.ok());
  if (is_notification) return std::nullopt;
  return reply(id, result);
}

MethodResult Dispatcher::invoke(const std::string& method, const json& params,
                                SubscriptionHost* host) const {
  try {
    if (method == "rpc_methods") return list_methods();
    if (method == "subscribe" || method == "unsubscribe") return invoke_subscription(method, params, host);
    auto it = methods_.find(method);
    if (it == methods_.end()) return RpcError{kMethodNotFound, "method '" + clip(method) + "' not found"};
    return it->second(params);
  } catch (const std::exception& e) {
    spdlog::warn("rpc: method {} failed with an exception: {}", clip(method), e.what());
  } catch (...) {
    spdlog::warn("rpc: method {} failed with an unknown exception", clip(method));
  }
  return RpcError{kInternalError, "internal error"};
}

MethodResult Dispatcher::invoke_subscription(const std::string& method, const json& params,
                                             SubscriptionHost* host) const {
  if (!host) return RpcError{kMethodNotSupported, "subscriptions need a WebSocket connection"};
  if (method == "unsubscribe") {
    auto id = read_unsubscribe_params(params);
    if (!id) return invalid_params("expected [subscription id]");
    return host->unsubscribe(*id);
  }
  RpcError err;
  auto sub = read_subscribe_params(params, err);
  if (!sub) return err;
  if (std::find(topics_.begin(), topics_.end(), sub->topic) == topics_.end()) {
    return invalid_params("unknown topic '" + clip(sub->topic) + "' (topics: " + join(topics_) + ")");
  }
  if (auto bad = check_filter(sub->filter, limits_.filter)) return invalid_params(*bad);
  return host->subscribe(sub->topic, sub->filter);
}

MethodResult Dispatcher::list_methods() const {
  json names = json::array({"rpc_methods", "subscribe", "unsubscribe"});
  for (const auto& [name, handler] : methods_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return json{{"methods", names}, {"topics", topics_}};
}

}  // namespace ig::rpc::detail
