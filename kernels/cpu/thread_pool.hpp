// A fixed pool that splits an index range [0, n) into one contiguous chunk per
// thread. Which thread computes an item never changes the item's result: the
// kernels never split a reduction across chunks.
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
  // Runs fn over [0, n) split into size() chunks; returns when all are done.
  void parallel_for(int64_t n, const Fn& fn);

 private:
  void worker_loop(int index);
  void run_chunk(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  const Fn* job_ = nullptr;
  int64_t job_n_ = 0;
  bool stop_ = false;
};

}  // namespace ig::kernels::cpu
