// The workers from infergridd's command line: `infergridd worker` (a miner or verifier that
// talks to any node) and `infergridd start --miner/--verifier` (the same workers attached to
// the node being started, talking to it over its own RPC port). docs/workers.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/expected.hpp"
#include "workers/miner.hpp"
#include "workers/verifier.hpp"

namespace ig::node {

// What both ways of running a worker share.
struct WorkerArgs {
  std::vector<std::string> models;
  std::string backend = "cpu";
  int threads = 1;
  uint32_t max_concurrent = 0;
  double sample_rate = 1.0;
  std::string cheat, cheat_model;  // TEST/DEMO ONLY
  double cheat_rate = 0;
  uint64_t cheat_seed = 1;
};

// --backend, --threads, --max-concurrent, --sample-rate, --cheat*, onto `cmd`.
void add_worker_tuning(CLI::App* cmd, WorkerArgs& a);

struct WorkerCommand {
  std::string role, node = "ws://127.0.0.1:8546", account, wallet_dir, state_dir, password_file, log_level = "info";
  std::string metrics_listen;  // HOST:PORT or PORT for GET /metrics (docs/metrics.md); empty = none
  WorkerArgs args;
};
void add_worker_command(CLI::App& app, WorkerCommand& w, CLI::App** out);
// Runs until SIGINT/SIGTERM (the caller has blocked them in every thread) or a fatal error.
Status run_worker(const WorkerCommand& w);

// Workers attached to a node: built and started after the node serves RPC on `port`.
struct AttachedWorkers {
  std::unique_ptr<workers::MinerWorker> miner;
  std::unique_ptr<workers::VerifierWorker> verifier;
  void stop();
};
struct AttachArgs {
  std::vector<std::string> miner_models, verifier_models;
  std::string miner_account = "miner", verifier_account = "validator";
  WorkerArgs args;
};
Expected<AttachedWorkers> attach_workers(const std::string& home, uint16_t port, const AttachArgs& a,
                                         std::string_view password);

}  // namespace ig::node
