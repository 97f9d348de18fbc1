// The LMDB store on real temp directories: commit, close, reopen; rejection of a block at
// the wrong height (leaving everything as it was); map growth; genesis only once.
#include <gtest/gtest.h>
#include <lmdb.h>

#include <fstream>
#include <map>
#include <optional>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>
#include <chrono>
#include <thread>

#include "tests/chain/fixtures.hpp"

namespace ig::testing {
namespace {

struct StoredBlock {
  Block block;
  Commit commit;
  std::vector<Receipt> receipts;
  WriteSet writes;
};

Bytes key(const std::string& s) { return state_key(StatePrefix::kBank, view(s)); }
Bytes val(const std::string& s) { return Bytes(s.begin(), s.end()); }

// A block with real signed transactions, a signed commit, one receipt per transaction and
// the given state writes. The store does not re-execute, so the roots only need to be stable.
StoredBlock make_block(uint64_t height, const Hash& prev, size_t ntx, WriteSet writes) {
  TestKeys k;
  StoredBlock sb;
  sb.block.header.chain_id = kChainId;
  sb.block.header.height = height;
  sb.block.header.time_ms = 1000 * height;
  sb.block.header.prev_hash = prev;
  sb.block.header.proposer = k.validator.public_key();
  for (size_t i = 0; i < ntx; ++i)
    sb.block.txs.push_back(make_transfer(k.alice, height * 100 + i, k.bob.public_key(), i + 1));
  sb.block.header.tx_root = tx_root(sb.block.txs);
  for (size_t i = 0; i < ntx; ++i) {
    Receipt r;
    r.tx_hash = tx_hash(sb.block.txs[i]);
    r.height = height;
    r.index = static_cast<uint32_t>(i);
    r.code = i % 2 ? TxCode::kInsufficientFunds : TxCode::kOk;
    r.fee_paid = 2000;
    r.events.push_back(Event{"transfer", {{"amount", std::to_string(i + 1)}}});
    sb.receipts.push_back(r);
  }
  sb.block.header.receipts_root = receipts_root(sb.receipts);
  sb.writes = std::move(writes);
  sb.block.header.state_root = next_state_root(prev, sb.writes);
  sb.commit = sign_commit(k.validator, sb.block);
  return sb;
}

Status commit(Store& s, const StoredBlock& sb) {
  return s.commit_block(BlockCommit{&sb.block, &sb.commit, &sb.receipts, &sb.writes});
}

std::unique_ptr<Store> open_store(const std::string& path, size_t map = 64u << 20) {
  auto s = Store::open(StoreConfig{path, map, true});
  if (!s) throw std::runtime_error(s.error().to_string());
  return std::move(*s);
}

void write_test_genesis(Store& s) {
  WriteSet g{{key("k1"), val("genesis-1")}, {key("k2"), val("genesis-2")}};
  ASSERT_TRUE(s.write_genesis(kChainId, hash_of("genesis"), g, hash_of("genesis-root")));
}

// Everything about `sb` is readable from `s` exactly as it was written.
void expect_block_stored(const Store& s, const StoredBlock& sb) {
  const uint64_t h = sb.block.header.height;
  auto b = s.block_at(h);
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->has_value()) << "no block at " << h;
  EXPECT_EQ(**b, sb.block);
  EXPECT_EQ(s.height_of(block_hash(sb.block.header)), h);
  auto c = s.commit_at(h);
  ASSERT_TRUE(c && c->has_value());
  EXPECT_EQ(**c, sb.commit);
  for (size_t i = 0; i < sb.block.txs.size(); ++i) {
    Hash th = tx_hash(sb.block.txs[i]);
    auto loc = s.tx_location(th);
    ASSERT_TRUE(loc);
    EXPECT_EQ(loc->height, h);
    EXPECT_EQ(loc->index, i);
    auto r = s.receipt(th);
    ASSERT_TRUE(r && r->has_value());
    EXPECT_EQ(**r, sb.receipts[i]);
  }
}

TEST(ChainStore, EmptyStoreHasNothing) {
  TempDir dir;
  auto s = open_store(dir.sub("db"));
  EXPECT_FALSE(s->head());
  EXPECT_FALSE(s->chain_id());
  EXPECT_FALSE(s->genesis_hash());
  auto b = s->block_at(1);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->has_value());
  EXPECT_FALSE(s->latest().get(key("k1")));
}

