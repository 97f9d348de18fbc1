// A fixed pool that runs an index range [0, n) as a few contiguous chunks per
// thread, claimed dynamically: a thread that is descheduled (the machine is
// shared) does not hold the others up, because whoever is running takes the
// remaining chunks. Which thread computes an item never changes the item's
// result: the kernels never split a reduction across chunks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
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
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint32_t> generation_{0};
  std::atomic<uint64_t> work_{0};     // (generation << 32) | next unclaimed chunk
  std::atomic<int64_t> done_{0};      // chunks finished in this generation
  std::atomic<uint32_t> chunks_{0};
  const Fn* job_ = nullptr;           // valid while a chunk of its generation is unfinished
  int64_t job_n_ = 0;
  std::atomic<bool> stop_{false};
};

}  // namespace ig::kernels::cpu
