// The miner worker (DESIGN §1 step 3, docs/workers.md): watches the chain for tasks assigned
// to its account, runs each with the task's model and parameters, and submits a signed
// SubmitResult with the receipt, the per-step fingerprints and the text before the deadline.
//
//   MinerOptions o{.node_url = "ws://127.0.0.1:8546", .key = key, .model_paths = {"m.gguf"},
//                  .state_dir = "~/.infergrid/miner"};
//   IG_TRY_ASSIGN(miner, MinerWorker::create(std::move(o)));
//   IG_TRY(miner->start());      // connects, checks the registration, catches up, runs
//   ... miner->stats() ...
//   miner->stop();
//
// Restarts: the node's (the link reconnects, re-subscribes and lists the tasks assigned to
// this miner, so an assignment made while it was away is not lost) and its own (every signed
// result is journaled in state_dir before it is sent; a restarted miner re-sends those exact
// bytes and never signs a second result for a task).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chain/keys.hpp"
#include "common/expected.hpp"
#include "kernels/kernels.hpp"
#include "workers/cheat.hpp"

namespace ig::workers {

struct MinerOptions {
  std::string node_url = "ws://127.0.0.1:8546";
  std::optional<chain::SecretKey> key;                   // the miner's account (registered with register-miner)
  std::vector<std::string> model_paths;   // GGUF files; tasks are matched by file SHA-256
  std::string state_dir;                  // journal and lock; created 0700
  kernels::BackendKind backend = kernels::BackendKind::Cpu;
  int threads = 1;                        // CPU threads of its one engine: its concurrent tasks are
                                          // decoded together on them (workers/decode_loop.hpp)
  uint32_t max_concurrent = 0;            // 0: the registry's declared max_concurrent
  CheatOptions cheat;                     // TEST/DEMO ONLY (cheat.hpp)
};

struct MinerStats {
  uint64_t assigned = 0;     // assignments seen
  uint64_t submitted = 0;    // results sent
  uint64_t failed = 0;       // tasks it could not serve (unknown model, past deadline, errors)
  uint64_t cheated = 0;      // TEST/DEMO: results it altered
  uint64_t tokens = 0;       // generated tokens
  double busy_seconds = 0;   // time spent generating
  size_t queue_depth = 0;    // tasks waiting or running now
  // The decode loop (decode_loop.hpp): forward passes run, the sum over them of the tasks
  // they carried (so sequence_steps / steps is the mean batch), the largest batch.
  uint64_t decode_steps = 0;
  uint64_t decode_sequence_steps = 0;
  int decode_peak_batch = 0;
  // Per task: tasks decoded together overlap in time, so this is one task's speed, not the
  // miner's aggregate (tokens over wall time).
  double tokens_per_second() const { return busy_seconds > 0 ? double(tokens) / busy_seconds : 0; }
};

class MinerWorker {
 public:
  static Expected<std::unique_ptr<MinerWorker>> create(MinerOptions options);
  ~MinerWorker();

  // Locks state_dir, loads the models, connects, checks that the account is a registered
  // miner serving at least one of the models, starts the threads. Errors: "miner.not_registered",
  // "miner.no_model", "lock.held", the catalog's and the link's codes.
  Status start();
  void stop();
  // Blocks until stop() or a fatal error (the node unreachable beyond the reconnect budget).
  Status wait();
  MinerStats stats() const;
  std::string address() const;

 private:
  struct Impl;
  explicit MinerWorker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ig::workers
