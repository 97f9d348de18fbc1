#include "kernels/cpu/thread_pool.hpp"

#include <algorithm>

#if defined(__x86_64__)
#include <immintrin.h>
#define IG_PAUSE() _mm_pause()
#else
#define IG_PAUSE() std::this_thread::yield()
#endif

namespace ig::kernels::cpu {

namespace {
// Spin this many rounds before sleeping: the ops of one forward pass follow
// each other within microseconds, and a futex wake costs more than that.
constexpr int kSpinRounds = 20000;
constexpr int kChunksPerThread = 4;
}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

// Claims and runs chunks of `generation` until none are left. The claim is a
// CAS on (generation, index), so a late thread can never take a chunk of a
// later job by mistake.
void ThreadPool::drain(uint32_t generation) {
  for (;;) {
    uint64_t v = work_.load(std::memory_order_acquire);
    if (uint32_t(v >> 32) != generation) return;
    const uint32_t idx = uint32_t(v);
    const uint32_t chunks = chunks_.load(std::memory_order_relaxed);
    if (idx >= chunks) return;
    if (!work_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) continue;
    const int64_t begin = job_n_ * idx / chunks;
    const int64_t end = job_n_ * (idx + 1) / chunks;
    if (begin < end) (*job_)(begin, end);
    done_.fetch_add(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::parallel_for(int64_t n, const Fn& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    fn(0, n);
    return;
  }
  const uint32_t chunks = uint32_t(std::min<int64_t>(n, int64_t(size()) * kChunksPerThread));
  uint32_t gen;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_n_ = n;
    chunks_.store(chunks, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    gen = generation_.load(std::memory_order_relaxed) + 1;
    work_.store(uint64_t(gen) << 32, std::memory_order_release);
    generation_.store(gen, std::memory_order_release);
  }
  wake_.notify_all();
  drain(gen);
  for (int spins = 0; done_.load(std::memory_order_acquire) != int64_t(chunks); ++spins) {
    if (spins < kSpinRounds) IG_PAUSE(); else std::this_thread::yield();
  }
}

void ThreadPool::worker_loop() {
  uint32_t seen = 0;
  for (;;) {
    uint32_t gen = generation_.load(std::memory_order_acquire);
    for (int spins = 0; gen == seen && spins < kSpinRounds; ++spins) {
      IG_PAUSE();
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load(std::memory_order_acquire)) return;
    drain(gen);
  }
}

}  // namespace ig::kernels::cpu
