#include "kernels/cpu/thread_pool.hpp"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#define IG_PAUSE() _mm_pause()
#else
#define IG_PAUSE() std::this_thread::yield()
#endif

namespace ig::kernels::cpu {

namespace {
// Spin at most this long before sleeping on the futex: longer than the gap
// between two ops of a forward pass, far shorter than a scheduler time slice.
constexpr auto kSpin = std::chrono::microseconds(50);
constexpr int kChunksPerThread = 4;
constexpr uint32_t kMaxChunks = 0xffff;  // a chunk count and index each take 16 bits of work_

uint64_t work_word(uint32_t generation, uint32_t chunks, uint32_t index) {
  return (uint64_t(generation) << 32) | (uint64_t(chunks) << 16) | index;
}

// Spins until pred() or kSpin has passed; true when pred() held.
template <typename Pred>
bool spin_for(Pred pred) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1;; ++i) {
    if (pred()) return true;
    IG_PAUSE();
    if (i % 32 == 0 && std::chrono::steady_clock::now() - t0 > kSpin) return pred();
  }
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
}

// Claims and runs chunks of `generation` until none are left. The claim is a
// CAS on the whole (generation, chunks, index) word, so a late thread can
// never take a chunk of a later job, nor one past the end of its own: the
// count comes from the word it claims in. (Read apart, a late thread could see
// its finished job's index with the next job's larger count in the moment the
// next job was being set up, claim a chunk that does not exist, and count it
// done in the next job: that job then returned a chunk early, or never.)
void ThreadPool::drain(uint32_t generation) {
  for (;;) {
    uint64_t v = work_.load(std::memory_order_acquire);
    if (uint32_t(v >> 32) != generation) return;
    const uint32_t idx = uint32_t(v) & 0xffff;
    const uint32_t chunks = (uint32_t(v) >> 16) & 0xffff;
    if (idx >= chunks) return;
    if (!work_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) continue;
    const int64_t begin = job_n_ * idx / chunks;
    const int64_t end = job_n_ * (idx + 1) / chunks;
    if (begin < end) (*job_)(begin, end);
    // seq_cst: the caller sets caller_sleeping_ before re-reading done_ (see parallel_for)
    if (done_.fetch_add(1) + 1 == chunks && caller_sleeping_.load()) done_.notify_one();
  }
}

void ThreadPool::parallel_for(int64_t n, const Fn& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    fn(0, n);
    return;
  }
  const uint32_t chunks =
      uint32_t(std::min<int64_t>({n, int64_t(size()) * kChunksPerThread, int64_t(kMaxChunks)}));
  // No worker touches the job fields now: every chunk of the previous job was
  // finished before the previous call returned, and a late worker's drain only
  // reads work_, whose generation no longer matches until the store below.
  job_ = &fn;
  job_n_ = n;
  done_.store(0, std::memory_order_relaxed);
  const uint32_t gen = generation_.load(std::memory_order_relaxed) + 1;
  work_.store(work_word(gen, chunks, 0), std::memory_order_release);
  generation_.store(gen);  // seq_cst, paired with the sleepers_ increment in worker_loop
  if (sleepers_.load() > 0) generation_.notify_all();
  drain(gen);
  auto finished = [&] { return done_.load(std::memory_order_acquire) == chunks; };
  if (spin_for(finished)) return;
  caller_sleeping_.store(true);
  for (uint32_t d = done_.load(); d != chunks; d = done_.load()) done_.wait(d);
  caller_sleeping_.store(false);
}

void ThreadPool::worker_loop() {
  uint32_t seen = 0;
  for (;;) {
    uint32_t gen = generation_.load(std::memory_order_acquire);
    if (gen == seen) {
      spin_for([&] { return (gen = generation_.load(std::memory_order_acquire)) != seen; });
      while (gen == seen) {
        sleepers_.fetch_add(1);  // seq_cst: parallel_for's store of generation_ then sees us, or we see it
        generation_.wait(seen);
        sleepers_.fetch_sub(1);
        gen = generation_.load(std::memory_order_acquire);
      }
    }
    seen = gen;
    if (stop_.load(std::memory_order_acquire)) return;
    drain(gen);
  }
}

}  // namespace ig::kernels::cpu