TEST(ChainStore, CommitCloseReopenKeepsEverything) {
  TempDir dir;
  std::vector<StoredBlock> blocks;
  {
    auto s = open_store(dir.sub("db"));
    write_test_genesis(*s);
    Hash prev = hash_of("genesis");
    blocks.push_back(make_block(1, prev, 3, {{key("k3"), val("one")}}));
    blocks.push_back(make_block(2, block_hash(blocks[0].block.header), 0, {{key("k1"), std::nullopt}}));
    blocks.push_back(make_block(3, block_hash(blocks[1].block.header), 5, {{key("k2"), val("three")}, {key("k4"), val("")}}));
    for (const auto& b : blocks) ASSERT_TRUE(commit(*s, b));
  }
  auto s = open_store(dir.sub("db"));
  auto head = s->head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->height, 3u);
  EXPECT_EQ(head->hash, block_hash(blocks[2].block.header));
  EXPECT_EQ(head->state_root, blocks[2].block.header.state_root);
  EXPECT_EQ(s->chain_id(), std::string(kChainId));
  EXPECT_EQ(s->genesis_hash(), hash_of("genesis"));
  EXPECT_EQ(s->genesis_state_root(), hash_of("genesis-root"));
  for (const auto& b : blocks) expect_block_stored(*s, b);
  auto none = s->block_at(4);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  EXPECT_FALSE(s->height_of(hash_of("nope")));
  EXPECT_FALSE(s->tx_location(hash_of("nope")));

  const StateReader& st = s->latest();
  EXPECT_FALSE(st.get(key("k1")));  // deleted at height 2
  EXPECT_EQ(st.get(key("k2")), val("three"));
  EXPECT_EQ(st.get(key("k3")), val("one"));
  EXPECT_EQ(st.get(key("k4")), val(""));  // an empty value is present, not absent
  std::vector<Bytes> keys;
  st.scan(state_key(StatePrefix::kBank, {}), [&](ByteView k, ByteView) {
    keys.emplace_back(k.begin(), k.end());
    return true;
  });
  EXPECT_EQ(keys, (std::vector<Bytes>{key("k2"), key("k3"), key("k4")}));
}

TEST(ChainStore, WrongHeightIsRejectedAndChangesNothing) {
  TempDir dir;
  auto s = open_store(dir.sub("db"));
  write_test_genesis(*s);
  StoredBlock b1 = make_block(1, hash_of("genesis"), 2, {{key("k1"), val("b1")}});
  ASSERT_TRUE(commit(*s, b1));
  Head before = *s->head();

  StoredBlock skip = make_block(3, block_hash(b1.block.header), 2, {{key("k1"), val("skip")}, {key("k9"), val("x")}});
  StoredBlock again = make_block(1, hash_of("genesis"), 1, {{key("k1"), val("again")}});
  StoredBlock zero = make_block(0, hash_of("genesis"), 1, {{key("k1"), val("zero")}});
  for (const StoredBlock* bad : {&skip, &again, &zero}) {
    auto st = commit(*s, *bad);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, "store.height");
    Head after = *s->head();
    EXPECT_EQ(after.height, before.height);
    EXPECT_EQ(after.hash, before.hash);
    EXPECT_EQ(after.state_root, before.state_root);
    EXPECT_EQ(s->latest().get(key("k1")), val("b1"));
    EXPECT_FALSE(s->latest().get(key("k9")));
    for (const auto& tx : bad->block.txs) EXPECT_FALSE(s->tx_location(tx_hash(tx)));
    EXPECT_FALSE(s->height_of(block_hash(bad->block.header)));
  }
  auto b3 = s->block_at(3);
  ASSERT_TRUE(b3);
  EXPECT_FALSE(b3->has_value());
  expect_block_stored(*s, b1);
}

