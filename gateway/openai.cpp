#include "gateway/openai.hpp"

#include <cmath>

namespace ig::gateway {
namespace {

constexpr int kMaxDepth = 32;  // request bodies are shallow; deeper input is refused unbuilt

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Parses with a nesting limit and never throws.
std::optional<json> parse_body(std::string_view body, std::string& why) {
  bool too_deep = false;
  auto guard = [&](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) && depth >= kMaxDepth) {
      too_deep = true;
      return false;
    }
    return true;
  };
  try {
    json j = json::parse(body.begin(), body.end(), guard);
    if (too_deep) {
      why = "the JSON body is nested deeper than " + std::to_string(kMaxDepth) + " levels";
      return std::nullopt;
    }
    return j;
  } catch (const json::exception& e) {
    why = "the body is not valid JSON (" + std::string(e.what()).substr(0, 120) + ")";
  } catch (const std::bad_alloc&) {
    why = "the body is too large to parse";
  }
  return std::nullopt;
}

bool present(const json& o, const char* key) { return o.contains(key) && !o[key].is_null(); }

// A number within [lo, hi] in thousandths, rounded to the nearest.
std::optional<ApiError> milli(const json& o, const char* key, double lo, double hi, uint32_t& out) {
  if (!present(o, key)) return std::nullopt;
  const json& v = o[key];
  if (!v.is_number()) return bad_request(std::string(key) + " must be a number", key);
  double d = v.get<double>();
  if (!(d >= lo && d <= hi)) {
    return bad_request(std::string(key) + " must be within " + dump(lo) + " and " + dump(hi) + ", got " + dump(v), key);
  }
  out = static_cast<uint32_t>(std::lround(d * 1000));
  return std::nullopt;
}

std::optional<ApiError> whole(const json& o, const char* key, uint64_t lo, uint64_t hi, std::optional<uint64_t>& out) {
  if (!present(o, key)) return std::nullopt;
  const json& v = o[key];
  if (!v.is_number_integer() || (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0)) {
    return bad_request(std::string(key) + " must be a whole number within " + std::to_string(lo) + " and " +
                           std::to_string(hi), key);
  }
  uint64_t u = v.get<uint64_t>();
  if (u < lo || u > hi) {
    return bad_request(std::string(key) + " must be within " + std::to_string(lo) + " and " + std::to_string(hi) +
                           ", got " + std::to_string(u), key);
  }
  out = u;
  return std::nullopt;
}

// Fields whose non-default values this network cannot honour: refused rather than ignored, so
// a client never believes it got what it asked for.
std::optional<ApiError> unsupported(const json& o) {
  auto is_default = [](const json& v, const json& dflt) { return v.is_null() || v == dflt; };
  struct Rule { const char* key; json dflt; const char* why; };
  const Rule rules[] = {
      {"n", 1, "only one choice per request (n = 1)"},
      {"best_of", 1, "best_of is not supported"},
      {"logprobs", false, "logprobs are not supported"},
      {"top_logprobs", 0, "logprobs are not supported"},
      {"echo", false, "echo is not supported"},
      {"suffix", "", "suffix is not supported"},
      {"presence_penalty", 0, "penalties are not supported (the task's sampler has none)"},
      {"frequency_penalty", 0, "penalties are not supported (the task's sampler has none)"},
      {"tools", json::array(), "tools are not supported"},
      {"functions", json::array(), "functions are not supported"},
      {"tool_choice", "none", "tools are not supported"},
      {"function_call", "none", "functions are not supported"},
  };
  for (const auto& r : rules) {
    if (!o.contains(r.key)) continue;
    const json& v = o[r.key];
    // 0 and 0.0, false, empty arrays and objects count as the default too.
    const bool empty = (v.is_array() || v.is_object() || v.is_string()) && v.empty();
    const bool zero = v.is_number() && r.dflt.is_number() && v.get<double>() == r.dflt.get<double>();
    if (is_default(v, r.dflt) || empty || zero || v == false) continue;
    return bad_request(std::string(r.why) + " (got " + dump(v).substr(0, 64) + ")", r.key, "unsupported_parameter");
  }
  if (o.contains("logit_bias") && !o["logit_bias"].is_null() && !(o["logit_bias"].is_object() && o["logit_bias"].empty()))
    return bad_request("logit_bias is not supported", "logit_bias", "unsupported_parameter");
  if (present(o, "response_format")) {
    const json& f = o["response_format"];
    if (!f.is_object() || f.value("type", "") != "text")
      return bad_request("response_format other than {\"type\": \"text\"} is not supported", "response_format",
                         "unsupported_parameter");
  }
  return std::nullopt;
}

