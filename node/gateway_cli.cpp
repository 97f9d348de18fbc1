#include "node/gateway_cli.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <thread>

#include "wallet/password.hpp"
#include "wallet/wallet_dir.hpp"

namespace ig::node {

Expected<std::pair<std::string, uint16_t>> parse_listen(const std::string& text) {
  std::string host = "127.0.0.1", port = text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    if (close == std::string::npos) return fail("arg.listen", "expected [IPv6]:PORT, got '" + text + "'");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (auto colon = text.rfind(':'); colon != std::string::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535)
    return fail("arg.listen", "expected HOST:PORT or PORT, got '" + text + "'");
  return std::make_pair(host, static_cast<uint16_t>(std::stoul(port)));
}

void add_gateway_command(CLI::App& app, GatewayCommand& g, CLI::App** out) {
  auto* cmd = app.add_subcommand("gateway", "serve the OpenAI-compatible API for a node (docs/gateway.md)");
  GatewayArgs& a = g.args;
  cmd->add_option("--node", g.node, "node JSON-RPC URL (ws://HOST:PORT)")->capture_default_str();
  cmd->add_option("--account", g.account, "key name or address in --wallet-dir that signs and pays for the tasks")->required();
  cmd->add_option("--wallet-dir", g.wallet_dir, "wallet directory holding the account's keystore (default ~/.infergrid/wallet)");
  cmd->add_option("--password-file", g.password_file, "file holding the keystore password (else INFERGRID_PASSWORD)");
  cmd->add_option("--listen", a.listen, "HOST:PORT or PORT to serve on")->capture_default_str();
  cmd->add_option("--model", a.models, "GGUF file of a registered model: its chat template and tokenizer (repeatable)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--api-key", a.api_keys, "accepted API key (repeatable; prefer --api-keys-file: a command line is visible)");
  cmd->add_option("--api-keys-file", a.api_keys_file, "file of accepted API keys, one per line: KEY [LABEL]")
      ->check(CLI::ExistingFile);
  cmd->add_option("--rate-limit", a.rate_limit, "requests per minute per key (per address when open); 0 = off")
      ->check(CLI::Range(0.0, 1e6))->capture_default_str();
  cmd->add_option("--rate-burst", a.rate_burst, "requests a key may make at once (default: the per-minute rate)")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--fee-limit", a.fee_limit, "the most one task may escrow, base units")->capture_default_str();
  cmd->add_option("--default-max-tokens", a.default_max_tokens, "chat requests without max_tokens")
      ->check(CLI::Range(1u, 4096u))->capture_default_str();
  cmd->add_option("--timeout", a.timeout_s, "seconds from a request to its answer, then 504")
      ->check(CLI::Range(0.1, 3600.0))->capture_default_str();
  cmd->add_flag("--answer-at-result", a.answer_at_result,
                "answer as soon as the miner's result is in, before the validators have verified it");
  cmd->add_option("--max-attempts", a.max_attempts, "submissions per request when results are rejected")
      ->check(CLI::Range(1u, 10u))->capture_default_str();
  cmd->add_option("--max-in-flight", a.max_in_flight, "completions waiting on the chain at once; more get 503")
      ->check(CLI::Range(size_t{1}, size_t{100000}))->capture_default_str();
  cmd->add_option("--allowed-origin", a.allowed_origins, "browser origin allowed to call the gateway (repeatable)");
  cmd->add_option("--allowed-host", a.allowed_hosts, "Host name the gateway answers besides IPs and localhost (repeatable)");
  cmd->add_option("--log-level", g.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  *out = cmd;
}

Expected<RunningGateway> start_gateway(const std::string& node_url, const chain::SecretKey& key, const GatewayArgs& a) {
  gateway::GatewayConfig c;
  IG_TRY_ASSIGN(listen, parse_listen(a.listen));
  c.http.host = listen.first;
  c.http.port = listen.second;
  for (size_t i = 0; i < a.api_keys.size(); ++i) {
    IG_TRY(gateway::check_key_text(a.api_keys[i]));
    c.keys.push_back({a.api_keys[i], "cli-" + std::to_string(i + 1)});
  }
  if (!a.api_keys_file.empty()) {
    IG_TRY_ASSIGN(keys, gateway::read_api_keys(a.api_keys_file));
    c.keys.insert(c.keys.end(), keys.begin(), keys.end());
  }
  c.rate_per_minute = a.rate_limit;
  c.rate_burst = a.rate_burst;
  c.fee_limit = a.fee_limit;
  c.default_max_tokens = a.default_max_tokens;
  c.timeout = std::chrono::milliseconds(static_cast<int64_t>(std::llround(a.timeout_s * 1000)));
  c.answer_at_result = a.answer_at_result;
  c.max_attempts = a.max_attempts;
  c.max_in_flight = a.max_in_flight;
  c.allowed_origins = a.allowed_origins;
  c.allowed_hosts = a.allowed_hosts;
  IG_TRY_ASSIGN(files, gateway::ModelFiles::load(a.models));
  for (const auto& [id, f] : files.all())
    spdlog::info("gateway: model file {} ({}…): chat template {}{}", f.path, id.substr(0, 16), gateway::family_name(f.family),
                 f.has_template && f.family == gateway::TemplateFamily::Plain ? " (its template is not one we render)" : "");
  gateway::NodeChainOptions o;
  o.node_url = node_url;
  o.key = key;
  IG_TRY_ASSIGN(chain, gateway::NodeChain::start(std::move(o)));
  RunningGateway out;
  out.chain = std::move(chain);
  out.gateway = std::make_unique<gateway::Gateway>(c, out.chain, std::make_shared<const gateway::ModelFiles>(std::move(files)));
  if (auto st = out.gateway->start(); !st) {
    out.chain->stop();
    return fail(st.error());
  }
  return out;
}

// The chain first: it reports "stopping" to every request it follows while the HTTP server can
// still deliver those answers, and then holds no reference to a connection; the server goes
// second, closing what is left.
void RunningGateway::stop() {
  if (chain) chain->stop();
  if (gateway) gateway->stop();
}

Status run_gateway(const GatewayCommand& g) {
  spdlog::set_level(spdlog::level::from_str(g.log_level));
  wallet::PasswordRequest req;
  req.file = g.password_file;
  req.allow_prompt = false;
  IG_TRY_ASSIGN(password, wallet::obtain_password(req));
  const std::string wallet_dir = g.wallet_dir.empty() ? wallet::default_wallet_dir() : g.wallet_dir;
  IG_TRY_ASSIGN(w, wallet::Wallet::open(wallet_dir));
  IG_TRY_ASSIGN(entry, w.find(g.account));
  IG_TRY_ASSIGN(key, w.unlock(entry, password.view()));

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  IG_TRY_ASSIGN(running, start_gateway(g.node, key, g.args));
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("gateway stopping");
  running.stop();
  return {};
}

}  // namespace ig::node