TEST(ChainStore, GenesisIsWrittenOnlyOnce) {
  TempDir dir;
  auto s = open_store(dir.sub("db"));
  write_test_genesis(*s);
  auto st = s->write_genesis("other-chain", hash_of("other"), {{key("k1"), val("evil")}}, hash_of("x"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "store.not_empty");
  EXPECT_EQ(s->chain_id(), std::string(kChainId));
  EXPECT_EQ(s->genesis_hash(), hash_of("genesis"));
  EXPECT_EQ(s->latest().get(key("k1")), val("genesis-1"));
  EXPECT_EQ(s->head()->height, 0u);
  EXPECT_EQ(s->head()->state_root, hash_of("genesis-root"));
}

TEST(ChainStore, MapGrowsFromOneMebibyte) {
  TempDir dir;
  const size_t kInitial = 1u << 20;
  const int kBlocks = 24;
  const int kKeysPerBlock = 64;
  const Bytes big(4096, 0xAB);  // 64 × 4 KiB = 256 KiB of state per block, ~6 MiB in all
  std::vector<StoredBlock> blocks;
  {
    auto s = open_store(dir.sub("db"), kInitial);
    write_test_genesis(*s);
    Hash prev = hash_of("genesis");
    for (int h = 1; h <= kBlocks; ++h) {
      WriteSet w;
      for (int i = 0; i < kKeysPerBlock; ++i) {
        Bytes v = big;
        v[0] = static_cast<uint8_t>(h);
        v[1] = static_cast<uint8_t>(i);
        w[key("big-" + std::to_string(h) + "-" + std::to_string(i))] = v;
      }
      blocks.push_back(make_block(h, prev, 4, std::move(w)));
      ASSERT_TRUE(commit(*s, blocks.back())) << "height " << h;
      prev = block_hash(blocks.back().block.header);
    }
    EXPECT_GE(s->map_bytes(), 8 * kInitial) << "the map should have doubled at least three times";
    EXPECT_EQ(s->head()->height, static_cast<uint64_t>(kBlocks));
  }
  // Reopening with the tiny initial size still maps the whole (grown) file.
  auto s = open_store(dir.sub("db"), kInitial);
  EXPECT_EQ(s->head()->height, static_cast<uint64_t>(kBlocks));
  for (const auto& b : blocks) expect_block_stored(*s, b);
  for (int h = 1; h <= kBlocks; h += 7) {
    auto v = s->latest().get(key("big-" + std::to_string(h) + "-63"));
    ASSERT_TRUE(v);
    ASSERT_EQ(v->size(), big.size());
    EXPECT_EQ((*v)[0], h);
    EXPECT_EQ((*v)[1], 63);
  }
  // And it keeps growing after the reopen.
  WriteSet w;
  for (int i = 0; i < 256; ++i) w[key("after-" + std::to_string(i))] = big;
  StoredBlock next = make_block(kBlocks + 1, block_hash(blocks.back().block.header), 1, std::move(w));
  ASSERT_TRUE(commit(*s, next));
  expect_block_stored(*s, next);
  EXPECT_EQ(s->latest().get(key("after-255")), big);
}

TEST(ChainStore, SnapshotIsPinnedWhileLatestMovesOn) {
  TempDir dir;
  auto s = open_store(dir.sub("db"));
  write_test_genesis(*s);
  StoredBlock b1 = make_block(1, hash_of("genesis"), 0, {{key("k1"), val("v1")}});
  ASSERT_TRUE(commit(*s, b1));
  auto snap = s->snapshot();
  StoredBlock b2 = make_block(2, block_hash(b1.block.header), 0, {{key("k1"), val("v2")}, {key("k5"), val("new")}});
  ASSERT_TRUE(commit(*s, b2));
  EXPECT_EQ(snap->get(key("k1")), val("v1"));
  EXPECT_FALSE(snap->get(key("k5")));
  EXPECT_EQ(s->latest().get(key("k1")), val("v2"));
  EXPECT_EQ(s->latest().get(key("k5")), val("new"));
}

// A child process commits blocks as fast as it can (durable) and is killed with SIGKILL at
// an arbitrary moment. The reopened store must hold a prefix of the chain: every block up to
// the head complete (block, commit, receipts, tx index, state), nothing of the next one.
TEST(ChainStore, KillNineDuringCommitsLeavesNoPartialBlock) {
  for (int trial = 0; trial < 3; ++trial) {
    TempDir dir;
    const std::string path = dir.sub("db");
    { write_test_genesis(*open_store(path, 1u << 20)); }  // small map: growth happens under the kill too
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto s = Store::open(StoreConfig{path, 1u << 20, true});
      if (!s) _exit(2);
      Hash prev = hash_of("genesis");
      for (uint64_t h = 1; h < 100000; ++h) {
        WriteSet w{{key("last"), val(std::to_string(h))}, {key("b-" + std::to_string(h)), Bytes(16384, uint8_t(h))}};
        StoredBlock b = make_block(h, prev, 3, std::move(w));
        if (!commit(**s, b)) _exit(3);
        prev = block_hash(b.block.header);
      }
      _exit(0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + 120 * trial));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited on its own with status " << status;

    auto s = open_store(path, 1u << 20);
    auto head = s->head();
    ASSERT_TRUE(head);
    const uint64_t n = head->height;
    ASSERT_GE(n, 1u) << "no block was committed before the kill (trial " << trial << ")";
    RecordProperty("blocks_before_kill_" + std::to_string(trial), std::to_string(n));
    EXPECT_EQ(s->latest().get(key("last")), val(std::to_string(n)));
    EXPECT_TRUE(s->latest().get(key("b-" + std::to_string(n))));
    EXPECT_FALSE(s->latest().get(key("b-" + std::to_string(n + 1))));
    auto next = s->block_at(n + 1);
    ASSERT_TRUE(next);
    EXPECT_FALSE(next->has_value());
    EXPECT_FALSE(s->commit_at(n + 1)->has_value());
    Hash prev = hash_of("genesis");
    for (uint64_t h = 1; h <= n; ++h) {
      auto b = s->block_at(h);
      ASSERT_TRUE(b && b->has_value()) << "block " << h << " of " << n;
      EXPECT_EQ((*b)->header.prev_hash, prev);
      EXPECT_EQ(s->height_of(block_hash((*b)->header)), h);
      ASSERT_TRUE(s->commit_at(h)->has_value());
      for (const auto& tx : (*b)->txs) {
        auto loc = s->tx_location(tx_hash(tx));
        ASSERT_TRUE(loc);
        EXPECT_EQ(loc->height, h);
        EXPECT_TRUE(s->receipt(tx_hash(tx))->has_value());
      }
      prev = block_hash((*b)->header);
    }
    EXPECT_EQ(prev, head->hash);
    // And the chain continues from where it stopped.
    StoredBlock more = make_block(n + 1, prev, 1, {{key("last"), val(std::to_string(n + 1))}});
    ASSERT_TRUE(commit(*s, more));
    expect_block_stored(*s, more);
  }
}

