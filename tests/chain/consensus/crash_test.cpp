// Crash injection at every durable write point (docs/consensus.md §5; CometBFT TestWALCrash).
//
// Four validators run in the simulator with real signer-state files and WALs. One of them (the
// victim) is killed right after its k-th durable write — every WAL sync and every signer-state
// write, for every k the first heights contain — and, in a second pass, with that write torn
// (the WAL cut in the middle of the bytes the sync was writing, as a power loss mid-write leaves
// it). It restarts from its files. Every run must: never see the victim sign two different
// messages for one (height, round, step), produce no double-sign evidence against it, keep
// agreement with valid commits, decide five heights on every node, the victim included, and see
// the victim sign again after its restart.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <map>
#include <tuple>
#include <unistd.h>

#include "tests/chain/consensus/helpers.hpp"
#include "tests/chain/consensus/sim.hpp"

namespace ig::chain::bft::testing {
namespace {

using sim::Simulation;

uint64_t file_size_or_zero(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

struct Run {
  bool decided = false;
  bool signed_after = false;  // the victim signed again after its restart (at height 4 or later)
  size_t reused = 0;          // signatures its signer handed out twice for the same request
  size_t crashes = 0;
  std::string point;
  std::vector<std::string> problems;
};

// Runs heights 1..5; the victim dies after its `crash_at`-th durable write (0: never). Returns
// the number of write points the victim went through (when crash_at is 0) in `writes`.
Run run_once(size_t victim, size_t crash_at, bool torn, size_t* writes = nullptr) {
  TempDir dir;
  sim::Options o;
  o.dir = dir.path();
  Simulation s(o);
  size_t count = 0;
  uint64_t last_wal_size = 0;
  Run run;
  s.set_hook([&](size_t node, std::string_view point) {
    if (node != victim) return true;
    ++count;
    const std::string wal = s.wal_path(victim);
    if (count == crash_at) {
      run.point = std::string(point);
      if (torn && point == "wal.sync") {
        // Tear the last write: keep only part of what this sync wrote.
        const uint64_t now_size = file_size_or_zero(wal);
        if (now_size > last_wal_size + 1) {
          const uint64_t cut = last_wal_size + (now_size - last_wal_size) / 2;
          EXPECT_EQ(::truncate(wal.c_str(), static_cast<off_t>(cut)), 0);
        }
      }
      return false;
    }
    if (point == "wal.sync") last_wal_size = file_size_or_zero(wal);
    return true;
  });
  s.start();
  run.decided = s.run_until_height(5, 120'000);
  run.crashes = s.crashes();
  std::map<std::tuple<uint64_t, uint32_t, int>, Signature> seen;
  for (const auto& r : s.signatures(victim)) {
    run.signed_after |= r.height >= 4;
    auto [it, fresh] = seen.emplace(std::tuple<uint64_t, uint32_t, int>{r.height, r.round, static_cast<int>(r.step)}, r.signature);
    if (!fresh && it->second == r.signature) ++run.reused;
  }
  for (const auto& v : s.check_safety()) run.problems.push_back(v.what);
  for (size_t i = 0; i < s.size(); ++i)
    for (const auto& e : s.evidence(i))
      if (e.a.validator == s.key(victim).public_key()) run.problems.push_back("evidence against the victim");
  if (writes) *writes = count;
  return run;
}

void crash_everywhere(size_t victim) {
  size_t writes = 0;
  Run clean = run_once(victim, 0, false, &writes);
  ASSERT_TRUE(clean.decided);
  ASSERT_TRUE(clean.problems.empty()) << clean.problems[0];
  ASSERT_GT(writes, 10u);
  size_t runs = 0, reused = 0;
  for (size_t k = 1; k <= writes; ++k) {
    for (bool torn : {false, true}) {
      Run r = run_once(victim, k, torn);
      ++runs;
      EXPECT_EQ(r.crashes, 1u) << "write " << k;
      EXPECT_TRUE(r.signed_after) << "write " << k;
      reused += r.reused > 0;
      EXPECT_TRUE(r.decided) << "victim " << victim << " crashed after write " << k << " (" << r.point << ")"
                             << (torn ? ", torn" : "");
      for (const auto& p : r.problems)
        ADD_FAILURE() << "victim " << victim << " crashed after write " << k << " (" << r.point << ")"
                      << (torn ? ", torn" : "") << ": " << p;
    }
  }
  ::testing::Test::RecordProperty("crash_runs", static_cast<int>(runs));
  std::cout << "victim " << victim << ": " << writes << " write points, " << runs << " crash runs, " << reused
            << " of them re-signed a message by returning the stored signature\n";
}

ProposerSchedule schedule() {
  return ProposerSchedule(*ValidatorSet::make(Simulation(sim::Options{}).validators()));
}

TEST(BftCrash, TheFirstProposerCrashedAtEveryWritePoint) {
  crash_everywhere(schedule().proposer(1, 0));
}

TEST(BftCrash, AVoterCrashedAtEveryWritePoint) {
  auto sched = schedule();
  size_t voter = 0;
  while (voter == sched.proposer(1, 0) || voter == sched.proposer(2, 0)) ++voter;
  crash_everywhere(voter);
}

}  // namespace
}  // namespace ig::chain::bft::testing
