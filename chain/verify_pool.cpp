#include "chain/verify_pool.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace ig::chain {

namespace {
constexpr unsigned kMaxThreads = 256;  // a typo in the environment must not start a million threads
}  // namespace

// Items are claimed in chunks of `grain` from `next` (a signature check costs tens of
// microseconds, so one atomic add per item is noise; an encoding and a hash cost half a
// microsecond, and there the shared counter and flags would cost as much as the work) and
// each chunk is marked done in `ready`.
struct BatchJob {
  BatchJob(size_t count, size_t g, std::function<void(size_t)> f)
      : n(count),
        grain(std::max<size_t>(g, 1)),
        chunks((count + grain - 1) / grain),
        fn(std::move(f)),
        ready(std::make_unique<std::atomic<uint8_t>[]>(chunks)) {}

  bool claimable() const { return next.load(std::memory_order_relaxed) < chunks; }

  // Claims one chunk and runs its items; false when every chunk is claimed already.
  bool run_one() {
    const size_t c = next.fetch_add(1, std::memory_order_relaxed);
    if (c >= chunks) return false;
    for (size_t i = c * grain, end = std::min(n, i + grain); i < end; ++i) fn(i);
    ready[c].store(1, std::memory_order_release);  // publishes what fn wrote for the chunk
    ready[c].notify_all();
    return true;
  }

  const size_t n, grain, chunks;
  const std::function<void(size_t)> fn;
  std::atomic<size_t> next{0};                    // the next chunk to claim
  std::unique_ptr<std::atomic<uint8_t>[]> ready;  // per chunk; value-initialised: all 0
};

unsigned VerifyPool::default_threads() {
  if (const char* env = std::getenv(kThreadsEnv); env && *env >= '0' && *env <= '9') {  // strtoul takes "-2"
    char* end = nullptr;
    const unsigned long v = std::strtoul(env, &end, 10);
    if (end != env && *end == '\0' && v > 0) return static_cast<unsigned>(std::min<unsigned long>(v, kMaxThreads));
  }
  return std::clamp(std::thread::hardware_concurrency(), 1u, kMaxThreads);
}

VerifyPool::VerifyPool(unsigned threads) {
  const unsigned n = std::min(threads == 0 ? default_threads() : threads, kMaxThreads);
  workers_.reserve(n - 1);
  for (unsigned k = 1; k < n; ++k) workers_.emplace_back([this] { worker_loop(); });
}

VerifyPool::~VerifyPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void VerifyPool::worker_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    std::shared_ptr<BatchJob> job;
    cv_.wait(lock, [&] {
      if (stop_) return true;
      for (const auto& j : jobs_)
        if (j->claimable()) {
          job = j;
          return true;
        }
      return false;
    });
    if (stop_) return;
    lock.unlock();
    while (job->run_one()) {
    }
    job.reset();  // the owner may be waiting to free what fn captured; hold nothing longer
    lock.lock();
  }
}

void VerifyPool::publish(const std::shared_ptr<BatchJob>& job) {
  if (workers_.empty()) return;  // one thread: the owner runs every item itself
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(job);
  }
  cv_.notify_all();
}

void VerifyPool::retire(const std::shared_ptr<BatchJob>& job) {
  if (workers_.empty()) return;
  std::lock_guard lock(mu_);
  std::erase(jobs_, job);
}

VerifyPool::Batch::Batch(VerifyPool& pool, size_t n, std::function<void(size_t)> fn, size_t grain)
    : pool_(pool), job_(std::make_shared<BatchJob>(n, grain, std::move(fn))) {
  if (job_->chunks > 1) pool_.publish(job_);  // a single chunk is cheaper to run here than to hand over
}

VerifyPool::Batch::~Batch() {
  // Nothing new starts after this exchange; what was claimed before it must finish before
  // the captures of fn (the caller's transactions and result slots) go away.
  const size_t claimed = std::min(job_->next.exchange(job_->chunks, std::memory_order_relaxed), job_->chunks);
  for (size_t c = 0; c < claimed; ++c) job_->ready[c].wait(0, std::memory_order_acquire);
  if (job_->chunks > 1) pool_.retire(job_);
}

void VerifyPool::Batch::wait(size_t i) {
  auto& flag = job_->ready[i / job_->grain];
  while (flag.load(std::memory_order_acquire) == 0) {
    // Chunks are claimed in increasing order, so an unfinished chunk is either unclaimed
    // (run_one claims it, or one before it) or running elsewhere: then help with later
    // chunks, and sleep only when nothing is left to claim.
    if (!job_->run_one()) flag.wait(0, std::memory_order_acquire);
  }
}

void VerifyPool::parallel_for(size_t n, const std::function<void(size_t)>& fn, size_t grain) {
  if (n == 0) return;
  grain = std::max<size_t>(grain, 1);
  Batch batch(*this, n, std::cref(fn), grain);
  for (size_t i = 0; i < n; i += grain) batch.wait(i);  // the first item of each chunk
}

}  // namespace ig::chain
