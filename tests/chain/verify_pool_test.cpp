// The VerifyPool on its own: every item runs exactly once whatever the thread count, batches
// are consumed in order, a batch given up early waits for what is running, several batches
// run at once, and the thread count comes from INFERGRID_VERIFY_THREADS when set.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "chain/verify_pool.hpp"

namespace ig::chain {
namespace {

class VerifyPoolThreads : public ::testing::TestWithParam<unsigned> {};

TEST_P(VerifyPoolThreads, ParallelForRunsEveryItemExactlyOnce) {
  VerifyPool pool(GetParam());
  EXPECT_EQ(pool.threads(), GetParam());
  for (size_t grain : {size_t{0}, size_t{1}, size_t{3}, VerifyPool::kCheapItemGrain, size_t{5000}})
    for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{7}, size_t{16}, size_t{17}, size_t{1000}}) {
      std::vector<std::atomic<int>> runs(n);
      pool.parallel_for(n, [&](size_t i) { runs[i].fetch_add(1); }, grain);
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(runs[i].load(), 1) << "n " << n << " grain " << grain << " item " << i;
    }
}

// With items claimed in chunks, wait(i) must still mean item i (and the rest of its chunk)
// is done, for an i anywhere in a chunk, including the short last one.
TEST_P(VerifyPoolThreads, BatchItemsInChunksAreReadyInOrder) {
  VerifyPool pool(GetParam());
  for (size_t grain : {size_t{2}, size_t{16}, size_t{33}}) {
    const size_t n = 1001;
    std::vector<uint64_t> out(n, 0);
    VerifyPool::Batch batch(pool, n, [&](size_t i) { out[i] = i * 3 + 1; }, grain);
    for (size_t i = 0; i < n; ++i) {
      batch.wait(i);
      ASSERT_EQ(out[i], i * 3 + 1) << "grain " << grain << " item " << i << " read before it was done";
    }
  }
}

TEST_P(VerifyPoolThreads, BatchItemsAreReadyInOrderWithTheirResults) {
  VerifyPool pool(GetParam());
  const size_t n = 5000;
  std::vector<uint64_t> out(n, 0);
  VerifyPool::Batch batch(pool, n, [&](size_t i) { out[i] = i * i + 1; });
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) {
    batch.wait(i);
    ASSERT_EQ(out[i], i * i + 1) << "item " << i << " read before it was done";
    sum += out[i];
  }
  EXPECT_GT(sum, 0u);
}

// A consumer that stops early (a block refused at its first bad transaction): the batch's
// destructor must not return while a worker still writes into the caller's vectors.
TEST_P(VerifyPoolThreads, ABatchGivenUpEarlyWaitsForRunningItems) {
  VerifyPool pool(GetParam());
  for (int round = 0; round < 50; ++round) {
    auto slots = std::make_unique<std::vector<uint64_t>>(2000, 0);
    std::atomic<size_t> started{0};
    {
      VerifyPool::Batch batch(pool, slots->size(), [&, s = slots.get()](size_t i) {
        started.fetch_add(1);
        volatile uint64_t x = 0;
        for (int k = 0; k < 200; ++k) x = x + k;
        (*s)[i] = x + 1;
      });
      batch.wait(3);
    }
    // Everything that started has finished: each slot is 0 (never run) or complete.
    size_t done = 0;
    for (uint64_t v : *slots) {
      ASSERT_TRUE(v == 0 || v == 19901);
      done += v != 0;
    }
    EXPECT_EQ(done, started.load());
    EXPECT_GE(done, 4u);
    slots.reset();  // ASan/UBSan builds catch a late write here
  }
}

TEST_P(VerifyPoolThreads, SeveralCallersShareOnePool) {
  VerifyPool pool(GetParam());
  constexpr int kCallers = 4;
  std::vector<std::vector<int>> results(kCallers, std::vector<int>(3000, 0));
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c)
    callers.emplace_back([&, c] {
      for (int rep = 0; rep < 5; ++rep) pool.parallel_for(results[c].size(), [&](size_t i) { results[c][i] += c + 1; });
    });
  for (auto& t : callers) t.join();
  for (int c = 0; c < kCallers; ++c)
    for (int v : results[c]) ASSERT_EQ(v, 5 * (c + 1));
}

INSTANTIATE_TEST_SUITE_P(Threads, VerifyPoolThreads, ::testing::Values(1u, 2u, 4u, 8u));

TEST(VerifyPool, ThreadCountFromTheEnvironment) {
  const char* saved = std::getenv(VerifyPool::kThreadsEnv);
  const std::string restore = saved ? saved : "";
  ::setenv(VerifyPool::kThreadsEnv, "3", 1);
  EXPECT_EQ(VerifyPool::default_threads(), 3u);
  EXPECT_EQ(VerifyPool(0).threads(), 3u);
  EXPECT_EQ(VerifyPool(2).threads(), 2u);  // an explicit count wins
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  for (const char* bad : {"0", "-2", "two", "", "4x"}) {
    ::setenv(VerifyPool::kThreadsEnv, bad, 1);
    EXPECT_EQ(VerifyPool::default_threads(), std::min(hw, 256u)) << "'" << bad << "'";
  }
  ::unsetenv(VerifyPool::kThreadsEnv);
  EXPECT_EQ(VerifyPool::default_threads(), std::min(hw, 256u));
  if (saved) ::setenv(VerifyPool::kThreadsEnv, restore.c_str(), 1);
}

}  // namespace
}  // namespace ig::chain
