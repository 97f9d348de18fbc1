// A fixed pool that runs an index range [0, n) as a few contiguous chunks per
// thread, claimed dynamically: a thread that is descheduled (the machine is
// shared) does not hold the others up, because whoever is running takes the
// remaining chunks. Which thread computes an item never changes the item's
// result: the kernels never split a reduction across chunks.
//
// Waiting: an idle worker spins (with pause) for a short while — the ops of a
// forward pass follow each other within microseconds — and then sleeps on a
// futex (std::atomic::wait); the caller waiting for the last chunk does the
// same. So a pool never burns a core for long when the machine is shared, and
// a job is never held up by a sleeping worker: the caller claims chunks too.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace ig::kernels::cpu {

class ThreadPool {
 public:
  using Fn = std::function<void(int64_t begin, int64_t end)>;

  explicit ThreadPool(int threads);  // total threads, the caller included
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }
  // Runs fn over [0, n) in chunks; returns when all are done.
  void parallel_for(int64_t n, const Fn& fn);

 private:
  void worker_loop();
  void drain(uint32_t generation);

  std::vector<std::thread> workers_;
  std::atomic<uint32_t> generation_{0};  // bumped per job; workers wait on it
  // (generation << 32) | (chunks << 16) | next unclaimed chunk: one word, so that a claim is
  // checked against its own job's chunk count (a count read apart could be the next job's).
  std::atomic<uint64_t> work_{0};
  std::atomic<uint32_t> done_{0};        // chunks finished in this generation; the caller waits on it
  std::atomic<int> sleepers_{0};         // workers blocked in generation_.wait
  std::atomic<bool> caller_sleeping_{false};
  const Fn* job_ = nullptr;              // valid while a chunk of its generation is unfinished
  int64_t job_n_ = 0;
  std::atomic<bool> stop_{false};
};

}  // namespace ig::kernels::cpu
