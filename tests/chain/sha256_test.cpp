// common/sha256 reuses OpenSSL contexts per thread (common/sha256.cpp): these check that
// reuse never mixes two hashes' states. FIPS 180-2 vectors, hashers nested and interleaved on
// one thread, a hasher finished on another thread than made it, and threads hashing at once.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/sha256.hpp"
#include "tests/chain/fixtures.hpp"

namespace ig::testing {
namespace {

std::string hex(const Hash32& h) { return to_hex(h); }
std::span<const uint8_t> bytes_of(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// FIPS 180-2, appendix B.
const std::string kAbc = "abc";
const std::string kAbcDigest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const std::string kTwoBlock = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
const std::string kTwoBlockDigest = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
const std::string kEmptyDigest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(Sha256, StandardVectorsOneShotAndIncremental) {
  for (int round = 0; round < 3; ++round) {  // later rounds run on reused contexts
    EXPECT_EQ(hex(sha256(bytes_of(kAbc))), kAbcDigest);
    EXPECT_EQ(hex(sha256(bytes_of(kTwoBlock))), kTwoBlockDigest);
    EXPECT_EQ(hex(sha256(bytes_of(""))), kEmptyDigest);
    EXPECT_EQ(hex(sha256(bytes_of("ab"), bytes_of("c"))), kAbcDigest);
    Sha256 s;
    for (char c : kTwoBlock) s.update(bytes_of(std::string(1, c)));
    EXPECT_EQ(hex(s.finish()), kTwoBlockDigest);
  }
}

TEST(Sha256, NestedAndInterleavedHashersKeepTheirOwnState) {
  // More hashers alive at once than the per-thread cache keeps, fed in turns, with one-shot
  // hashes (which take a context too) in between.
  constexpr int kAlive = 12;
  std::vector<std::unique_ptr<Sha256>> hashers;
  for (int i = 0; i < kAlive; ++i) hashers.push_back(std::make_unique<Sha256>());
  for (size_t pos = 0; pos < kTwoBlock.size(); ++pos)
    for (int i = 0; i < kAlive; ++i) {
      const std::string& msg = i % 2 ? kTwoBlock : kAbc;
      if (pos < msg.size()) hashers[i]->update(bytes_of(msg.substr(pos, 1)));
      ASSERT_EQ(hex(sha256(bytes_of(kAbc))), kAbcDigest);
    }
  for (int i = 0; i < kAlive; ++i) EXPECT_EQ(hex(hashers[i]->finish()), i % 2 ? kTwoBlockDigest : kAbcDigest) << i;
  hashers.clear();  // contexts go back to the cache mid-state; the next hashes must not see it
  EXPECT_EQ(hex(sha256(bytes_of(kTwoBlock))), kTwoBlockDigest);
  Sha256 fresh;
  EXPECT_EQ(hex(fresh.finish()), kEmptyDigest);
}

TEST(Sha256, AHasherMayBeFinishedAndDroppedOnAnotherThread) {
  auto s = std::make_unique<Sha256>();
  s->update(bytes_of("ab"));
  std::string got;
  std::thread([&] {
    s->update(bytes_of("c"));
    got = hex(s->finish());
    s.reset();  // its context joins this thread's cache, which is freed when the thread ends
    EXPECT_EQ(hex(sha256(bytes_of(kTwoBlock))), kTwoBlockDigest);
  }).join();
  EXPECT_EQ(got, kAbcDigest);
  EXPECT_EQ(hex(sha256(bytes_of(kAbc))), kAbcDigest);
}

TEST(Sha256, ThreadsHashingAtOnceGiveTheSameDigestsAsOne) {
  constexpr size_t kInputs = 4000;
  std::vector<std::string> inputs;
  for (size_t i = 0; i < kInputs; ++i) inputs.push_back(std::string(i % 300, static_cast<char>('a' + i % 26)) + std::to_string(i));
  std::vector<Hash32> expected;
  for (const auto& in : inputs) expected.push_back(sha256(bytes_of(in)));
  constexpr int kThreads = 4;
  std::vector<std::vector<Hash32>> got(kThreads, std::vector<Hash32>(kInputs));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < kInputs; ++i) {
        Sha256 s;  // split at a thread-dependent point, so threads differ in how they feed it
        const std::string& in = inputs[(i + t * 997) % kInputs];
        const size_t cut = std::min(in.size(), static_cast<size_t>(t * 37));
        s.update(bytes_of(in.substr(0, cut))).update(bytes_of(in.substr(cut)));
        got[t][(i + t * 997) % kInputs] = s.finish();
      }
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t)
    for (size_t i = 0; i < kInputs; ++i) ASSERT_EQ(got[t][i], expected[i]) << "thread " << t << " input " << i;
}

}  // namespace
}  // namespace ig::testing
