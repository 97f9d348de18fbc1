// The miner's decode loop (workers/decode_loop.hpp): tasks handed over from several threads
// are decoded together, each bitwise as it would run alone; bad requests fail alone; stop()
// answers everyone still waiting.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "inference/engine/engine.hpp"
#include "workers/decode_loop.hpp"

namespace ig::workers {
namespace {

using namespace std::chrono_literals;

const std::string kModel = std::string(INFERGRID_SHARED_DATA) + "/models/stories260K.gguf";

engine::Model load() {
  auto m = engine::Model::open(kModel);
  if (!m) throw std::runtime_error(m.error().to_string());
  return std::move(*m);
}

engine::GenerationRequest request(const engine::Model& m, int i) {
  SamplingParams p;
  p.max_tokens = 40 + 8 * uint32_t(i);
  if (i % 2) {
    p.temperature_milli = 900;
    p.top_k = 20;
    p.seed = uint64_t(i);
  }
  std::vector<int32_t> prompt = {1};
  for (int k = 0; k <= i * 3; ++k) prompt.push_back(int32_t(100 + 37 * k + i) % m.config().vocab);
  return {prompt, p, m.config().eog_ids};
}

TEST(DecodeLoop, ConcurrentTasksAreDecodedTogetherAndEachIsItsSoloRun) {
  const engine::Model m = load();
  auto loop = DecodeLoop::start({kernels::BackendKind::Cpu, 2}, 4);
  ASSERT_TRUE(loop) << loop.error().to_string();
  auto solo_backend = kernels::make_backend({kernels::BackendKind::Cpu, 1});
  ASSERT_TRUE(solo_backend);

  // Task 0 holds the loop at its first token until the other three have been handed over,
  // so the test does not depend on how the threads happen to be scheduled.
  std::atomic<int> handing{0};
  std::vector<Expected<engine::Generation>> got(4, fail("test.not_run", ""));
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      auto req = request(m, i);
      if (i == 0) {
        bool waited = false;
        req.on_token = [&](int32_t) {
          if (!waited) {
            waited = true;
            for (int k = 0; k < 3000 && handing.load() < 3; ++k) std::this_thread::sleep_for(10ms);
            std::this_thread::sleep_for(100ms);  // they are past the counter: let them reach the queue
          }
          return true;
        };
      } else {
        ++handing;
      }
      got[size_t(i)] = (*loop)->generate(m, std::move(req));
    });
  for (auto& t : threads) t.join();

  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(got[size_t(i)]) << got[size_t(i)].error().to_string();
    const auto r = request(m, i);
    auto solo = engine::generate(m, **solo_backend, r.prompt, r.params, std::span<const int32_t>(r.stop_ids));
    ASSERT_TRUE(solo);
    EXPECT_EQ(got[size_t(i)]->tokens, solo->tokens) << "task " << i;
    ASSERT_EQ(got[size_t(i)]->steps.size(), solo->steps.size());
    for (size_t s = 0; s < solo->steps.size(); ++s) {
      EXPECT_EQ(std::memcmp(&got[size_t(i)]->steps[s].logit, &solo->steps[s].logit, 4), 0) << i << " " << s;
      EXPECT_EQ(std::memcmp(&got[size_t(i)]->steps[s].runner_up, &solo->steps[s].runner_up, 4), 0) << i << " " << s;
    }
  }
  const auto st = (*loop)->stats();
  EXPECT_EQ(st.peak_sequences, 4);
  EXPECT_LT(st.steps, st.sequence_steps);  // steps shared by several tasks
}

TEST(DecodeLoop, ABadRequestFailsAloneAndTheLoopServesOn) {
  const engine::Model m = load();
  auto loop = DecodeLoop::start({kernels::BackendKind::Cpu, 1}, 2);
  ASSERT_TRUE(loop);
  auto bad = request(m, 0);
  bad.prompt.push_back(m.config().vocab);  // outside the vocabulary
  EXPECT_EQ((*loop)->generate(m, bad).error().code, "engine.bad_token");
  auto empty = request(m, 0);
  empty.prompt.clear();
  EXPECT_EQ((*loop)->generate(m, empty).error().code, "engine.empty_prompt");
  auto ok = (*loop)->generate(m, request(m, 1));
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_FALSE(ok->tokens.empty());
  EXPECT_EQ(DecodeLoop::start({kernels::BackendKind::Cpu, 1}, 0).error().code, "engine.bad_batch");
}

TEST(DecodeLoop, StopAnswersEveryoneStillWaiting) {
  const engine::Model m = load();
  auto loop = DecodeLoop::start({kernels::BackendKind::Cpu, 1}, 1);
  ASSERT_TRUE(loop);
  std::atomic<bool> running{false};
  std::atomic<bool> release{false};
  auto slow = request(m, 0);
  slow.params.max_tokens = 200;
  slow.on_token = [&](int32_t) {
    running = true;
    while (!release) std::this_thread::sleep_for(1ms);
    return true;
  };
  Expected<engine::Generation> first = fail("test.not_run", ""), second = fail("test.not_run", "");
  std::thread a([&] { first = (*loop)->generate(m, slow); });
  while (!running) std::this_thread::sleep_for(1ms);
  std::thread b([&] { second = (*loop)->generate(m, request(m, 1)); });  // waits: the batch holds one
  std::this_thread::sleep_for(50ms);
  std::thread stopper([&] { (*loop)->stop(); });
  std::this_thread::sleep_for(50ms);
  release = true;  // the step in progress ends; the loop then sees it is stopping
  stopper.join();
  a.join();
  b.join();
  EXPECT_EQ(first.error().code, "worker.stopping");
  EXPECT_EQ(second.error().code, "worker.stopping");
  EXPECT_EQ((*loop)->generate(m, request(m, 1)).error().code, "worker.stopping");
}

}  // namespace
}  // namespace ig::workers
