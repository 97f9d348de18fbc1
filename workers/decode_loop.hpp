// The miner's inference thread: every generation the miner runs goes through one backend and
// one thread, and the tasks of the same model are decoded together (engine::BatchGenerator):
// each step reads the weights once for all of them. Job threads hand their task over with
// generate() and wait; the loop adds it to its model's batch at the next step.
//
// The result is bitwise what the task would give alone (batch.hpp), so batching changes a
// miner's speed, never its receipts.
//
//   IG_TRY_ASSIGN(loop, DecodeLoop::start({kernels::BackendKind::Cpu, 2}, 4));
//   auto gen = loop->generate(model, {prompt_ids, params, model.config().eog_ids});  // any thread
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "common/expected.hpp"
#include "inference/engine/batch.hpp"
#include "kernels/kernels.hpp"

namespace ig::workers {

class DecodeLoop {
 public:
  struct Stats {
    uint64_t steps = 0;           // forward passes run
    uint64_t sequence_steps = 0;  // sum over steps of the sequences in them
    int peak_sequences = 0;       // the most sequences decoded together in one step
  };

  // Creates the backend (errors: make_backend's) and starts the thread. max_sequences:
  // generations of one model decoded together, 1..engine::Forward::kChunk ("engine.bad_batch").
  static Expected<std::unique_ptr<DecodeLoop>> start(const kernels::BackendOptions& backend, int max_sequences);
  ~DecodeLoop();

  // Runs one generation (thread-safe; blocks until it finishes). `model` must outlive the
  // call. Errors: the batch's checks (BatchGenerator::add), backend failures, and
  // "worker.stopping" when stop() comes first.
  Expected<engine::Generation> generate(const engine::Model& model, engine::GenerationRequest request);
  // Fails every waiting and running generation with "worker.stopping" and joins the thread.
  void stop();

  const kernels::Backend& backend() const { return *backend_; }
  Stats stats() const;

 private:
  struct Job {
    const engine::Model* model;
    engine::GenerationRequest request;
    std::promise<Expected<engine::Generation>> done;
  };
  struct ModelBatch {
    engine::BatchGenerator batch;
    std::map<uint64_t, std::unique_ptr<Job>> running;  // batch id -> job
  };
  DecodeLoop(std::unique_ptr<kernels::Backend> backend, int max_sequences);
  void run();
  void admit(std::unique_ptr<Job>& job);  // into its model's batch; leaves `job` set when full

  std::unique_ptr<kernels::Backend> backend_;
  int max_sequences_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<std::unique_ptr<Job>> incoming_;  // handed over, not yet seen by the loop
  Stats stats_;
  // Loop thread only:
  std::deque<std::unique_ptr<Job>> waiting_;  // seen, but their model's batch was full
  std::map<const engine::Model*, ModelBatch> batches_;
  std::thread thread_;
};

}  // namespace ig::workers
