// The Ledger across two nodes: a block proposed and committed on one ledger validates and
// commits on another with identical state roots; every tampered field is refused.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "chain/consensus/bft_engine.hpp"
#include "tests/chain/fixtures.hpp"

namespace ig::testing {
namespace {

class ChainLedger : public ::testing::Test {
 protected:
  ChainLedger() : a(make_genesis(k)), b(make_genesis(k)) {}

  // Proposes on `a` from its mempool, commits there, and returns the proposal and commit.
  std::pair<Proposal, Commit> produce_on_a(uint64_t time_ms) {
    auto p = a.ledger->propose(time_ms, k.validator.public_key());
    if (!p) throw std::runtime_error(p.error().to_string());
    Commit c = sign_commit(k.validator, p->block);
    auto st = a.ledger->commit(*p, c);
    if (!st) throw std::runtime_error(st.error().to_string());
    return {std::move(*p), c};
  }

  // Validates and commits a block on `b`, as a follower would.
  Status follow_on_b(const Block& block, const Commit& c) {
    IG_TRY_ASSIGN(v, b.ledger->validate(block));
    return b.ledger->commit(v, c);
  }

  void expect_same_head(const TestChain& x, const TestChain& y) {
    Head hx = x.ledger->head(), hy = y.ledger->head();
    EXPECT_EQ(hx.height, hy.height);
    EXPECT_EQ(hx.hash, hy.hash);
    EXPECT_EQ(hx.state_root, hy.state_root);
  }

