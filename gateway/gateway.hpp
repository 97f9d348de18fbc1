// The OpenAI-compatible gateway (docs/gateway.md): GET /v1/models, POST /v1/completions and
// /v1/chat/completions (plain or streamed as server-sent events), /health and /metrics. Each
// completion becomes a SubmitTask signed by the gateway's account; the answer is the task's
// verified text with usage and, in the "infergrid" field, the task id and its receipt.
//
//   IG_TRY_ASSIGN(chain, NodeChain::start({.node_url = "ws://127.0.0.1:8546", .key = key}));
//   Gateway gw(config, std::move(chain), models);
//   IG_TRY(gw.start());           // listens on config.http.host:port
//   ... chain->stop(); gw.stop(); // the chain first: it answers what it follows, then lets go of
//                                 // the connections, which must not outlive the server
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "gateway/access.hpp"
#include "gateway/chain.hpp"
#include "gateway/http_server.hpp"
#include "gateway/model_files.hpp"

namespace ig::gateway {

struct GatewayConfig {
  HttpServerConfig http;                 // where it listens (127.0.0.1:8080) and its HTTP limits
  std::vector<ApiKey> keys;              // none: open, allowed only on a loopback address
  double rate_per_minute = 60;           // per key (or per client address when open); 0 = off
  double rate_burst = 0;                 // bucket size; 0 = rate_per_minute (at least 1)
  uint64_t fee_limit = 1'000'000;        // the most one task may escrow (max_fee), base units
  uint32_t default_max_tokens = 256;     // chat requests without max_tokens (completions: 16, as OpenAI)
  std::chrono::milliseconds timeout{120'000};  // from the request to the answer; then 504
  bool answer_at_result = false;         // answer when the result is in, before verification
  unsigned max_attempts = 3;             // submissions per request when results are rejected
  size_t max_in_flight = 128;            // completions waiting on the chain; more get 503
  std::vector<std::string> allowed_origins;  // browser rules as docs/rpc.md (Origin, Host)
  std::vector<std::string> allowed_hosts;
};

struct GatewayStats {
  uint64_t requests = 0;
  uint64_t completions = 0;   // answered 200
  uint64_t errors = 0;        // answered 4xx/5xx
  uint64_t retries = 0;       // resubmissions after a rejected result
  uint64_t timeouts = 0;
  size_t in_flight = 0;
  uint64_t client_closed = 0;  // the client closed the connection before its answer (task abandoned)
};

class Gateway {
 public:
  Gateway(GatewayConfig config, std::shared_ptr<Chain> chain, std::shared_ptr<const ModelFiles> files);
  ~Gateway();  // stop()
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Checks the config ("gateway.config": open on a non-loopback address, bad limits) and starts
  // the HTTP server ("gateway.bind").
  Status start();
  void stop();
  uint16_t port() const;
  GatewayStats stats() const;
  // The /metrics text (Prometheus format).
  std::string metrics_text() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ig::gateway
