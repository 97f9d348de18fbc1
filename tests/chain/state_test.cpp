// The State overlay over committed state: reads, writes, deletes, merged scans, checkpoints,
// and the chained state root.
#include <gtest/gtest.h>

#include "tests/chain/fixtures.hpp"

namespace ig::testing {
namespace {

Bytes k(const std::string& s) { return state_key(StatePrefix::kBank, view(s)); }
Bytes v(const std::string& s) { return Bytes(s.begin(), s.end()); }

MapStateReader base_with(std::initializer_list<std::pair<std::string, std::string>> kvs) {
  MapStateReader m;
  for (const auto& [key, value] : kvs) m.entries[k(key)] = v(value);
  return m;
}

std::vector<std::pair<Bytes, Bytes>> scan_all(const State& s, ByteView prefix) {
  std::vector<std::pair<Bytes, Bytes>> out;
  s.scan(prefix, [&](ByteView key, ByteView value) {
    out.emplace_back(Bytes(key.begin(), key.end()), Bytes(value.begin(), value.end()));
    return true;
  });
  return out;
}

TEST(ChainState, KeysCarryTheModulePrefix) {
  Bytes key = state_key(StatePrefix::kStaking, view(std::string("ab")));
  EXPECT_EQ(key, (Bytes{0x03, 'a', 'b'}));
}

TEST(ChainState, OverlayReadsWritesAndDeletes) {
  MapStateReader base = base_with({{"a", "1"}, {"b", "2"}});
  State s(base);
  EXPECT_EQ(s.get(k("a")), v("1"));
  EXPECT_FALSE(s.get(k("z")));
  s.put(k("a"), v("10"));
  s.put(k("c"), v("3"));
  s.erase(k("b"));
  s.erase(k("never-existed"));
  EXPECT_EQ(s.get(k("a")), v("10"));
  EXPECT_EQ(s.get(k("c")), v("3"));
  EXPECT_FALSE(s.get(k("b")));
  EXPECT_EQ(base.entries.at(k("a")), v("1"));  // the base is never touched
  WriteSet expect{{k("a"), v("10")}, {k("b"), std::nullopt}, {k("c"), v("3")}, {k("never-existed"), std::nullopt}};
  EXPECT_EQ(s.writes(), expect);
  s.put(k("b"), v("back"));
  EXPECT_EQ(s.get(k("b")), v("back"));
}

TEST(ChainState, ScanMergesOverlayWithBaseInKeyOrder) {
  MapStateReader base = base_with({{"a", "1"}, {"c", "3"}, {"e", "5"}, {"g", "7"}});
  base.entries[state_key(StatePrefix::kChain, view(std::string("c")))] = v("other-module");
  State s(base);
  s.put(k("b"), v("2"));
  s.put(k("c"), v("30"));
  s.erase(k("e"));
  s.put(k("h"), v("8"));
  s.put(state_key(StatePrefix::kStaking, view(std::string("a"))), v("other-module"));
  auto all = scan_all(s, state_key(StatePrefix::kBank, {}));
  std::vector<std::pair<Bytes, Bytes>> expect = {
      {k("a"), v("1")}, {k("b"), v("2")}, {k("c"), v("30")}, {k("g"), v("7")}, {k("h"), v("8")}};
  EXPECT_EQ(all, expect);
  // Narrower prefix and early stop.
  s.put(k("ca"), v("x"));
  auto c_only = scan_all(s, k("c"));
  EXPECT_EQ(c_only, (std::vector<std::pair<Bytes, Bytes>>{{k("c"), v("30")}, {k("ca"), v("x")}}));
  int seen = 0;
  s.scan(state_key(StatePrefix::kBank, {}), [&](ByteView, ByteView) { return ++seen < 2; });
  EXPECT_EQ(seen, 2);
}

TEST(ChainState, RevertRestoresExactlyTheCheckpointedOverlay) {
  MapStateReader base = base_with({{"a", "1"}, {"b", "2"}});
  State s(base);
  s.put(k("a"), v("10"));
  const WriteSet at_cp1 = s.writes();
  size_t cp1 = s.checkpoint();
  s.put(k("a"), v("100"));
  s.erase(k("b"));
  s.put(k("new"), v("n"));
  size_t cp2 = s.checkpoint();
  s.erase(k("a"));
  s.put(k("new"), v("n2"));
  s.revert_to(cp2);
  EXPECT_EQ(s.get(k("a")), v("100"));
  EXPECT_EQ(s.get(k("new")), v("n"));
  EXPECT_FALSE(s.get(k("b")));
  s.revert_to(cp1);
  EXPECT_EQ(s.writes(), at_cp1);  // "new" is gone from the overlay, not recorded as deleted
  EXPECT_EQ(s.get(k("a")), v("10"));
  EXPECT_EQ(s.get(k("b")), v("2"));
  EXPECT_FALSE(s.get(k("new")));
  s.revert_to(0);
  EXPECT_TRUE(s.writes().empty());
  EXPECT_EQ(s.get(k("a")), v("1"));
  // Reverting to a later checkpoint than exists is a no-op.
  s.put(k("x"), v("x"));
  s.revert_to(100);
  EXPECT_EQ(s.get(k("x")), v("x"));
}

TEST(ChainState, ResetDropsEveryPendingWrite) {
  MapStateReader base = base_with({{"a", "1"}});
  State s(base);
  s.put(k("a"), v("2"));
  s.erase(k("a"));
  s.reset();
  EXPECT_TRUE(s.writes().empty());
  EXPECT_EQ(s.checkpoint(), 0u);
  EXPECT_EQ(s.get(k("a")), v("1"));
}

TEST(ChainState, StateRootIsDeterministicAndSensitive) {
  Hash prev = hash_of("prev");
  WriteSet w{{k("a"), v("1")}, {k("b"), std::nullopt}};
  EXPECT_EQ(next_state_root(prev, w), next_state_root(prev, WriteSet(w)));
  // The same writes made in another order give the same set, hence the same root.
  MapStateReader empty;
  State s1(empty), s2(empty);
  s1.put(k("a"), v("1"));
  s1.erase(k("b"));
  s2.erase(k("b"));
  s2.put(k("a"), v("1"));
  EXPECT_EQ(next_state_root(prev, s1.writes()), next_state_root(prev, s2.writes()));

  std::vector<WriteSet> variants = {
      {{k("a"), v("2")}, {k("b"), std::nullopt}},     // another value
      {{k("a"), v("1")}, {k("b"), v("")}},            // an empty value is not a deletion
      {{k("a"), v("1")}},                              // one write fewer
      {{k("a"), v("1")}, {k("c"), std::nullopt}},     // another key
      {{k("a1"), Bytes{}}, {k("b"), std::nullopt}},   // length prefixes keep keys and values apart
  };
  for (size_t i = 0; i < variants.size(); ++i)
    EXPECT_NE(next_state_root(prev, variants[i]), next_state_root(prev, w)) << "variant " << i;
  EXPECT_NE(next_state_root(hash_of("other prev"), w), next_state_root(prev, w));
  EXPECT_NE(next_state_root(prev, {}), prev);  // an empty block still advances the root
}

TEST(ChainState, StateRootFollowsTheDocumentedFormula) {
  // root = H(prev || H(for each sorted write: u32 len key || key || present byte || u32 len value || value))
  Hash prev = hash_of("p");
  WriteSet w{{Bytes{0x02, 'a'}, Bytes{'x'}}, {Bytes{0x02, 'b'}, std::nullopt}};
  Bytes set = {2, 0, 0, 0, 0x02, 'a', 1, 1, 0, 0, 0, 'x', 2, 0, 0, 0, 0x02, 'b', 0};
  Hash set_hash = sha256(set);
  Bytes outer(prev.begin(), prev.end());
  outer.insert(outer.end(), set_hash.begin(), set_hash.end());
  EXPECT_EQ(next_state_root(prev, w), sha256(outer));
}

}  // namespace
}  // namespace ig::testing