  TestKeys k;
  TestChain a, b;
};

TEST_F(ChainLedger, InitIsIdempotentAndRefusesAnotherGenesis) {
  Head h = a.ledger->head();
  EXPECT_EQ(h.height, 0u);
  EXPECT_EQ(h.hash, genesis_hash(make_genesis(k)));
  EXPECT_EQ(h.state_root, b.ledger->head().state_root);  // same genesis, same initial root
  EXPECT_EQ(a.supply(), 3'000'000'000u + 100);  // funded accounts + the validator's stake (minted to the staking pool)

  contracts::InfergridApp app2;
  Ledger again(*a.store, app2);
  EXPECT_TRUE(again.init(make_genesis(k)));
  Genesis other = make_genesis(k);
  other.chain_id = "ig-other";
  Ledger wrong(*a.store, app2);
  auto st = wrong.init(other);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "ledger.genesis_mismatch");
}

TEST_F(ChainLedger, BlocksFromAnotherLedgerValidateAndCommitWithEqualRoots) {
  uint64_t t = 1'800'000'000'000, nonce = 0;
  for (int round = 0; round < 4; ++round) {
    // Round 2 is an empty block.
    if (round != 2)
      for (uint64_t i = 0; i < 3; ++i, ++nonce) {
        ASSERT_TRUE(a.ledger->submit(make_transfer(k.alice, nonce, k.bob.public_key(), 100 + i)));
        ASSERT_TRUE(a.ledger->submit(make_transfer(k.bob, nonce, k.carol.public_key(), 7)));
      }
    auto [prop, commit] = produce_on_a(t += 1000);
    auto st = follow_on_b(prop.block, commit);
    ASSERT_TRUE(st) << "round " << round << ": " << st.error().to_string();
    expect_same_head(a, b);
    EXPECT_EQ(b.balance(k.bob.public_key()), a.balance(k.bob.public_key()));
  }
  EXPECT_EQ(b.ledger->head().height, 4u);
  EXPECT_EQ(b.account(k.alice.public_key()).nonce, 9u);
  // b stored exactly what a stored.
  for (uint64_t h = 1; h <= 4; ++h) {
    EXPECT_EQ(**a.store->block_at(h), **b.store->block_at(h));
    EXPECT_EQ(**a.store->commit_at(h), **b.store->commit_at(h));
  }
}

TEST_F(ChainLedger, EngineProducedBlocksReplayOnAFreshNode) {
  for (int h = 0; h < 3; ++h) {
    ASSERT_TRUE(a.ledger->submit(make_transfer(k.carol, h, k.alice.public_key(), 5)));
    ASSERT_TRUE(produce_block(a, k.validator));
  }
  for (uint64_t h = 1; h <= 3; ++h) {
    auto block = a.store->block_at(h);
    auto commit = a.store->commit_at(h);
    ASSERT_TRUE(block && *block && commit && *commit);
    auto st = follow_on_b(**block, **commit);
    ASSERT_TRUE(st) << st.error().to_string();
    EXPECT_EQ(b.ledger->head().state_root, a.store->block_at(h)->value().header.state_root);
  }
  expect_same_head(a, b);
}

TEST_F(ChainLedger, EqualHistoriesGiveEqualRootsAndDifferentHistoriesDiffer) {
  TestChain c(make_genesis(k));
  uint64_t t = 1'800'000'000'000;
  for (uint64_t h = 1; h <= 5; ++h) {
    ASSERT_TRUE(a.ledger->submit(make_transfer(k.alice, h - 1, k.bob.public_key(), h * 10)));
    // c's history differs by one unit of one transfer at height 3.
    Amount amount = h == 3 ? h * 10 + 1 : h * 10;
    auto cblock = commit_txs(c, k.validator, {make_transfer(k.alice, h - 1, k.bob.public_key(), amount)});
    ASSERT_TRUE(cblock) << cblock.error().to_string();
    auto [prop, commit] = produce_on_a(t += 1000);
    ASSERT_TRUE(follow_on_b(prop.block, commit));
    EXPECT_EQ(a.ledger->head().state_root, b.ledger->head().state_root) << "height " << h;
    if (h < 3) {
      EXPECT_EQ(a.ledger->head().state_root, c.ledger->head().state_root) << "height " << h;
    }
    else EXPECT_NE(a.ledger->head().state_root, c.ledger->head().state_root) << "height " << h;
  }
}

TEST_F(ChainLedger, FirstBlockMustCarryAnEmptyLastCommit) {
  auto p = build_block(a, k.validator, {});
  ASSERT_TRUE(p);
  ASSERT_TRUE(b.ledger->validate(p->block));
  Block stuffed = p->block;  // garbage in a commit that nothing checks would be free storage
  Hash x = hash_of("x");
  stuffed.last_commit = Commit{0, 0, x, {sign_precommit(k.validator, kChainId, 0, 0, x)}};
  stuffed.header.last_commit_hash = commit_hash(stuffed.last_commit);
  auto v = b.ledger->validate(stuffed);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, "block.last_commit");
}

// A valid block at height 2 (so it carries a real last commit), and ways to break it.
class ChainLedgerValidate : public ChainLedger {
 protected:
  void SetUp() override {
    ASSERT_TRUE(a.ledger->submit(make_transfer(k.alice, 0, k.bob.public_key(), 1)));
    auto [p1, c1] = produce_on_a(1'800'000'000'000);
    ASSERT_TRUE(follow_on_b(p1.block, c1));
    ASSERT_TRUE(a.ledger->submit(make_transfer(k.alice, 1, k.bob.public_key(), 2)));
    ASSERT_TRUE(a.ledger->submit(make_transfer(k.bob, 0, k.carol.public_key(), 3)));
    auto p2 = a.ledger->propose(1'800'000'001'000, k.validator.public_key());
    ASSERT_TRUE(p2);
    good = p2->block;
    ASSERT_EQ(good.txs.size(), 2u);
    before = b.ledger->head();
  }

  void expect_rejected(const Block& bad, const std::string& code) {
    auto r = b.ledger->validate(bad);
    ASSERT_FALSE(r) << "accepted; expected " << code;
    EXPECT_EQ(r.error().code, code) << r.error().to_string();
    EXPECT_EQ(b.ledger->head().hash, before.hash);
  }

