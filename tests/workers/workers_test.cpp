// The workers' pure parts: scoring, the sampling decision, the journal and reading replies.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "workers/journal.hpp"
#include "workers/scoring.hpp"
#include "workers/task_view.hpp"
#include "workers/verifier.hpp"

namespace ig::workers {
namespace {

namespace fs = std::filesystem;

std::string temp_dir() {
  std::string t = (fs::temp_directory_path() / "ig-workers-XXXXXX").string();
  return mkdtemp(t.data());
}

TEST(Scoring, CorrectnessFirstThenReliabilityAndSpeed) {
  std::map<uint16_t, MinerTally> t;
  t[1] = {10, 0, 0, 40};   // 10 verified, 4 blocks each
  t[2] = {10, 0, 10, 40};  // as fast, but missed as many deadlines as it met
  t[3] = {10, 0, 0, 120};  // reliable but slower (12 blocks each)
  t[4] = {50, 1, 0, 0};    // one rejected result zeroes everything else
  t[5] = {0, 0, 3, 0};     // nothing verified: nothing earned
  auto w = weights_from_tallies(t);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].uid, 1);
  EXPECT_EQ(w[0].weight, 65535);  // the best is max-upscaled
  EXPECT_EQ(w[1].uid, 2);
  EXPECT_EQ(w[1].weight, 32767);  // reliability 1/2
  EXPECT_EQ(w[2].uid, 3);
  // speed 4/(4+12) = 1/4 against 4/(4+4) = 1/2: half of the best
  EXPECT_EQ(w[2].weight, 32767);
  EXPECT_TRUE(weights_from_tallies({}).empty());
  EXPECT_TRUE(weights_from_tallies({{7, MinerTally{3, 2, 0, 0}}}).empty());
}

TEST(Scoring, APositiveScoreNeverRoundsToZero) {
  std::map<uint16_t, MinerTally> t;
  t[1] = {1'000'000, 0, 0, 0};
  t[2] = {1, 0, 1'000, 1'000'000};
  auto w = weights_from_tallies(t);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[1].weight, 1);
}

TEST(Sampling, AllWhenTheRateIsOneAndAboutTheRateOtherwise) {
  chain::Address a{}, b{};
  a[0] = 1;
  b[0] = 2;
  Hash32 block{};
  block[5] = 9;
  int chosen_a = 0, chosen_b = 0, both = 0;
  for (uint64_t id = 0; id < 20'000; ++id) {
    EXPECT_TRUE(sampled_for_check(block, id, a, 1'000'000));
    const bool x = sampled_for_check(block, id, a, 250'000), y = sampled_for_check(block, id, b, 250'000);
    chosen_a += x;
    chosen_b += y;
    both += x && y;
    EXPECT_EQ(x, sampled_for_check(block, id, a, 250'000));  // deterministic
  }
  EXPECT_NEAR(chosen_a, 5000, 400);
  EXPECT_NEAR(chosen_b, 5000, 400);
  EXPECT_NEAR(both, 1250, 250);  // validators sample independently
  // Another block hash gives another sample: the miner cannot know it when it submits.
  Hash32 other = block;
  other[0] ^= 1;
  int differ = 0;
  for (uint64_t id = 0; id < 1000; ++id) differ += sampled_for_check(block, id, a, 500'000) != sampled_for_check(other, id, a, 500'000);
  EXPECT_GT(differ, 400);
}

TEST(Journal, SurvivesARestartAndRefusesACorruptFile) {
  const std::string dir = temp_dir();
  const std::string path = dir + "/j.json";
  {
    auto j = Journal::open(path);
    ASSERT_TRUE(j);
    EXPECT_TRUE(j->data().empty());
    j->data()["tasks"]["7"] = {{"state", "signed"}, {"tx", "00ff"}};
    ASSERT_TRUE(j->save());
  }
  auto again = Journal::open(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->data()["tasks"]["7"]["tx"], "00ff");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  std::ofstream(path, std::ios::trunc) << "{\"tasks\": ";  // a torn or hand-edited file
  auto corrupt = Journal::open(path);
  ASSERT_FALSE(corrupt);
  EXPECT_EQ(corrupt.error().code, "journal.corrupt");
  fs::remove_all(dir);
}

TEST(TaskView, ReadsTheDocumentedShapeAndRefusesOthers) {
  nlohmann::json t = {{"id", 3},
                      {"status", "assigned"},
                      {"user", "ig1user"},
                      {"model_id", std::string(64, 'a')},
                      {"prompt", "Once"},
                      {"params", {{"max_tokens", 8}, {"temperature_milli", 800}, {"top_k", 40}, {"top_p_milli", 950}, {"seed", "18446744073709551615"}}},
                      {"miner", "ig1miner"},
                      {"assigned_height", 10},
                      {"deadline", 40}};
  auto v = parse_task(t);
  ASSERT_TRUE(v) << v.error().to_string();
  EXPECT_EQ(v->id, 3u);
  EXPECT_EQ(v->params.temperature_milli, 800u);
  EXPECT_EQ(v->params.seed, 18446744073709551615ull);
  EXPECT_EQ(v->miner, "ig1miner");
  EXPECT_EQ(v->deadline, 40u);
  for (const char* key : {"id", "status", "prompt", "params", "model_id"}) {
    auto broken = t;
    broken.erase(key);
    EXPECT_FALSE(parse_task(broken)) << key;
  }
  auto bad = t;
  bad["params"]["max_tokens"] = -1;
  EXPECT_FALSE(parse_task(bad));
  bad = t;
  bad["params"]["top_k"] = "12x";
  EXPECT_FALSE(parse_task(bad));
  bad = t;
  bad["deadline"] = "soon";
  EXPECT_FALSE(parse_task(bad));
  EXPECT_FALSE(parse_task(nlohmann::json::array()));
}

}  // namespace
}  // namespace ig::workers
