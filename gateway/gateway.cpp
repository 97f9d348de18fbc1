#include "gateway/gateway.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "gateway/gateway_impl.hpp"

namespace ig::gateway {
namespace {

bool is_loopback_host(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.rfind("127.", 0) == 0;
}

std::string lower_hex(std::string s) {
  if (s.rfind("0x", 0) == 0 || s.rfind("0X", 0) == 0) s = s.substr(2);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

json model_json(const ModelEntry& m) {
  return json{{"id", m.id_hex},
              {"object", "model"},
              {"created", m.created},
              {"owned_by", m.registered_by},
              {"infergrid", {{"name", m.name},
                             {"architecture", m.architecture},
                             {"price_per_token", std::to_string(m.price_per_token)},
                             {"context_limit", m.context_limit},
                             {"registered_height", m.registered_height},
                             {"miners", m.miners}}}};
}

}  // namespace

Gateway::Impl::Impl(GatewayConfig c, std::shared_ptr<Chain> ch, std::shared_ptr<const ModelFiles> f)
    : config(std::move(c)),
      chain(std::move(ch)),
      files(f ? std::move(f) : std::make_shared<const ModelFiles>()),
      limiter(config.rate_per_minute, config.rate_burst > 0 ? config.rate_burst : config.rate_per_minute),
      policy{config.allowed_hosts, config.allowed_origins},
      completion_seconds(rpc::exponential_buckets(0.25, 2, 12)),
      first_byte_seconds(rpc::exponential_buckets(0.25, 2, 12)) {}

void Gateway::Impl::count(const std::string& route, int status) {
  std::lock_guard l(counts_mu);
  ++responses[{route, status}];
  if (status >= 400) ++errors;
}

void Gateway::Impl::answer_json(const std::shared_ptr<Exchange>& ex, const std::string& route, int status,
                                const json& body, Headers headers) {
  count(route, status);
  ex->respond(status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace), std::move(headers));
}

void Gateway::Impl::answer_error(const std::shared_ptr<Exchange>& ex, const std::string& route, const ApiError& e) {
  Headers h;
  if (e.status == 401) h.emplace_back("WWW-Authenticate", "Bearer");
  answer_json(ex, route, e.status, error_json(e), std::move(h));
}

std::optional<std::string> Gateway::Impl::admit(const std::shared_ptr<Exchange>& ex, const std::string& route) {
  const Request& req = ex->request();
  std::string client = "addr:" + req.remote;
  if (!config.keys.empty()) {
    auto label = match_key(config.keys, req.header("authorization"));
    if (!label) {
      answer_error(ex, route, ApiError{401, "invalid_request_error", "invalid_api_key",
                                       req.header("authorization") ? "Incorrect API key provided."
                                                                   : "No API key provided: send Authorization: Bearer KEY.",
                                       ""});
      return std::nullopt;
    }
    client = "key:" + *label;
  }
  if (auto wait = limiter.take(client)) {
    const long seconds = std::max(1L, static_cast<long>(std::ceil(*wait)));
    Headers h{{"Retry-After", std::to_string(seconds)}};
    ApiError e{429, "requests", "rate_limit_exceeded",
               "Rate limit reached: " + std::to_string(static_cast<long>(config.rate_per_minute)) +
                   " requests per minute. Try again in " + std::to_string(seconds) + " s.",
               ""};
    count(route, 429);
    ex->respond(429, "application/json", error_json(e).dump(), std::move(h));
    return std::nullopt;
  }
  return client;
}

ApiResult<ModelEntry> Gateway::Impl::resolve_model(const std::string& name) const {
  const auto models = chain->models();
  const std::string hex = lower_hex(name);
  for (const auto& m : models)
    if (m.id_hex == hex) return m;
  const ModelEntry* found = nullptr;
  for (const auto& m : models) {
    if (m.name != name) continue;
    if (found)
      return bad_request("two registered models are named '" + name + "': give the model's id (GET /v1/models)", "model",
                         "ambiguous_model");
    found = &m;
  }
  if (found) return *found;
  return ApiError{404, "invalid_request_error", "model_not_found",
                  "The model '" + name.substr(0, 128) + "' does not exist (GET /v1/models lists the registered models).",
                  "model"};
}

void Gateway::Impl::list_models(const std::shared_ptr<Exchange>& ex, const std::string& one) {
  if (!one.empty()) {
    auto m = resolve_model(one);
    if (auto e = error_of(m)) return answer_error(ex, "models", *e);
    return answer_json(ex, "models", 200, model_json(std::get<ModelEntry>(m)));
  }
  json data = json::array();
  for (const auto& m : chain->models()) data.push_back(model_json(m));
  answer_json(ex, "models", 200, json{{"object", "list"}, {"data", data}});
}

void Gateway::Impl::handle(const std::shared_ptr<Exchange>& ex) {
  ++requests;
  const Request& req = ex->request();
  const std::string& path = req.path;
  std::string route = path == "/v1/completions"        ? "completions"
                      : path == "/v1/chat/completions" ? "chat"
                      : (path == "/v1/models" || path.rfind("/v1/models/", 0) == 0) ? "models"
                      : path == "/health"               ? "health"
                      : path == "/metrics"              ? "metrics"
                                                        : "other";
  // The browser rules of the node's RPC (docs/rpc.md): a page on another site, or a DNS name
  // rebound to this machine, must not spend the gateway's account.
  if (auto why = rpc::detail::browser_refusal(req.header("host"), req.header("origin"), policy))
    return answer_error(ex, route, ApiError{403, "invalid_request_error", "forbidden", *why, ""});
  auto wrong_method = [&](const char* allowed) {
    count(route, 405);
    ApiError e{405, "invalid_request_error", "method_not_allowed",
               "Use " + std::string(allowed) + " for " + path + " (got " + req.method.substr(0, 16) + ").", ""};
    ex->respond(405, "application/json", error_json(e).dump(), {{"Allow", allowed}});
  };
  if (route == "health") {
    if (req.method != "GET") return wrong_method("GET");
    const bool up = chain->connected();
    return answer_json(ex, route, up ? 200 : 503,
                       json{{"status", up ? "ok" : "node unreachable"}, {"service", "infergrid-gateway"},
                            {"account", chain->account()}, {"models", chain->models().size()}});
  }
  if (route == "metrics") {
    if (req.method != "GET") return wrong_method("GET");
    count(route, 200);
    return ex->respond(200, rpc::MetricsText::kContentType, render_metrics(*this));
  }
  if (route == "models") {
    if (req.method != "GET") return wrong_method("GET");
    if (!admit(ex, route)) return;
    return list_models(ex, path.size() > 11 ? path.substr(11) : "");
  }
  if (route == "completions" || route == "chat") {
    if (req.method != "POST") return wrong_method("POST");
    auto type = req.header("content-type");
    if (!type || !rpc::detail::is_json_media_type(*type))
      return answer_error(ex, route, ApiError{415, "invalid_request_error", "unsupported_media_type",
                                              "Content-Type must be application/json.", ""});
    if (!admit(ex, route)) return;
    return start_completion(ex, route == "chat" ? Endpoint::Chat : Endpoint::Completions);
  }
  answer_error(ex, "other", ApiError{404, "invalid_request_error", "unknown_url",
                                     "Unknown request URL: " + req.method.substr(0, 16) + " " + path.substr(0, 128) +
                                         ". The gateway serves /v1/models, /v1/completions and /v1/chat/completions.",
                                     ""});
}

void Gateway::Impl::start_completion(const std::shared_ptr<Exchange>& ex, Endpoint endpoint) {
  const std::string route = endpoint == Endpoint::Chat ? "chat" : "completions";
  auto parsed = parse_request(endpoint, ex->request().body);
  if (auto e = error_of(parsed)) return answer_error(ex, route, *e);
  auto model = resolve_model(std::get<CompletionRequest>(parsed).model);
  if (auto e = error_of(model)) return answer_error(ex, route, *e);
  if (!chain->connected())
    return answer_error(ex, route, ApiError{503, "server_error", "node_unavailable",
                                            "The gateway has lost its node; try again shortly.", ""});
  const ModelEntry& m = std::get<ModelEntry>(model);
  if (m.miners == 0)
    return answer_error(ex, route, ApiError{503, "server_error", "no_miner",
                                            "No staked miner serves the model '" + m.name + "' right now.", "model"});
  if (in_flight >= config.max_in_flight)
    return answer_error(ex, route, ApiError{503, "server_error", "gateway_busy",
                                            "The gateway is following " + std::to_string(config.max_in_flight) +
                                                " requests already; try again shortly.",
                                            ""});
  run_completion(shared_from_this(), ex, std::move(std::get<CompletionRequest>(parsed)), m);
}

Gateway::Gateway(GatewayConfig config, std::shared_ptr<Chain> chain, std::shared_ptr<const ModelFiles> files)
    : impl_(std::make_shared<Impl>(std::move(config), std::move(chain), std::move(files))) {}

Gateway::~Gateway() { stop(); }

Status Gateway::start() {
  Impl& d = *impl_;
  const auto& c = d.config;
  if (c.keys.empty() && !is_loopback_host(c.http.host))
    return fail("gateway.config", "listening on " + c.http.host +
                                      " without API keys would let anyone spend the gateway's account: give --api-key / "
                                      "--api-keys-file, or listen on 127.0.0.1");
  if (c.max_attempts == 0 || c.max_attempts > 10) return fail("gateway.config", "max attempts must be within 1..10");
  if (c.timeout < std::chrono::milliseconds(100)) return fail("gateway.config", "the timeout must be at least 100 ms");
  if (c.default_max_tokens == 0 || c.default_max_tokens > kMaxTokensLimit)
    return fail("gateway.config", "default max tokens must be within 1..4096");
  if (c.rate_per_minute < 0 || !std::isfinite(c.rate_per_minute)) return fail("gateway.config", "bad rate limit");
  std::weak_ptr<Impl> weak = impl_;
  d.server = std::make_unique<HttpServer>(c.http, [weak](std::shared_ptr<Exchange> ex) {
    if (auto self = weak.lock()) self->handle(ex);
    else ex->respond(503, "application/json", R"({"error":{"message":"stopping","type":"server_error"}})");
  });
  IG_TRY(d.server->start());
  spdlog::info("gateway: OpenAI-compatible API on http://{}:{}/v1 for account {} ({}; answers when {})", c.http.host,
               d.server->port(), d.chain->account(),
               c.keys.empty() ? "open on loopback" : std::to_string(c.keys.size()) + " API key(s)",
               c.answer_at_result ? "the result is in" : "the task is verified and settled");
  return {};
}

void Gateway::stop() {
  if (impl_->server) impl_->server->stop();
}

std::string Gateway::metrics_text() const { return render_metrics(*impl_); }

uint16_t Gateway::port() const { return impl_->server ? impl_->server->port() : 0; }

GatewayStats Gateway::stats() const {
  const Impl& d = *impl_;
  return {d.requests, d.completions, d.errors, d.retries, d.timeouts, d.in_flight, d.client_closed};
}

}  // namespace ig::gateway