  Block good;
  Head before;
};

TEST_F(ChainLedgerValidate, AcceptsTheUntamperedBlock) {
  auto v = b.ledger->validate(good);
  ASSERT_TRUE(v) << v.error().to_string();
  ASSERT_TRUE(b.ledger->commit(*v, sign_commit(k.validator, good)));
  EXPECT_EQ(b.ledger->head().hash, block_hash(good.header));
}

TEST_F(ChainLedgerValidate, RejectsWrongStateRoot) {
  Block bad = good;
  bad.header.state_root[0] ^= 1;
  expect_rejected(bad, "block.state_root");
}

TEST_F(ChainLedgerValidate, RejectsWrongTxRoot) {
  Block bad = good;
  bad.header.tx_root[31] ^= 1;
  expect_rejected(bad, "block.tx_root");
  // Transactions reordered (or dropped) under the same header.
  Block swapped = good;
  std::swap(swapped.txs[0], swapped.txs[1]);
  expect_rejected(swapped, "block.tx_root");
  Block dropped = good;
  dropped.txs.pop_back();
  expect_rejected(dropped, "block.tx_root");
}

TEST_F(ChainLedgerValidate, RejectsWrongReceiptsRoot) {
  Block bad = good;
  bad.header.receipts_root[3] ^= 1;
  expect_rejected(bad, "block.receipts_root");
}

TEST_F(ChainLedgerValidate, RejectsWrongPrevHash) {
  Block bad = good;
  bad.header.prev_hash[0] ^= 1;
  expect_rejected(bad, "block.prev_hash");
}

TEST_F(ChainLedgerValidate, RejectsBadLastCommit) {
  Block sig = good;
  sig.last_commit.signatures[0].signature[5] ^= 1;
  sig.header.last_commit_hash = commit_hash(sig.last_commit);
  expect_rejected(sig, "commit.bad_signature");

  Block hash_only = good;
  hash_only.header.last_commit_hash[0] ^= 1;
  expect_rejected(hash_only, "block.last_commit");

  Block other_block = good;  // a properly signed commit, but for a different block
  Hash elsewhere = hash_of("elsewhere");
  other_block.last_commit = Commit{1, 0, elsewhere, {sign_precommit(k.validator, kChainId, 1, 0, elsewhere)}};
  other_block.header.last_commit_hash = commit_hash(other_block.last_commit);
  expect_rejected(other_block, "block.last_commit");

  Block outsider = good;  // signed by a key outside the validator set
  outsider.last_commit.signatures = {sign_precommit(k.alice, kChainId, 1, 0, good.last_commit.block_hash)};
  outsider.header.last_commit_hash = commit_hash(outsider.last_commit);
  expect_rejected(outsider, "commit.unknown_signer");

  Block empty = good;
  empty.last_commit.signatures.clear();
  empty.header.last_commit_hash = commit_hash(empty.last_commit);
  expect_rejected(empty, "commit.insufficient_power");
}

TEST_F(ChainLedgerValidate, RejectsOtherHeaderFaults) {
  Block chain = good;
  chain.header.chain_id = "ig-other";
  expect_rejected(chain, "block.chain_id");
  Block height = good;
  height.header.height = 3;
  expect_rejected(height, "block.height");
  Block time = good;
  time.header.time_ms = 1'800'000'000'000;  // same as the parent
  expect_rejected(time, "block.time");
  Block proposer = good;
  proposer.header.proposer = k.alice.public_key();
  expect_rejected(proposer, "block.proposer");
  Block vals = good;
  vals.header.validators_hash[0] ^= 1;
  expect_rejected(vals, "block.validators");
}

TEST_F(ChainLedgerValidate, RejectsAnUnincludableTransactionEvenWithMatchingRoots) {
  Block bad = good;
  bad.txs[1].signature[0] ^= 1;
  bad.header.tx_root = tx_root(bad.txs);
  expect_rejected(bad, "block.invalid_tx");
  Block replay = good;
  replay.txs.push_back(good.txs[0]);  // the same transaction twice: its nonce is used
  replay.header.tx_root = tx_root(replay.txs);
  expect_rejected(replay, "block.invalid_tx");
}

TEST_F(ChainLedgerValidate, CommitMustFinaliseThisBlock) {
  auto v = b.ledger->validate(good);
  ASSERT_TRUE(v);
  Hash h = block_hash(good.header);
  Commit other{2, 0, hash_of("x"), {sign_precommit(k.validator, kChainId, 2, 0, hash_of("x"))}};
  EXPECT_EQ(b.ledger->commit(*v, other).error().code, "ledger.commit_mismatch");
  Commit bad_sig = sign_commit(k.validator, good);
  bad_sig.signatures[0].signature[0] ^= 1;
  EXPECT_EQ(b.ledger->commit(*v, bad_sig).error().code, "commit.bad_signature");
  Commit outsider{2, 0, h, {sign_precommit(k.alice, kChainId, 2, 0, h)}};
  EXPECT_EQ(b.ledger->commit(*v, outsider).error().code, "commit.unknown_signer");
  Commit twice{2, 0, h, {sign_precommit(k.validator, kChainId, 2, 0, h), sign_precommit(k.validator, kChainId, 2, 0, h)}};
  EXPECT_EQ(b.ledger->commit(*v, twice).error().code, "commit.duplicate_signer");
  Commit wrong_chain{2, 0, h, {sign_precommit(k.validator, "ig-other", 2, 0, h)}};
  EXPECT_EQ(b.ledger->commit(*v, wrong_chain).error().code, "commit.bad_signature");
  EXPECT_EQ(b.ledger->head().hash, before.hash);
  ASSERT_TRUE(b.ledger->commit(*v, sign_commit(k.validator, good)));
}

// The parameter limits bind every block, not only the ones this node proposes.
TEST(ChainLedgerLimits, BlocksOverTheParameterLimitsAreRejected) {
  TestKeys k;
  Genesis g = make_genesis(k);
  g.params.max_block_txs = 3;
  g.params.max_tx_bytes = 256;
  g.params.max_block_bytes = 400;
  TestChain c(g);
  auto expect_rejected = [&](std::vector<Transaction> txs, const std::string& code) {
    auto p = build_block(c, k.validator, std::move(txs));
    ASSERT_TRUE(p) << p.error().to_string();
    auto v = c.ledger->validate(p->block);
    ASSERT_FALSE(v) << "accepted; expected " << code;
    EXPECT_EQ(v.error().code, code) << v.error().to_string();
  };
  const Address to = k.bob.public_key();
  Transaction t0 = make_transfer(k.alice, 0, to, 1), t1 = make_transfer(k.alice, 1, to, 1);
  Transaction t2 = make_transfer(k.alice, 2, to, 1), t3 = make_transfer(k.alice, 3, to, 1);
  ASSERT_LE(encode_tx(t0).size() * 2, 400u);
  ASSERT_GT(encode_tx(t0).size() * 3, 400u);
  expect_rejected({t0, t1, t2, t3}, "block.too_many_txs");
  expect_rejected({t0, t1, t2}, "block.oversized");
  expect_rejected({make_transfer(k.alice, 0, to, 1, 2000, kChainId, 0, std::string(100, 'm'))}, "block.oversized_tx");
  auto ok = commit_txs(c, k.validator, {t0, t1});
  ASSERT_TRUE(ok) << ok.error().to_string();
  // The proposer's own blocks stay within the limits.
  for (uint64_t n = 2; n < 6; ++n) ASSERT_TRUE(c.ledger->submit(make_transfer(k.alice, n, to, 1)));
  auto prop = c.ledger->propose(1'800'000'000'000, k.validator.public_key());
  ASSERT_TRUE(prop);
  EXPECT_EQ(prop->block.txs.size(), 2u);  // 3 fit by count, but only 2 by bytes
}

TEST(ChainCommit, NeedsMoreThanTwoThirdsOfThePower) {
  TestKeys k;
  SecretKey v2 = key_from_seed("v2"), v3 = key_from_seed("v3");
  std::vector<Validator> vs = {{k.validator.public_key(), k.alice.public_key(), 40, "a"},
                               {v2.public_key(), k.alice.public_key(), 20, "b"},
                               {v3.public_key(), k.alice.public_key(), 30, "c"}};
  Hash h = hash_of("block");
  auto sig = [&](const SecretKey& s) { return sign_precommit(s, kChainId, 7, 1, h); };
  EXPECT_EQ(verify_commit(Commit{7, 1, h, {sig(k.validator), sig(v2)}}, kChainId, vs).error().code,
            "commit.insufficient_power");  // 60 of 90 is exactly 2/3, not more
  EXPECT_TRUE(verify_commit(Commit{7, 1, h, {sig(k.validator), sig(v3)}}, kChainId, vs));  // 70 of 90
  EXPECT_TRUE(verify_commit(Commit{7, 1, h, {sig(v3), sig(k.validator), sig(v2)}}, kChainId, vs));
  vs[0].power = 41;  // 61 of 91 > 2/3
  EXPECT_TRUE(verify_commit(Commit{7, 1, h, {sig(k.validator), sig(v2)}}, kChainId, vs));
  // A signature for another round does not count for this one.
  Commit other_round{7, 1, h, {sign_precommit(k.validator, kChainId, 7, 2, h), sig(v2)}};
  EXPECT_EQ(verify_commit(other_round, kChainId, vs).error().code, "commit.bad_signature");
}

TEST_F(ChainLedger, ListenersSeeEveryCommittedBlock) {
  struct Seen {  // copies: a CommittedBlock is a view valid only during the callback
    Block block;
    Hash hash;
    std::vector<Receipt> receipts;
  };
  std::vector<Seen> seen;
  b.ledger->on_commit([&](const CommittedBlock& cb) { seen.push_back(Seen{cb.block, cb.hash, cb.receipts}); });
  ASSERT_TRUE(a.ledger->submit(make_transfer(k.alice, 0, k.bob.public_key(), 1)));
  auto [prop, commit] = produce_on_a(1'800'000'000'000);
  ASSERT_TRUE(follow_on_b(prop.block, commit));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].hash, block_hash(prop.block.header));
  EXPECT_EQ(seen[0].block, prop.block);
  ASSERT_EQ(seen[0].receipts.size(), 1u);
  EXPECT_EQ(seen[0].receipts[0].tx_hash, tx_hash(prop.block.txs[0]));
}