TEST(ChainStore, OpenFailsClearlyOnAPathThatIsAFile) {
  TempDir dir;
  std::string file = dir.sub("file");
  { std::ofstream(file) << "not a directory"; }
  auto s = Store::open(StoreConfig{file, 1u << 20, true});
  ASSERT_FALSE(s);
  EXPECT_FALSE(s.error().message.empty());
}

// Raw LMDB on a closed store, to write what another build would have written.
class RawStore {
 public:
  explicit RawStore(const std::string& path) {
    EXPECT_EQ(mdb_env_create(&env_), MDB_SUCCESS);
    mdb_env_set_maxdbs(env_, 16);
    EXPECT_EQ(mdb_env_open(env_, path.c_str(), 0, 0600), MDB_SUCCESS);
    EXPECT_EQ(mdb_txn_begin(env_, nullptr, 0, &txn_), MDB_SUCCESS);
  }
  ~RawStore() {
    if (txn_) {
      EXPECT_EQ(mdb_txn_commit(txn_), MDB_SUCCESS);
    }
    mdb_env_close(env_);
  }
  // The table's handle; 0 when it does not exist and `create` is false.
  MDB_dbi table(const char* name, bool create = false) {
    MDB_dbi dbi = 0;
    return mdb_dbi_open(txn_, name, create ? MDB_CREATE : 0, &dbi) == MDB_SUCCESS ? dbi : 0;
  }
  std::vector<std::pair<Bytes, Bytes>> entries(MDB_dbi dbi) {
    std::vector<std::pair<Bytes, Bytes>> out;
    MDB_cursor* cur = nullptr;
    EXPECT_EQ(mdb_cursor_open(txn_, dbi, &cur), MDB_SUCCESS);
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
      out.emplace_back(Bytes(static_cast<uint8_t*>(k.mv_data), static_cast<uint8_t*>(k.mv_data) + k.mv_size),
                       Bytes(static_cast<uint8_t*>(v.mv_data), static_cast<uint8_t*>(v.mv_data) + v.mv_size));
    mdb_cursor_close(cur);
    return out;
  }
  void put(MDB_dbi dbi, ByteView key, ByteView value) {
    MDB_val k{key.size(), const_cast<uint8_t*>(key.data())}, v{value.size(), const_cast<uint8_t*>(value.data())};
    ASSERT_EQ(mdb_put(txn_, dbi, &k, &v, 0), MDB_SUCCESS);
  }
  void del(MDB_dbi dbi, ByteView key) {
    MDB_val k{key.size(), const_cast<uint8_t*>(key.data())};
    ASSERT_EQ(mdb_del(txn_, dbi, &k, nullptr), MDB_SUCCESS);
  }
  std::optional<Bytes> get(MDB_dbi dbi, ByteView key) {
    MDB_val k{key.size(), const_cast<uint8_t*>(key.data())}, v;
    if (mdb_get(txn_, dbi, &k, &v) != MDB_SUCCESS) return std::nullopt;
    return Bytes(static_cast<uint8_t*>(v.mv_data), static_cast<uint8_t*>(v.mv_data) + v.mv_size);
  }

