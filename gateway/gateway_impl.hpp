// The gateway's internals, shared by gateway.cpp (routing, access, models, metrics) and
// completion.cpp (one completion from request to answer). Not a public header.
#pragma once

#include <atomic>
#include <map>
#include <mutex>

#include "gateway/gateway.hpp"
#include "gateway/openai.hpp"
#include "rpc/detail/http_policy.hpp"
#include "rpc/metrics.hpp"

namespace ig::gateway {

using Clock = std::chrono::steady_clock;

struct Gateway::Impl : std::enable_shared_from_this<Gateway::Impl> {
  Impl(GatewayConfig c, std::shared_ptr<Chain> ch, std::shared_ptr<const ModelFiles> f);

  GatewayConfig config;
  std::shared_ptr<Chain> chain;
  std::shared_ptr<const ModelFiles> files;
  RateLimiter limiter;
  rpc::detail::BrowserPolicy policy;
  std::unique_ptr<HttpServer> server;

  // --- metrics ----------------------------------------------------------------------------
  mutable std::mutex counts_mu;
  std::map<std::pair<std::string, int>, uint64_t> responses;  // (route, status) -> count
  rpc::Histogram completion_seconds;   // request to answer, completions and chat
  rpc::Histogram first_byte_seconds;   // streams: request to the first content chunk
  std::atomic<uint64_t> requests{0}, completions{0}, errors{0}, retries{0}, timeouts{0}, streams{0};
  std::atomic<uint64_t> client_closed{0};  // completions whose client left before the answer
  std::atomic<uint64_t> prompt_tokens{0}, completion_tokens{0};
  std::atomic<size_t> in_flight{0};

  void count(const std::string& route, int status);

  // --- requests ---------------------------------------------------------------------------
  void handle(const std::shared_ptr<Exchange>& ex);
  // Authorization and rate limit; the client's name (key label or address) when allowed.
  std::optional<std::string> admit(const std::shared_ptr<Exchange>& ex, const std::string& route);
  void answer_error(const std::shared_ptr<Exchange>& ex, const std::string& route, const ApiError& e);
  void answer_json(const std::shared_ptr<Exchange>& ex, const std::string& route, int status, const json& body,
                   Headers headers = {});
  void list_models(const std::shared_ptr<Exchange>& ex, const std::string& one);
  // The model a request names (id hex, with or without 0x, or a unique registered name).
  ApiResult<ModelEntry> resolve_model(const std::string& name) const;
  void start_completion(const std::shared_ptr<Exchange>& ex, Endpoint endpoint);
};

// The /metrics text (gateway_metrics.cpp).
std::string render_metrics(const Gateway::Impl& gw);

// One completion, from the validated request to the answer (completion.cpp).
void run_completion(const std::shared_ptr<Gateway::Impl>& gw, const std::shared_ptr<Exchange>& ex,
                    CompletionRequest req, ModelEntry model);

}  // namespace ig::gateway