TEST_F(ChainLedger, LedgerReopensOnTheSameStore) {
  ASSERT_TRUE(a.ledger->submit(make_transfer(k.alice, 0, k.bob.public_key(), 77)));
  produce_on_a(1'800'000'000'000);
  Head h = a.ledger->head();
  contracts::InfergridApp app2;
  Ledger reopened(*a.store, app2);
  ASSERT_TRUE(reopened.init(make_genesis(k)));
  EXPECT_EQ(reopened.head().hash, h.hash);
  // Its mempool starts from the committed nonce.
  EXPECT_EQ(reopened.submit(make_transfer(k.alice, 0, k.bob.public_key(), 1)).error().code, "tx.bad_nonce");
  EXPECT_TRUE(reopened.submit(make_transfer(k.alice, 1, k.bob.public_key(), 1)));
}

// The Tendermint engine with no peers: a network of one validator (chain/consensus/bft_engine).
class NoPeers : public bft::BftNetwork {
 public:
  void broadcast(uint8_t, Bytes) override {}
  void send(const std::string&, uint8_t, Bytes) override {}
  void report(const std::string&, int, const std::string&) override {}
};

bft::BftConfig fast_config(TempDir& dir, uint64_t block_ms) {
  bft::BftConfig c;
  c.timeouts.commit_ms = block_ms;
  c.timeouts.propose_ms = c.timeouts.prevote_ms = c.timeouts.precommit_ms = 50;
  c.wal_path = dir.sub("wal");
  c.signer_state_path = dir.sub("signer.json");
  return c;
}