 private:
  MDB_env* env_ = nullptr;
  MDB_txn* txn_ = nullptr;
};

const Bytes kFormatKey = val("store_format");

// Sets (or, with nullopt, deletes) the layout byte of a closed store.
void set_store_format(const std::string& path, std::optional<uint8_t> format) {
  RawStore raw(path);
  MDB_dbi meta = raw.table("meta");
  if (format) raw.put(meta, kFormatKey, ByteView(&*format, 1));
  else raw.del(meta, kFormatKey);
}

// Rewrites a closed layout-2 store as layout 1 wrote it: receipts keyed by tx hash in
// "receipts", the tx index holding the codec's little-endian (height u64, index u32), no
// layout byte. With `every_other`, only every other receipt goes back: a migration cut short.
void write_as_layout_1(const std::string& path, bool every_other = false) {
  RawStore raw(path);
  MDB_dbi txs = raw.table("txs"), moved = raw.table("receipts_by_location"), old = raw.table("receipts", true);
  std::map<Bytes, Bytes> hash_at;  // location key -> tx hash
  for (auto& [hash, loc] : raw.entries(txs)) hash_at[loc] = hash;
  size_t k = 0;
  for (auto& [loc, receipt] : raw.entries(moved)) {
    if (every_other && k++ % 2) continue;
    const Bytes& hash = hash_at.at(loc);
    uint64_t height = 0;
    uint32_t index = 0;
    for (int i = 0; i < 8; ++i) height = height << 8 | loc[i];
    for (int i = 8; i < 12; ++i) index = index << 8 | loc[i];
    Writer le;
    le.u64(height);
    le.u32(index);
    raw.put(txs, hash, le.data());
    raw.put(old, hash, receipt);
    raw.del(moved, loc);
  }
  raw.del(raw.table("meta"), kFormatKey);
}

TEST(ChainStore, AStoreInAnotherLayoutIsRefusedAndLeftIntact) {
  TempDir dir;
  StoredBlock block = make_block(1, hash_of("genesis"), 4, {{key("k3"), val("one")}});
  {
    auto s = open_store(dir.sub("db"));
    write_test_genesis(*s);
    ASSERT_TRUE(commit(*s, block));
  }
  for (uint8_t other : {uint8_t{0}, uint8_t{3}}) {
    set_store_format(dir.sub("db"), other);
    auto refused = Store::open(StoreConfig{dir.sub("db"), 64u << 20, true});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, "store.format");
    EXPECT_NE(refused.error().message.find("layout " + std::to_string(other)), std::string::npos)
        << refused.error().message;
  }
  // Refusing wrote nothing: with its own layout back, the store has the block as committed.
  set_store_format(dir.sub("db"), 2);
  auto s = open_store(dir.sub("db"));
  expect_block_stored(*s, block);
}