std::optional<ApiError> read_content(const json& m, size_t index, std::string& out) {
  const std::string where = "messages[" + std::to_string(index) + "].content";
  if (!m.contains("content") || m["content"].is_null()) return std::nullopt;  // e.g. an assistant turn with none
  const json& c = m["content"];
  if (c.is_string()) {
    out = c.get<std::string>();
    return std::nullopt;
  }
  if (!c.is_array()) return bad_request(where + " must be a string or an array of text parts", where);
  for (const auto& part : c) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
      return bad_request(where + ": only text parts ({\"type\": \"text\", \"text\": ...}) are supported", where);
    out += part["text"].get<std::string>();
    if (out.size() > kMaxPromptBytes) break;
  }
  return std::nullopt;
}

std::optional<ApiError> read_messages(const json& o, std::vector<ChatMessage>& out) {
  if (!present(o, "messages")) return bad_request("messages is required", "messages", "missing_required_parameter");
  const json& ms = o["messages"];
  if (!ms.is_array() || ms.empty()) return bad_request("messages must be a non-empty array", "messages");
  if (ms.size() > kMaxMessages)
    return bad_request("at most " + std::to_string(kMaxMessages) + " messages", "messages");
  size_t total = 0;
  for (size_t i = 0; i < ms.size(); ++i) {
    const json& m = ms[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return bad_request(where + " must be an object with a role", where);
    std::string role = m["role"].get<std::string>();
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant")
      return bad_request(where + ".role must be system, developer, user or assistant (got '" + role.substr(0, 32) + "')",
                         where + ".role");
    ChatMessage msg{role, ""};
    if (auto e = read_content(m, i, msg.content)) return e;
    total += msg.content.size();
    if (total > kMaxPromptBytes)
      return bad_request("the messages exceed the chain's prompt limit of " + std::to_string(kMaxPromptBytes) + " bytes",
                         "messages", "context_length_exceeded");
    out.push_back(std::move(msg));
  }
  return std::nullopt;
}

std::optional<ApiError> read_prompt(const json& o, std::string& out) {
  if (!present(o, "prompt")) return bad_request("prompt is required", "prompt", "missing_required_parameter");
  const json& p = o["prompt"];
  if (p.is_string()) {
    out = p.get<std::string>();
  } else if (p.is_array() && p.size() == 1 && p[0].is_string()) {
    out = p[0].get<std::string>();
  } else {
    return bad_request("prompt must be a string (or an array of one string; token arrays are not supported)", "prompt");
  }
  if (out.empty()) return bad_request("prompt must not be empty", "prompt");
  if (out.size() > kMaxPromptBytes)
    return bad_request("prompt exceeds the chain's limit of " + std::to_string(kMaxPromptBytes) + " bytes", "prompt",
                       "context_length_exceeded");
  return std::nullopt;
}

std::optional<ApiError> read_stop(const json& o, std::vector<std::string>& out) {
  if (!present(o, "stop")) return std::nullopt;
  const json& s = o["stop"];
  std::vector<json> items;
  if (s.is_string()) items.push_back(s);
  else if (s.is_array()) items.assign(s.begin(), s.end());
  else return bad_request("stop must be a string or an array of strings", "stop");
  if (items.size() > kMaxStopSequences)
    return bad_request("at most " + std::to_string(kMaxStopSequences) + " stop sequences", "stop");
  for (const auto& it : items) {
    if (!it.is_string() || it.get<std::string>().empty() || it.get<std::string>().size() > kMaxStopBytes)
      return bad_request("each stop sequence must be a string of 1 to " + std::to_string(kMaxStopBytes) + " bytes", "stop");
    out.push_back(it.get<std::string>());
  }
  return std::nullopt;
}

}  // namespace

json error_json(const ApiError& e) {
  return json{{"error",
               {{"message", e.message},
                {"type", e.type},
                {"param", e.param.empty() ? json(nullptr) : json(e.param)},
                {"code", e.code.empty() ? json(nullptr) : json(e.code)}}}};
}

ApiError bad_request(std::string message, std::string param, std::string code) {
  return ApiError{400, "invalid_request_error", std::move(code), std::move(message), std::move(param)};
}

