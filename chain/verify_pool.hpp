// A small pool of threads for the chain's pure per-transaction work: signature checks,
// encodings and hashes of a block's transactions, and mempool admission of a batch.
//
// Determinism: the pool only ever runs pure functions of one item each and stores every
// result in that item's own slot; callers read the slots in item order. What a block does
// therefore cannot depend on the thread count or on timing, only how fast it is computed.
//
//   VerifyPool pool(2);                       // the caller plus one worker thread
//   pool.parallel_for(n, [&](size_t i) { ok[i] = verify(txs[i]); });
//
//   VerifyPool::Batch batch(pool, n, check);  // starts checking in the background
//   for (size_t i = 0; i < n; ++i) {
//     batch.wait(i);                          // item i is done (the caller helps meanwhile)
//     apply(i);                               // sequential, in order
//   }
//
// Idle workers sleep on a condition variable: a pool costs nothing while the chain is idle,
// and never spins against the inference engine on a shared machine.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace ig::chain {

struct BatchJob;  // one batch's shared progress (verify_pool.cpp)

class VerifyPool {
 public:
  // The environment variable that sets the default thread count (a positive integer).
  static constexpr const char* kThreadsEnv = "INFERGRID_VERIFY_THREADS";
  // INFERGRID_VERIFY_THREADS when set to a positive integer, else the hardware concurrency
  // (at least 1). Read on every call, so a test may change it between pools.
  static unsigned default_threads();

  // `threads` counts the calling thread: 1 runs everything inline, N starts N-1 workers.
  // 0 means default_threads().
  explicit VerifyPool(unsigned threads = 0);
  ~VerifyPool();
  VerifyPool(const VerifyPool&) = delete;
  VerifyPool& operator=(const VerifyPool&) = delete;

  // The grain for items of under a microsecond (encode a transaction or receipt and hash it):
  // 16 of them are about as much work as claiming a chunk costs, in shared-counter traffic.
  static constexpr size_t kCheapItemGrain = 16;

  unsigned threads() const { return static_cast<unsigned>(workers_.size()) + 1; }

  // Runs fn(i) for every i in [0, n), on the workers and the calling thread, and returns when
  // all are done. fn must not throw, and must touch only item i's data. Threads claim `grain`
  // consecutive items at a time: give cheap items (an encoding, a hash: under a microsecond)
  // a grain of 16 or so, or the shared counter costs as much as the work.
  void parallel_for(size_t n, const std::function<void(size_t)>& fn, size_t grain = 1);

  // Items [0, n) processed in the background, consumed in order with wait(i). Several batches
  // (from several threads) may run at once; each caller always helps with its own, so none
  // waits on another's work. The destructor stops what has not started and waits for what
  // has, so fn and its captures need only outlive the Batch.
  class Batch {
   public:
    // `grain`: items claimed at a time, as for parallel_for.
    Batch(VerifyPool& pool, size_t n, std::function<void(size_t)> fn, size_t grain = 1);
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    // Returns once item i is done; runs not-yet-claimed items on this thread while waiting.
    void wait(size_t i);

   private:
    VerifyPool& pool_;
    std::shared_ptr<BatchJob> job_;
  };

 private:
  friend class Batch;
  void worker_loop();
  void publish(const std::shared_ptr<BatchJob>& job);
  void retire(const std::shared_ptr<BatchJob>& job);

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<std::shared_ptr<BatchJob>> jobs_;  // batches with items possibly left to claim
  std::vector<std::thread> workers_;
};

}  // namespace ig::chain
