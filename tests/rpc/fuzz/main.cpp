// rpc_fuzz: hostile input for a running JSON-RPC server (or the dispatcher alone), for long
// randomized runs. Prints one JSON object with what it sent and what came back; exits 1 when
// the server crashed, hung or answered something that is not JSON-RPC.
//
//   build/bin/rpc_fuzz --port 8546 --transport ws --count 1000000
//   build/bin/rpc_fuzz --transport dispatch --count 10000000
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>

#include <spdlog/spdlog.h>

#include "messages.hpp"
#include "rpc/detail/dispatch.hpp"
#include "transport.hpp"

using namespace ig::rpc;
using json = nlohmann::json;

namespace {

class Host : public detail::SubscriptionHost {
 public:
  MethodResult subscribe(const std::string& topic, const json&) override { return topic; }
  bool unsubscribe(const std::string&) override { return false; }
};

ig::Expected<fuzz::RunStats> run_dispatch(fuzz::MessageGen& gen, uint64_t count) {
  std::map<std::string, Handler> m;
  m["echo"] = [](const json& p) -> MethodResult { return p; };
  m["throws"] = [](const json& p) -> MethodResult { return p.at(0).get<std::string>(); };
  detail::Dispatcher d(std::move(m), {"newHeads", "events"}, detail::DispatchLimits{});
  Host host;
  fuzz::RunStats stats;
  auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < count; ++i) {
    std::string message = gen.next();
    auto reply = d.handle(message, (i % 2) ? &host : nullptr);
    ++stats.messages;
    if (!reply) continue;
    ++stats.replies;
    if (auto p = fuzz::reply_problem(*reply)) return ig::fail("fuzz.bad_reply", *p + " for input " + std::to_string(i));
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rpc_fuzz: hostile JSON-RPC input for a running server"};
  fuzz::Target target;
  std::string transport = "ws";
  uint64_t count = 100000, seed = 1;
  int64_t timeout_ms = 10000;
  app.add_option("--host", target.host, "server address (an IP literal)");
  app.add_option("--port", target.port, "server port");
  app.add_option("--transport", transport, "ws, http, raw (mutated HTTP requests) or dispatch (in-process)")
      ->check(CLI::IsMember({"ws", "http", "raw", "dispatch"}));
  app.add_option("--count", count, "messages to send");
  app.add_option("--seed", seed, "random seed");
  app.add_option("--timeout-ms", timeout_ms, "longest wait for an answer before calling it a hang")->check(CLI::Range(100, 600000));
  CLI11_PARSE(app, argc, argv);
  // The in-process dispatcher logs every handler exception it catches; the output is one JSON line.
  spdlog::set_level(spdlog::level::off);
  target.timeout = std::chrono::milliseconds(timeout_ms);
  if (transport != "dispatch" && target.port == 0) {
    std::cerr << "rpc_fuzz: --port is required for --transport " << transport << "\n";
    return 2;
  }
  fuzz::MessageGen gen(seed, {"rpc_methods", "node_info", "chain_head", "chain_params", "chain_validators",
                              "chain_getBlock", "chain_getTx", "tx_send", "tx_receipt", "state_getAccount",
                              "task_get", "task_list", "task_assigned", "task_awaitingVerdict", "registry_miners", "registry_models", "staking_getStake",
                              "weights_get", "yuma_lastEpoch", "contracts_params", "subscribe", "unsubscribe",
                              "echo", "throws"});
  ig::Expected<fuzz::RunStats> result = ig::fail("fuzz.none", "");
  if (transport == "ws") result = fuzz::run_websocket(target, gen, count);
  if (transport == "http") result = fuzz::run_http(target, gen, count);
  if (transport == "raw") result = fuzz::run_raw_http(target, gen, count);
  if (transport == "dispatch") result = run_dispatch(gen, count);
  if (!result) {
    std::cout << json{{"transport", transport}, {"ok", false}, {"error", result.error().to_string()}}.dump() << "\n";
    return 1;
  }
  json statuses = json::object();
  for (auto [status, n] : result->http_status) statuses[std::to_string(status)] = n;
  std::cout << json{{"transport", transport}, {"ok", true}, {"messages", result->messages},
                    {"replies", result->replies}, {"reconnects", result->reconnects},
                    {"http_status", statuses}, {"seconds", result->seconds}}
                   .dump()
            << "\n";
  return 0;
}