ApiResult<CompletionRequest> parse_request(Endpoint endpoint, std::string_view body) {
  std::string why;
  auto parsed = parse_body(body, why);
  if (!parsed) return bad_request(why, "", "invalid_json");
  const json& o = *parsed;
  if (!o.is_object()) return bad_request("the body must be a JSON object", "", "invalid_json");
  CompletionRequest r;
  r.endpoint = endpoint;
  if (!present(o, "model")) return bad_request("model is required", "model", "missing_required_parameter");
  if (!o["model"].is_string() || o["model"].get<std::string>().empty() ||
      o["model"].get<std::string>().size() > kMaxModelNameBytes)
    return bad_request("model must be a registered model's name or id", "model");
  r.model = o["model"].get<std::string>();
  if (auto e = unsupported(o)) return *e;
  if (endpoint == Endpoint::Completions) {
    if (auto e = read_prompt(o, r.prompt)) return *e;
  } else {
    if (auto e = read_messages(o, r.messages)) return *e;
  }
  std::optional<uint64_t> max_tokens, top_k, seed;
  // Chat clients send the newer max_completion_tokens; both mean the same here.
  const char* max_key = present(o, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (auto e = whole(o, max_key, 1, kMaxTokensLimit, max_tokens)) return *e;
  if (max_tokens) r.max_tokens = static_cast<uint32_t>(*max_tokens);
  if (auto e = milli(o, "temperature", 0, 2, r.temperature_milli)) return *e;
  if (auto e = milli(o, "top_p", 0, 1, r.top_p_milli)) return *e;
  if (r.top_p_milli == 0) r.top_p_milli = 1;  // the task keeps at least the most likely token
  if (auto e = whole(o, "top_k", 0, 100000, top_k)) return *e;
  if (top_k) r.top_k = static_cast<uint32_t>(*top_k);
  if (auto e = whole(o, "seed", 0, UINT64_MAX, seed)) return *e;
  r.seed = seed;
  if (present(o, "stream")) {
    if (!o["stream"].is_boolean()) return bad_request("stream must be true or false", "stream");
    r.stream = o["stream"].get<bool>();
  }
  if (present(o, "stream_options")) {
    const json& so = o["stream_options"];
    if (!so.is_object()) return bad_request("stream_options must be an object", "stream_options");
    if (present(so, "include_usage")) {
      if (!so["include_usage"].is_boolean()) return bad_request("include_usage must be true or false", "stream_options");
      r.include_usage = so["include_usage"].get<bool>();
    }
  }
  if (auto e = read_stop(o, r.stop)) return *e;
  return r;
}

json usage_json(const Completion& c) {
  return json{{"prompt_tokens", c.prompt_tokens},
              {"completion_tokens", c.completion_tokens},
              {"total_tokens", c.prompt_tokens + c.completion_tokens}};
}

json completion_json(Endpoint endpoint, const Completion& c) {
  json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", c.finish_reason}};
  if (endpoint == Endpoint::Completions) {
    choice["text"] = c.text;
  } else {
    choice["message"] = {{"role", "assistant"}, {"content", c.text}, {"refusal", nullptr}};
  }
  return json{{"id", c.id},
              {"object", endpoint == Endpoint::Completions ? "text_completion" : "chat.completion"},
              {"created", c.created},
              {"model", c.model},
              {"system_fingerprint", nullptr},
              {"choices", json::array({choice})},
              {"usage", usage_json(c)},
              {"infergrid", c.extension}};
}

std::string sse_event(const json& payload) { return "data: " + dump(payload) + "\n\n"; }
std::string sse_done() { return "data: [DONE]\n\n"; }

std::string sse_comment(std::string_view text) {
  std::string out = ": ";
  for (char c : text) out += (c == '\n' || c == '\r') ? ' ' : c;  // one comment line
  return out + "\n\n";
}

namespace {

json chunk_base(Endpoint endpoint, const Completion& c) {
  return json{{"id", c.id},
              {"object", endpoint == Endpoint::Completions ? "text_completion" : "chat.completion.chunk"},
              {"created", c.created},
              {"model", c.model},
              {"system_fingerprint", nullptr}};
}

}  // namespace

json chunk_role(const Completion& head) {
  json j = chunk_base(Endpoint::Chat, head);
  j["choices"] = json::array({{{"index", 0},
                               {"delta", {{"role", "assistant"}, {"content", ""}}},
                               {"logprobs", nullptr},
                               {"finish_reason", nullptr}}});
  return j;
}

json chunk_text(Endpoint endpoint, const Completion& head, std::string_view piece) {
  json j = chunk_base(endpoint, head);
  json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
  if (endpoint == Endpoint::Completions) choice["text"] = piece;
  else choice["delta"] = {{"content", piece}};
  j["choices"] = json::array({choice});
  return j;
}

json chunk_finish(Endpoint endpoint, const Completion& c) {
  json j = chunk_base(endpoint, c);
  json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", c.finish_reason}};
  if (endpoint == Endpoint::Completions) choice["text"] = "";
  else choice["delta"] = json::object();
  j["choices"] = json::array({choice});
  j["infergrid"] = c.extension;
  return j;
}

json chunk_usage(Endpoint endpoint, const Completion& c) {
  json j = chunk_base(endpoint, c);
  j["choices"] = json::array();
  j["usage"] = usage_json(c);
  return j;
}

std::vector<std::string> stream_pieces(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\n' || text[j] == '\t')) ++j;  // leading whitespace
    while (j < text.size() && text[j] != ' ' && text[j] != '\n' && text[j] != '\t') ++j;  // the word
    out.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

bool apply_stop(std::string& text, const std::vector<std::string>& stop) {
  size_t cut = std::string::npos;
  for (const auto& s : stop) {
    if (s.empty()) continue;
    size_t at = text.find(s);
    if (at < cut) cut = at;
  }
  if (cut == std::string::npos) return false;
  text.resize(cut);
  return true;
}

}  // namespace ig::gateway
