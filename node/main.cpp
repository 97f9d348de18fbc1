// infergridd: the node. `init` prepares a home directory, `start` runs the node.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "contracts/params.hpp"
#include "node/devnet.hpp"
#include "node/gateway_cli.hpp"
#include "node/testnet.hpp"
#include "p2p/node_key.hpp"
#include "node/node.hpp"
#include "node/worker_cli.hpp"
#include <nlohmann/json.hpp>
#include "wallet/keystore.hpp"
#include "wallet/password.hpp"
#include "wallet/wallet_dir.hpp"
#include "workers/metrics.hpp"

namespace fs = std::filesystem;
using namespace ig;

namespace {

// Password for the node's keystores: --password-file, else INFERGRID_PASSWORD. The node runs
// unattended, so it never prompts.
Expected<wallet::SecretString> node_password(const std::string& password_file) {
  wallet::PasswordRequest req;
  req.file = password_file;
  req.allow_prompt = false;
  return wallet::obtain_password(req);
}

// A 32-byte secret key in hex on the first line of a file (for joining an existing genesis).
Expected<chain::SecretKey> read_secret_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail("init.io", "cannot read " + path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  auto bytes = chain::from_hex(line);
  if (!bytes) return fail("init.secret", path + ": " + bytes.error().message);
  auto key = chain::SecretKey::from_bytes(*bytes);
  std::fill(line.begin(), line.end(), '\0');
  if (!key) return fail("init.secret", path + ": " + key.error().message);
  return *key;
}

uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

struct InitArgs {
  std::string home, genesis, password_file, consensus_secret_file, chain_id = "infergrid-dev", moniker = "node0";
  uint16_t rpc_port = 8546;
  std::string p2p_listen;  // default: any free port for a one-validator dev chain, else 26656
  uint64_t block_time_ms = 1000;
};

Status run_init(const InitArgs& a) {
  node::HomePaths paths{a.home};
  if (fs::exists(paths.config())) return fail("init.exists", a.home + " is already initialised (config.json exists)");
  IG_TRY_ASSIGN(password, node_password(a.password_file));
  std::error_code ec;
  for (const auto& dir : {a.home, a.home + "/keys", paths.wallet_dir()}) {
    fs::create_directories(dir, ec);
    if (ec) return fail("init.io", "cannot create " + dir + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  chain::SecretKey consensus = chain::SecretKey::generate();
  if (!a.consensus_secret_file.empty()) {
    IG_TRY_ASSIGN(k, read_secret_file(a.consensus_secret_file));
    consensus = k;
  }
  IG_TRY(wallet::write_keystore(paths.consensus_key(), "consensus", consensus, password.view()));
  IG_TRY_ASSIGN(node_key, p2p::NodeKey::load_or_create(paths.node_key()));

  chain::Genesis genesis;
  if (!a.genesis.empty()) {
    IG_TRY_ASSIGN(g, chain::load_genesis(a.genesis));
    genesis = g;
  } else {
    // A development chain: this node is the only validator, and a funded "dev" account has its
    // keystore under HOME/wallet so a newcomer can send a transaction straight away.
    chain::SecretKey dev = chain::SecretKey::generate(), validator_account = chain::SecretKey::generate();
    IG_TRY(wallet::write_keystore(paths.wallet_dir() + "/dev.json", "dev", dev, password.view()));
    IG_TRY(wallet::write_keystore(paths.wallet_dir() + "/validator.json", "validator", validator_account, password.view()));
    genesis.chain_id = a.chain_id;
    genesis.genesis_time_ms = now_ms();
    genesis.params.block_time_ms = a.block_time_ms;
    genesis.validators.push_back(chain::Validator{consensus.public_key(), validator_account.public_key(), 1'000'000, a.moniker});
    genesis.accounts.push_back(chain::GenesisAccount{dev.public_key(), 1'000'000'000'000});
    genesis.accounts.push_back(chain::GenesisAccount{validator_account.public_key(), 1'000'000'000});
    // Every contract parameter, spelled out with its default, so the file documents itself.
    genesis.contracts_json = nlohmann::json::parse(contracts::params_to_json(contracts::Params{})).dump();
    std::cout << "dev account:       " << chain::address_to_string(dev.public_key()) << "\n";
  }
  // Round-trip through the parser, so init never writes a genesis that start would refuse.
  std::string text = chain::genesis_to_json(genesis);
  IG_TRY(chain::parse_genesis(text));
  std::ofstream(paths.genesis()) << text;

  node::NodeConfig config;
  config.moniker = a.moniker;
  config.rpc.port = a.rpc_port;
  // A one-validator dev chain has no peers to be found by, so any free port will do (and two
  // dev nodes on one machine do not collide); a node joining a network listens where its
  // peers expect it.
  config.p2p.listen = !a.p2p_listen.empty() ? a.p2p_listen : a.genesis.empty() ? "127.0.0.1:0" : "127.0.0.1:26656";
  IG_TRY(node::save_config(paths.config(), config));
  std::cout << "initialised " << a.home << "\n"
            << "chain id:          " << genesis.chain_id << "\n"
            << "consensus key:     " << chain::to_hex(consensus.public_key()) << "\n"
            << "node id:           " << node_key.id().to_string() << " (P2P, listening on " << config.p2p.listen << ")\n"
            << "start it with:     infergridd start --home " << a.home << "\n";
  return {};
}

struct StartArgs {
  std::string home, genesis, password_file, rpc_host;
  int rpc_port = -1;
  uint64_t block_time_ms = 0;
  std::string log_level = "info";
  node::AttachArgs workers;
  bool test_double_sign = false;
  // The attached OpenAI-compatible gateway (docs/gateway.md): off unless --gateway PORT.
  int gateway_port = -1;
  std::string gateway_account = "dev";
  std::vector<std::string> gateway_models;
  std::string gateway_keys_file;
};

Status run_start(const StartArgs& a) {
  node::StartOptions opt;
  opt.home = a.home;
  if (!a.genesis.empty()) opt.genesis_path = a.genesis;
  if (!a.rpc_host.empty()) opt.rpc_host = a.rpc_host;
  if (a.rpc_port >= 0) opt.rpc_port = static_cast<uint16_t>(a.rpc_port);
  if (a.block_time_ms) opt.block_time_ms = a.block_time_ms;
  node::HomePaths paths{a.home};

  std::optional<chain::SecretKey> key;
  std::optional<wallet::SecretString> password;
  const bool with_workers = !a.workers.miner_models.empty() || !a.workers.verifier_models.empty();
  const bool with_gateway = a.gateway_port >= 0;
  if (fs::exists(paths.consensus_key()) || with_workers || with_gateway) {
    IG_TRY_ASSIGN(pw, node_password(a.password_file));
    password = std::move(pw);
  }
  if (fs::exists(paths.consensus_key())) {
    IG_TRY_ASSIGN(k, wallet::read_keystore(paths.consensus_key(), password->view()));
    key = k;
    // The validator's account signs the Evidence transactions for double-signs it sees.
    if (fs::exists(paths.wallet_dir() + "/validator.json")) {
      IG_TRY_ASSIGN(account, wallet::read_keystore(paths.wallet_dir() + "/validator.json", password->view()));
      opt.evidence_account = account;
    }
  }
  opt.test_double_sign = a.test_double_sign;
  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  IG_TRY_ASSIGN(node, node::Node::open(opt, std::move(key)));
  IG_TRY(node->start());
  node::AttachedWorkers workers;
  if (with_workers) {
    auto attached = node::attach_workers(a.home, node->rpc_port(), a.workers, password->view());
    if (!attached) {
      node->stop();
      return fail(attached.error());
    }
    workers = std::move(*attached);
    // The attached workers' metrics join the node's GET /metrics (docs/metrics.md).
    node->add_metrics([m = workers.miner.get(), v = workers.verifier.get()](rpc::MetricsText& text) {
      if (m) workers::render_miner_metrics(text, m->stats(), m->address());
      if (v) workers::render_verifier_metrics(text, v->stats(), "verifier");
    });
  }
  node::RunningGateway gateway;
  if (with_gateway) {
    auto started = [&]() -> Expected<node::RunningGateway> {
      IG_TRY_ASSIGN(w, wallet::Wallet::open(paths.wallet_dir()));
      IG_TRY_ASSIGN(entry, w.find(a.gateway_account));
      IG_TRY_ASSIGN(gkey, w.unlock(entry, password->view()));
      node::GatewayArgs ga;
      ga.listen = std::to_string(a.gateway_port);
      ga.models = a.gateway_models;
      if (ga.models.empty()) {  // the files this node already serves or checks
        ga.models = a.workers.verifier_models;
        ga.models.insert(ga.models.end(), a.workers.miner_models.begin(), a.workers.miner_models.end());
      }
      ga.api_keys_file = a.gateway_keys_file;
      return node::start_gateway("ws://127.0.0.1:" + std::to_string(node->rpc_port()), gkey, ga);
    }();
    if (!started) {
      node->clear_metrics();
      workers.stop();
      node->stop();
      return fail(started.error());
    }
    gateway = std::move(*started);
  }
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  gateway.stop();
  node->clear_metrics();  // the workers' stats are about to go
  workers.stop();  // before the node, so that no worker waits on a node that is going away
  node->stop();
  spdlog::info("stopped cleanly");
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"infergridd — the infergrid node"};
  app.require_subcommand(1);

  InitArgs init;
  auto* init_cmd = app.add_subcommand("init", "create a home directory: keys, config, and a development genesis");
  init_cmd->add_option("--home", init.home, "home directory to create")->required();
  init_cmd->add_option("--genesis", init.genesis, "use this genesis.json instead of creating a development one")
      ->check(CLI::ExistingFile);
  init_cmd->add_option("--consensus-secret-file", init.consensus_secret_file,
                       "use this consensus secret key (hex, first line) instead of a new one, e.g. to join a genesis")
      ->check(CLI::ExistingFile);
  init_cmd->add_option("--chain-id", init.chain_id, "chain id of the development genesis");
  init_cmd->add_option("--moniker", init.moniker, "this node's name");
  init_cmd->add_option("--rpc-port", init.rpc_port, "JSON-RPC port written to config.json");
  init_cmd->add_option("--p2p-listen", init.p2p_listen,
                       "P2P listen address (host:port) for config.json (default: any free port for a dev chain, "
                       "127.0.0.1:26656 with --genesis)");
  init_cmd->add_option("--block-time-ms", init.block_time_ms, "block time of the development genesis")
      ->check(CLI::Range(10, 3'600'000));
  init_cmd->add_option("--password-file", init.password_file, "file holding the keystore password (else INFERGRID_PASSWORD)");

  StartArgs start;
  auto* start_cmd = app.add_subcommand("start", "run the node");
  start_cmd->add_option("--home", start.home, "home directory made by init")->required()->check(CLI::ExistingDirectory);
  start_cmd->add_option("--genesis", start.genesis, "genesis file (default HOME/genesis.json)")->check(CLI::ExistingFile);
  start_cmd->add_option("--rpc-host", start.rpc_host, "JSON-RPC bind address (default from config: 127.0.0.1)");
  start_cmd->add_option("--rpc-port", start.rpc_port, "JSON-RPC port (default from config)")->check(CLI::Range(0, 65535));
  start_cmd->add_option("--block-time-ms", start.block_time_ms, "block cadence for this node's proposals")
      ->check(CLI::Range(10, 3'600'000));
  start_cmd->add_option("--password-file", start.password_file, "file holding the keystore password (else INFERGRID_PASSWORD)");
  start_cmd->add_option("--log-level", start.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  start_cmd->add_option("--miner", start.workers.miner_models, "attach a miner worker serving this GGUF (repeatable)")
      ->check(CLI::ExistingFile);
  start_cmd->add_option("--miner-account", start.workers.miner_account, "the attached miner's key in HOME/wallet")
      ->capture_default_str();
  start_cmd->add_option("--verifier", start.workers.verifier_models,
                        "attach a verifier worker checking results of this GGUF (repeatable)")
      ->check(CLI::ExistingFile);
  start_cmd->add_option("--verifier-account", start.workers.verifier_account,
                        "the validator's account key in HOME/wallet, which the verifier signs with")
      ->capture_default_str();
  node::add_worker_tuning(start_cmd, start.workers.args);
  start_cmd->add_option("--gateway", start.gateway_port, "also serve the OpenAI-compatible gateway on 127.0.0.1:PORT (docs/gateway.md)")
      ->check(CLI::Range(0, 65535));
  start_cmd->add_option("--gateway-account", start.gateway_account, "the gateway's paying key in HOME/wallet")
      ->capture_default_str();
  start_cmd->add_option("--gateway-model", start.gateway_models,
                        "GGUF file for the gateway's chat templates (default: the --verifier/--miner files)")
      ->check(CLI::ExistingFile);
  start_cmd->add_option("--gateway-api-keys-file", start.gateway_keys_file, "the gateway's API keys, one per line")
      ->check(CLI::ExistingFile);
  start_cmd->add_flag("--test-double-sign", start.test_double_sign,
                      "TEST ONLY: sign a conflicting vote for every vote, to show double-signing slashed");

  node::WorkerCommand worker;
  CLI::App* worker_cmd = nullptr;
  node::add_worker_command(app, worker, &worker_cmd);

  node::GatewayCommand gateway_args;
  CLI::App* gateway_cmd = nullptr;
  node::add_gateway_command(app, gateway_args, &gateway_cmd);

  node::TestnetOptions testnet;
  auto* testnet_cmd = app.add_subcommand("testnet", "write the homes of a local network of validators (docs/consensus.md)");
  testnet_cmd->add_option("--validators", testnet.validators, "how many validators")->capture_default_str();
  testnet_cmd->add_option("--out", testnet.out, "directory to create; one home per node under it")->required();
  testnet_cmd->add_option("--chain-id", testnet.chain_id, "chain id")->capture_default_str();
  testnet_cmd->add_option("--base-rpc-port", testnet.base_rpc_port, "node i serves JSON-RPC on this + i")->capture_default_str();
  testnet_cmd->add_option("--base-p2p-port", testnet.base_p2p_port, "node i listens for peers on this + i")->capture_default_str();
  testnet_cmd->add_option("--block-time-ms", testnet.block_time_ms, "block time")->check(CLI::Range(10, 3'600'000))->capture_default_str();
  std::string testnet_password_file;
  testnet_cmd->add_option("--password-file", testnet_password_file, "file holding the keystore password (else INFERGRID_PASSWORD)");

  node::DevnetOptions devnet;
  auto* devnet_cmd = app.add_subcommand("devnet", "run the whole closed loop on loopback (docs/devnet.md); scripts/devnet wraps it");
  devnet_cmd->add_option("--home", devnet.home, "directory to create for the network")->required();
  devnet_cmd->add_option("--model", devnet.model, "GGUF model every miner and verifier runs")->required()->check(CLI::ExistingFile);
  devnet_cmd->add_option("--port", devnet.port, "the validator's JSON-RPC port")->capture_default_str();
  devnet_cmd->add_option("--validators", devnet.validators, "validators, each with its verifier")->capture_default_str();
  devnet_cmd->add_option("--p2p-port", devnet.p2p_port, "validator i listens for peers on this + i")->capture_default_str();
  devnet_cmd->add_option("--tasks", devnet.tasks, "tasks the user submits")->capture_default_str();
  devnet_cmd->add_option("--summary", devnet.summary, "also write the summary as JSON to this file");
  devnet_cmd->add_flag("--keep", devnet.keep, "leave the network running at the end");
  devnet_cmd->add_option("--block-time-ms", devnet.block_time_ms, "block time")->check(CLI::Range(50, 10000))->capture_default_str();
  devnet_cmd->add_option("--tempo", devnet.tempo, "blocks per epoch")->capture_default_str();
  devnet_cmd->add_option("--epochs", devnet.epochs, "epochs with miner incentive to wait for")->capture_default_str();
  devnet_cmd->add_option("--max-tokens", devnet.max_tokens, "tokens per task")->check(CLI::Range(1, 512))->capture_default_str();
  devnet_cmd->add_flag("--transfers", devnet.transfers, "also run the transfer demo first");
  devnet_cmd->add_option("--gateway-port", devnet.gateway_port, "the OpenAI-compatible gateway's port (0: none)")
      ->capture_default_str();
  devnet_cmd->add_option("--worker-metrics-port", devnet.worker_metrics_port,
                         "miner i serves GET /metrics on this + i (0: none)")->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");

  Status result;
  if (*init_cmd) {
    result = run_init(init);
  } else if (*worker_cmd) {
    result = node::run_worker(worker);
  } else if (*gateway_cmd) {
    result = node::run_gateway(gateway_args);
  } else if (*testnet_cmd) {
    result = [&]() -> Status {
      IG_TRY_ASSIGN(password, node_password(testnet_password_file));
      testnet.password = std::string(password.view());
      IG_TRY_ASSIGN(nodes, node::write_testnet(testnet));
      std::cout << "wrote " << nodes.size() << " validator homes under " << testnet.out << " (chain " << testnet.chain_id << ")\n";
      for (const auto& n : nodes)
        std::cout << "  " << n.name << ": rpc 127.0.0.1:" << n.rpc_port << "  p2p " << n.node_id.substr(0, 16) << "…@127.0.0.1:"
                  << n.p2p_port << "\n    infergridd start --home " << n.home << "\n";
      std::cout << "The funded dev account is in " << nodes.front().home << "/wallet.\n";
      return {};
    }();
  } else if (*devnet_cmd) {
    const char* pw = std::getenv("INFERGRID_PASSWORD");
    devnet.password = pw && *pw ? pw : "devnet-password";
    setenv("INFERGRID_PASSWORD", devnet.password.c_str(), 1);  // the children read it
    result = node::run_devnet(devnet);
  } else {
    spdlog::set_level(spdlog::level::from_str(start.log_level));
    result = run_start(start);
  }
  if (!result) {
    std::cerr << "error: " << result.error().message << " [" << result.error().code << "]\n";
    return 1;
  }
  return 0;
}
