#include "workers/decode_loop.hpp"

#include <algorithm>

namespace ig::workers {

Expected<std::unique_ptr<DecodeLoop>> DecodeLoop::start(const kernels::BackendOptions& o, int max_sequences) {
  if (max_sequences < 1 || max_sequences > engine::Forward::kChunk)
    return fail("engine.bad_batch", "a batch holds 1.." + std::to_string(engine::Forward::kChunk) +
                                        " sequences, not " + std::to_string(max_sequences));
  IG_TRY_ASSIGN(backend, kernels::make_backend(o));
  std::unique_ptr<DecodeLoop> loop(new DecodeLoop(std::move(backend), max_sequences));
  loop->thread_ = std::thread([p = loop.get()] { p->run(); });
  return loop;
}

DecodeLoop::DecodeLoop(std::unique_ptr<kernels::Backend> backend, int max_sequences)
    : backend_(std::move(backend)), max_sequences_(max_sequences) {}

DecodeLoop::~DecodeLoop() { stop(); }

void DecodeLoop::stop() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

DecodeLoop::Stats DecodeLoop::stats() const {
  std::lock_guard l(mu_);
  return stats_;
}

Expected<engine::Generation> DecodeLoop::generate(const engine::Model& model, engine::GenerationRequest request) {
  auto job = std::make_unique<Job>(Job{&model, std::move(request), {}});
  auto result = job->done.get_future();
  {
    std::lock_guard l(mu_);
    if (stopping_) return fail("worker.stopping", "the miner is stopping");
    incoming_.push_back(std::move(job));
  }
  cv_.notify_all();
  return result.get();
}

void DecodeLoop::admit(std::unique_ptr<Job>& job) {
  auto it = batches_.find(job->model);
  if (it == batches_.end()) {
    auto batch = engine::BatchGenerator::create(*job->model, *backend_, max_sequences_);
    if (!batch) {  // max_sequences was checked by start(): not expected
      job->done.set_value(fail(batch.error()));
      job.reset();
      return;
    }
    it = batches_.emplace(job->model, ModelBatch{std::move(*batch), {}}).first;
  }
  ModelBatch& mb = it->second;
  if (mb.batch.full()) return;
  auto id = mb.batch.add(std::move(job->request));
  if (!id)
    job->done.set_value(fail(id.error()));
  else
    mb.running.emplace(*id, std::move(job));
  job.reset();
}

void DecodeLoop::run() {
  for (;;) {
    {
      std::unique_lock l(mu_);
      const auto busy = [&] {
        return std::any_of(batches_.begin(), batches_.end(), [](const auto& b) { return b.second.batch.active() > 0; });
      };
      cv_.wait(l, [&] { return stopping_ || !incoming_.empty() || busy(); });
      if (stopping_) break;
      for (auto& j : incoming_) waiting_.push_back(std::move(j));
      incoming_.clear();
    }
    // Oldest first; a job whose model's batch is full keeps its place.
    for (auto& j : waiting_) admit(j);
    std::erase_if(waiting_, [](const auto& j) { return !j; });

    for (auto& [model, mb] : batches_) {
      const int n = mb.batch.active();
      if (n == 0) continue;
      auto finished = mb.batch.step();
      {
        std::lock_guard l(mu_);
        ++stats_.steps;
        stats_.sequence_steps += uint64_t(n);
        stats_.peak_sequences = std::max(stats_.peak_sequences, n);
      }
      for (auto& f : finished) {
        auto job = mb.running.find(f.id);
        if (job == mb.running.end()) continue;
        job->second->done.set_value(std::move(f.result));
        mb.running.erase(job);
      }
    }
  }
  // Stopping: whoever still waits gets an answer.
  const auto stopped = [] { return fail("worker.stopping", "the miner is stopping"); };
  for (auto& [model, mb] : batches_)
    for (auto& [id, job] : mb.running) job->done.set_value(stopped());
  for (auto& j : waiting_) j->done.set_value(stopped());
  std::lock_guard l(mu_);
  for (auto& j : incoming_) j->done.set_value(stopped());
  incoming_.clear();
}

}  // namespace ig::workers
