// The WAL: CRC32C framing, every record kind round-trips, a torn tail is found and cut at every
// possible byte, corruption stops the scan, heights are read back in order, compaction.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "chain/consensus/wal.hpp"
#include "tests/chain/consensus/helpers.hpp"

namespace ig::chain::bft::testing {
namespace {

std::vector<WalEntry> sample_entries(uint64_t h) {
  const auto k = test_key(0);
  std::vector<WalEntry> es;
  es.push_back(WalProposal{signed_proposal(k, h, 0, -1, make_block(h, 1)), true});
  es.push_back(WalVote{signed_vote(k, kPrevote, h, 0, Hash{})});
  es.push_back(WalTimeout{TimeoutRequest{h, 2, Step::kPrecommit, 1500}});
  es.push_back(WalOwnBlock{make_block(h, 2)});
  WalSignature s{h, 1, SignStep::kPrecommit, sha256(view(std::string("x"))), {}};
  s.signature[5] = 9;
  es.push_back(s);
  return es;
}

TEST(BftWal, Crc32cKnownAnswer) {
  const std::string s = "123456789";
  EXPECT_EQ(crc32c(view(s)), 0xE3069283u);
  EXPECT_EQ(crc32c(ByteView()), 0u);
  // Incremental equals one-shot.
  EXPECT_EQ(crc32c(ByteView(reinterpret_cast<const uint8_t*>(s.data()) + 4, 5),
                   crc32c(ByteView(reinterpret_cast<const uint8_t*>(s.data()), 4))),
            0xE3069283u);
}

TEST(BftWal, EntriesRoundTrip) {
  for (const auto& e : sample_entries(4)) {
    auto back = decode_entry(encode_entry(e));
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_TRUE(*back == e);
    EXPECT_EQ(entry_height(*back), 4u);
  }
  Bytes bad = encode_entry(WalEndHeight{3});
  bad.push_back(0);
  EXPECT_FALSE(decode_entry(bad));
  bad = encode_entry(sample_entries(4)[1]);
  bad[1] = 9;  // record height no longer matches the vote's
  EXPECT_FALSE(decode_entry(bad));
}

TEST(BftWal, ReadsBackTheRecordsOfOneHeightInOrder) {
  TempDir dir;
  auto wal = Wal::open(dir.sub("wal"));
  ASSERT_TRUE(wal);
  for (const auto& e : sample_entries(1)) ASSERT_TRUE((*wal)->append(e));
  ASSERT_TRUE((*wal)->end_height(1));
  const auto es2 = sample_entries(2);
  for (const auto& e : es2) ASSERT_TRUE((*wal)->append(e));
  ASSERT_TRUE((*wal)->sync());
  auto two = (*wal)->read_height(2);
  ASSERT_TRUE(two);
  ASSERT_EQ(two->size(), es2.size());
  for (size_t i = 0; i < two->size(); ++i) EXPECT_TRUE((*two)[i] == es2[i]) << i;
  wal->reset();
  auto again = Wal::open(dir.sub("wal"));
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->truncated_bytes(), 0u);
  EXPECT_EQ((*again)->read_height(1)->size(), sample_entries(1).size());
}

TEST(BftWal, UnsyncedRecordsAreLostLikeInACrash) {
  TempDir dir;
  {
    auto wal = Wal::open(dir.sub("wal"));
    ASSERT_TRUE((*wal)->append(sample_entries(1)[0]));
    ASSERT_TRUE((*wal)->sync());
    ASSERT_TRUE((*wal)->append(sample_entries(1)[1]));  // never synced
  }
  auto wal = Wal::open(dir.sub("wal"));
  EXPECT_EQ((*wal)->read_height(1)->size(), 1u);
}

TEST(BftWal, ATornTailIsTruncatedAtEveryPossibleByte) {
  TempDir dir;
  const std::string path = dir.sub("wal");
  uint64_t before_last = 0, full = 0;
  {
    auto wal = Wal::open(path);
    auto es = sample_entries(1);
    for (size_t i = 0; i + 1 < es.size(); ++i) ASSERT_TRUE((*wal)->append(es[i]));
    ASSERT_TRUE((*wal)->sync());
    before_last = (*wal)->synced_size();
    ASSERT_TRUE((*wal)->append(es.back()));
    ASSERT_TRUE((*wal)->sync());
    full = (*wal)->synced_size();
  }
  Bytes original = *read_file(path, 1 << 20);
  for (uint64_t cut = before_last; cut < full; ++cut) {
    ASSERT_TRUE(write_file_atomic(path, ByteView(original.data(), cut), false));
    auto wal = Wal::open(path);
    ASSERT_TRUE(wal) << wal.error().to_string();
    EXPECT_EQ((*wal)->truncated_bytes(), cut - before_last) << "cut " << cut;
    EXPECT_EQ((*wal)->read_height(1)->size(), sample_entries(1).size() - 1) << "cut " << cut;
    EXPECT_EQ(std::filesystem::file_size(path), before_last);
    // Appending after the cut works and the new record is read back.
    ASSERT_TRUE((*wal)->append(WalEndHeight{1}));
    ASSERT_TRUE((*wal)->sync());
  }
}

TEST(BftWal, CorruptionStopsTheScanThere) {
  TempDir dir;
  const std::string path = dir.sub("wal");
  uint64_t first_end = 0;
  {
    auto wal = Wal::open(path);
    auto es = sample_entries(1);
    ASSERT_TRUE((*wal)->append(es[1]));
    ASSERT_TRUE((*wal)->sync());
    first_end = (*wal)->synced_size();
    ASSERT_TRUE((*wal)->append(es[2]));
    ASSERT_TRUE((*wal)->sync());
  }
  Bytes b = *read_file(path, 1 << 20);
  b[first_end + 10] ^= 0x40;  // a payload bit of the second record
  ASSERT_TRUE(write_file_atomic(path, b, false));
  auto wal = Wal::open(path);
  ASSERT_TRUE(wal);
  EXPECT_EQ((*wal)->truncated_bytes(), b.size() - first_end);
  EXPECT_EQ((*wal)->read_height(1)->size(), 1u);
}

TEST(BftWal, CompactionKeepsOnlyWhatReplayNeeds) {
  TempDir dir;
  Wal::Options o;
  o.compact_above_bytes = 1000;
  auto wal = Wal::open(dir.sub("wal"), o);
  for (uint64_t h = 1; h <= 3; ++h) {
    for (const auto& e : sample_entries(h)) ASSERT_TRUE((*wal)->append(e));
    ASSERT_TRUE((*wal)->end_height(h));
  }
  EXPECT_LT((*wal)->file_size(), 100u);
  EXPECT_TRUE((*wal)->read_height(3)->empty());
  for (const auto& e : sample_entries(4)) ASSERT_TRUE((*wal)->append(e));
  ASSERT_TRUE((*wal)->sync());
  EXPECT_EQ((*wal)->read_height(4)->size(), sample_entries(4).size());
}

TEST(BftWal, GarbageFilesOpenAsEmptyAfterTruncation) {
  TempDir dir;
  uint64_t x = 99;
  for (int i = 0; i < 200; ++i) {
    Bytes junk(1 + i * 7);
    for (auto& b : junk) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      b = static_cast<uint8_t>(x >> 56);
    }
    ASSERT_TRUE(write_file_atomic(dir.sub("wal"), junk, false));
    auto wal = Wal::open(dir.sub("wal"));
    ASSERT_TRUE(wal);
    EXPECT_EQ((*wal)->truncated_bytes(), junk.size());
    EXPECT_TRUE((*wal)->read_height(1)->empty());
  }
}

TEST(BftWal, AnInjectedCrashStopsTheLog) {
  TempDir dir;
  Wal::Options o;
  o.hook = [](std::string_view) { return false; };
  auto wal = Wal::open(dir.sub("wal"), o);
  ASSERT_TRUE((*wal)->append(WalEndHeight{1}));
  EXPECT_EQ((*wal)->sync().error().code, "crash.injected");
  EXPECT_EQ((*wal)->append(WalEndHeight{2}).error().code, "wal.dead");
}

}  // namespace
}  // namespace ig::chain::bft::testing