// Blocks 1..n with 0..4 transactions each (some empty), committed to a fresh store at `path`.
void commit_chain(const std::string& path, uint64_t n, std::vector<StoredBlock>& blocks) {
  auto s = open_store(path, 1u << 20);
  write_test_genesis(*s);
  Hash prev = hash_of("genesis");
  for (uint64_t h = 1; h <= n; ++h) {
    blocks.push_back(make_block(h, prev, (h * 7) % 5, {{key("h"), val(std::to_string(h))}}));
    ASSERT_TRUE(commit(*s, blocks.back()));
    prev = block_hash(blocks.back().block.header);
  }
}

TEST(ChainStore, ALayout1StoreIsBroughtUpToDateAtOpen) {
  for (bool cut_short : {false, true}) {
    SCOPED_TRACE(cut_short ? "a migration cut short, resumed" : "a whole layout-1 store");
    TempDir dir;
    std::vector<StoredBlock> blocks;
    ASSERT_NO_FATAL_FAILURE(commit_chain(dir.sub("db"), 12, blocks));
    write_as_layout_1(dir.sub("db"), cut_short);
    {
      RawStore raw(dir.sub("db"));
      ASSERT_GT(raw.entries(raw.table("receipts")).size(), 5u);  // the old layout is really there
    }
    {
      auto s = open_store(dir.sub("db"), 1u << 20);
      for (const auto& b : blocks) expect_block_stored(*s, b);
      // Later blocks append after the moved receipts.
      blocks.push_back(make_block(13, block_hash(blocks.back().block.header), 3, {{key("h"), val("13")}}));
      ASSERT_TRUE(commit(*s, blocks.back()));
      expect_block_stored(*s, blocks.back());
    }
    RawStore raw(dir.sub("db"));
    EXPECT_EQ(raw.table("receipts"), 0u) << "the layout-1 table is dropped";
    EXPECT_EQ(raw.get(raw.table("meta"), kFormatKey), Bytes{2});
  }
}

TEST(ChainStore, ALayout1StoreWhoseIndexLacksAReceiptIsRefusedUnchanged) {
  TempDir dir;
  std::vector<StoredBlock> blocks;
  ASSERT_NO_FATAL_FAILURE(commit_chain(dir.sub("db"), 6, blocks));
  write_as_layout_1(dir.sub("db"));
  size_t receipts = 0;
  {
    RawStore raw(dir.sub("db"));
    auto old = raw.entries(raw.table("receipts"));
    receipts = old.size();
    ASSERT_GT(receipts, 2u);
    raw.del(raw.table("txs"), old[receipts / 2].first);
  }
  auto refused = Store::open(StoreConfig{dir.sub("db"), 1u << 20, true});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "store.corrupt");
  RawStore raw(dir.sub("db"));
  EXPECT_EQ(raw.entries(raw.table("receipts")).size(), receipts) << "nothing was moved";
  EXPECT_TRUE(raw.entries(raw.table("receipts_by_location")).empty());
  EXPECT_FALSE(raw.get(raw.table("meta"), kFormatKey));
}

TEST(ChainStore, ReceiptsAreFoundByHashAcrossManyBlocks) {
  // Receipts are appended by location; lookups by hash go through the tx index. Blocks of
  // varied sizes, some empty, and every receipt read back after a reopen.
  TempDir dir;
  std::vector<StoredBlock> blocks;
  ASSERT_NO_FATAL_FAILURE(commit_chain(dir.sub("db"), 12, blocks));
  auto s = open_store(dir.sub("db"), 1u << 20);
  for (const auto& b : blocks) expect_block_stored(*s, b);
  auto missing = s->receipt(hash_of("no such transaction"));
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

}  // namespace
}  // namespace ig::testing
