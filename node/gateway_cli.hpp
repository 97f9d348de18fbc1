// The gateway from infergridd's command line (docs/gateway.md): `infergridd gateway` (its own
// process, a client of any node) and `infergridd start --gateway PORT` (attached to the node
// being started, talking to it over its own RPC port).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "chain/keys.hpp"
#include "common/expected.hpp"
#include "gateway/gateway.hpp"
#include "gateway/node_chain.hpp"

namespace ig::node {

struct GatewayArgs {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT, or PORT (on 127.0.0.1)
  std::vector<std::string> models;        // GGUF files: chat templates and prompt token counts
  std::vector<std::string> api_keys;
  std::string api_keys_file;
  double rate_limit = 60, rate_burst = 0;
  uint64_t fee_limit = 1'000'000;
  uint32_t default_max_tokens = 256;
  double timeout_s = 120;
  bool answer_at_result = false;
  unsigned max_attempts = 3;
  size_t max_in_flight = 128;
  std::vector<std::string> allowed_origins, allowed_hosts;
};

struct GatewayCommand {
  std::string node = "ws://127.0.0.1:8546", account, wallet_dir, password_file, log_level = "info";
  GatewayArgs args;
};
void add_gateway_command(CLI::App& app, GatewayCommand& g, CLI::App** out);
// Runs until SIGINT/SIGTERM (blocked by the caller in every thread) or a fatal error.
Status run_gateway(const GatewayCommand& g);

// A gateway attached to a node (or started by run_gateway).
struct RunningGateway {
  std::shared_ptr<gateway::NodeChain> chain;
  std::unique_ptr<gateway::Gateway> gateway;
  void stop();
};
Expected<RunningGateway> start_gateway(const std::string& node_url, const chain::SecretKey& key, const GatewayArgs& a);

// "HOST:PORT", "[v6]:PORT" or "PORT" (127.0.0.1). Error "arg.listen".
Expected<std::pair<std::string, uint16_t>> parse_listen(const std::string& text);

}  // namespace ig::node