TEST(ChainEngine, AKeyOutsideTheValidatorSetProducesNothing) {
  TestKeys k;
  TestChain c(make_genesis(k));
  TempDir dir;
  NoPeers net;
  bft::BftEngine engine(*c.ledger, k.alice, fast_config(dir, 10), net);  // alice is not a validator
  ASSERT_TRUE(engine.start());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  engine.stop();
  EXPECT_EQ(c.ledger->head().height, 0u);
}

TEST(ChainEngine, AValidatorWithoutTwoThirdsCannotDecideAlone) {
  TestKeys k;
  Genesis g = make_genesis(k);
  g.validators.push_back(Validator{k.alice.public_key(), k.alice.public_key(), 100, "other"});
  TestChain c(g);
  TempDir dir;
  NoPeers net;
  bft::BftEngine engine(*c.ledger, k.validator, fast_config(dir, 10), net);
  ASSERT_TRUE(engine.start());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  engine.stop();
  EXPECT_EQ(c.ledger->head().height, 0u);  // half the power: no +2/3, no block, and no fork
}

TEST(ChainEngine, ConcurrentSubmissionsWhileProducingAreAllCommitted) {
  TestKeys k;
  std::vector<SecretKey> senders;
  Genesis g = make_genesis(k);
  for (int i = 0; i < 4; ++i) {
    senders.push_back(key_from_seed("concurrent-" + std::to_string(i)));
    g.accounts.push_back(GenesisAccount{senders.back().public_key(), 1'000'000'000});
  }
  TestChain c(g);
  const Amount supply = c.supply();
  TempDir dir;
  NoPeers net;
  bft::BftEngine engine(*c.ledger, k.validator, fast_config(dir, 10), net);
  ASSERT_TRUE(engine.start());
  constexpr uint64_t kPerSender = 60;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      for (uint64_t n = 0; n < kPerSender; ++n)
        if (!c.ledger->submit(make_transfer(senders[i], n, k.carol.public_key(), 1))) failures++;
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 300 && c.ledger->mempool().size() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  engine.stop();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(c.ledger->mempool().size(), 0u);
  for (const auto& s : senders) EXPECT_EQ(c.account(s.public_key()).nonce, kPerSender);
  EXPECT_EQ(c.balance(k.carol.public_key()), 1'000'000'000u + 4 * kPerSender);
  EXPECT_EQ(c.supply(), supply);
  EXPECT_EQ(c.sum_of_balances(), supply);
}

TEST(ChainEngine, LoopProducesSignedBlocksUntilStopped) {
  TestKeys k;
  TestChain c(make_genesis(k));
  std::atomic<uint64_t> committed{0};
  c.ledger->on_commit([&](const CommittedBlock& cb) { committed = cb.block.header.height; });
  TempDir dir;
  NoPeers net;
  bft::BftEngine engine(*c.ledger, k.validator, fast_config(dir, 20), net);
  ASSERT_TRUE(c.ledger->submit(make_transfer(k.alice, 0, k.bob.public_key(), 5)));
  ASSERT_TRUE(engine.start());
  for (int i = 0; i < 500 && committed < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  engine.stop();
  uint64_t height = c.ledger->head().height;
  ASSERT_GE(height, 3u);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(c.ledger->head().height, height) << "blocks after stop()";
  auto vs = c.ledger->validators();
  ASSERT_TRUE(vs);
  for (uint64_t h = 1; h <= height; ++h) {
    auto commit = c.store->commit_at(h);
    ASSERT_TRUE(commit && *commit);
    EXPECT_TRUE(verify_commit(**commit, kChainId, *vs));
    EXPECT_EQ((*commit)->block_hash, block_hash(c.store->block_at(h)->value().header));
  }
  EXPECT_EQ(c.balance(k.bob.public_key()), 1'000'000'005u);
}


// Block sync from two peers of which one announces its head but never answers a request (a
// faulty or hostile peer, or one whose replies are lost): a request left unanswered is asked
// again of another peer that has the block, not of the same one for ever.
class SyncPeers : public bft::BftNetwork {
 public:
  explicit SyncPeers(TestChain& source) : source_(source) {}
  bft::BftEngine* engine = nullptr;
  std::atomic<int> asked_silent{0};

  void broadcast(uint8_t, Bytes) override {}
  void report(const std::string&, int, const std::string&) override {}
  void send(const std::string& peer, uint8_t channel, Bytes message) override {
    if (channel != bft::kBlockSyncChannel || message.size() != 9 || message[0] != 2) return;  // a request
    Reader r(ByteView(message).subspan(1));
    const uint64_t h = r.u64();
    if (peer == "silent") {
      asked_silent++;
      return;
    }
    auto block = source_.store->block_at(h);
    auto commit = source_.store->commit_at(h);
    if (!block || !*block || !commit || !*commit) return;
    Writer w;
    w.u8(3);
    w.bytes(encode_block(**block));
    w.bytes(encode_commit(**commit));
    Bytes reply = std::move(w).take();
    engine->on_message(peer, bft::kBlockSyncChannel, reply);
  }

 private:
  TestChain& source_;
};

TEST(ChainEngine, ABlockSyncRequestNotAnsweredIsAskedOfAnotherPeer) {
  TestKeys k;
  TestChain source(make_genesis(k));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(produce_block(source, k.validator));
  TestChain follower(make_genesis(k));
  SyncPeers net(source);
  bft::BftConfig config;
  config.gossip_interval = std::chrono::milliseconds(20);
  config.sync_retry = std::chrono::milliseconds(100);
  bft::BftEngine engine(*follower.ledger, std::nullopt, config, net);  // a follower: no key
  net.engine = &engine;
  ASSERT_TRUE(engine.start());
  Writer status;
  status.u8(1);
  status.u64(3);
  const Bytes st = std::move(status).take();
  // Both peers announce height 3; the silent one first, so that it is asked first.
  engine.on_message("silent", bft::kBlockSyncChannel, st);
  engine.on_message("answers", bft::kBlockSyncChannel, st);
  bool synced = false;
  for (int i = 0; i < 300 && !synced; ++i) {
    synced = follower.ledger->head().height == 3;
    if (!synced) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  engine.stop();
  EXPECT_TRUE(synced) << "head " << follower.ledger->head().height << " after 3 s; the silent peer was asked "
                      << net.asked_silent.load() << " times";
  EXPECT_EQ(follower.ledger->head().hash, source.ledger->head().hash);
  EXPECT_GE(net.asked_silent.load(), 1);
}

// A stalled engine (here: its thread held inside the network) whose peers keep sending synced
// blocks: the inbox takes them up to its byte bound and drops the rest, counted, instead of
// queueing up to 100,000 blocks of up to kMaxBlockBytes each.
class StalledNetwork : public bft::BftNetwork {
 public:
  std::mutex mu;
  std::condition_variable cv;
  bool held = false, release = false;

  void broadcast(uint8_t, Bytes) override { hold(); }
  void send(const std::string&, uint8_t, Bytes) override { hold(); }
  void report(const std::string&, int, const std::string&) override {}

 private:
  void hold() {
    std::unique_lock l(mu);
    held = true;
    cv.notify_all();
    cv.wait(l, [&] { return release; });
  }
};

TEST(ChainEngine, AStalledEnginesInboxIsBoundedInBytes) {
  TestKeys k;
  TestChain source(make_genesis(k));
  ASSERT_TRUE(produce_block(source, k.validator));
  Writer w;
  w.u8(3);  // a synced block
  w.bytes(encode_block(source.store->block_at(1)->value()));
  w.bytes(encode_commit(**source.store->commit_at(1)));
  const Bytes block = std::move(w).take();

  TestChain follower(make_genesis(k));
  StalledNetwork net;
  bft::BftConfig config;
  config.max_inbox_bytes = 10 * block.size();
  bft::BftEngine engine(*follower.ledger, std::nullopt, config, net);
  ASSERT_TRUE(engine.start());
  {
    std::unique_lock l(net.mu);  // the engine thread's first gossip holds it in the network
    ASSERT_TRUE(net.cv.wait_for(l, std::chrono::seconds(10), [&] { return net.held; }));
  }
  for (int i = 0; i < 50; ++i) engine.on_message("peer", bft::kBlockSyncChannel, block);
  EXPECT_EQ(engine.status().dropped_messages, 40u);
  {
    std::lock_guard l(net.mu);
    net.release = true;
  }
  net.cv.notify_all();
  engine.stop();
}

}  // namespace
}  // namespace ig::testing
