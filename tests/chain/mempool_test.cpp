// The mempool against the real Application and a real store: admission errors, ordering,
// caps, and the re-check after each block.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/chain/fixtures.hpp"

namespace ig::testing {
namespace {

class ChainMempool : public ::testing::Test {
 protected:
  void make_chain(MempoolConfig mc = {}) { chain = std::make_unique<TestChain>(make_genesis(k), mc); }
  void SetUp() override { make_chain(); }

  Mempool& pool() { return chain->ledger->mempool(); }
  Expected<Hash> submit(const Transaction& tx) { return chain->ledger->submit(tx); }
  void expect_refused(const Transaction& tx, const std::string& code) {
    auto r = submit(tx);
    ASSERT_FALSE(r) << "admitted; expected " << code;
    EXPECT_EQ(r.error().code, code) << r.error().to_string();
  }
  Address to() const { return k.carol.public_key(); }

  TestKeys k;
  std::unique_ptr<TestChain> chain;
};

std::vector<Hash> hashes(const std::vector<Transaction>& txs) {
  std::vector<Hash> out;
  for (const auto& t : txs) out.push_back(tx_hash(t));
  return out;
}

TEST_F(ChainMempool, AdmissionRefusesWhatCanNeverBeIncluded) {
  Transaction a0 = make_transfer(k.alice, 0, to(), 10);
  auto h = submit(a0);
  ASSERT_TRUE(h) << h.error().to_string();
  EXPECT_EQ(*h, tx_hash(a0));
  EXPECT_TRUE(pool().contains(*h));

  expect_refused(a0, "mempool.duplicate");
  Transaction bad_sig = make_transfer(k.alice, 1, to(), 10);
  bad_sig.signature[10] ^= 1;
  expect_refused(bad_sig, "tx.bad_signature");
  Transaction forged = make_transfer(k.alice, 1, to(), 10);
  std::get<Transfer>(forged.body.payload).amount = 10'000;  // changed after signing
  expect_refused(forged, "tx.bad_signature");
  expect_refused(make_transfer(k.alice, 1, to(), 10, 2000, "ig-other"), "tx.wrong_chain");
  expect_refused(make_transfer(k.alice, 2, to(), 10), "tx.bad_nonce");       // gap
  expect_refused(make_transfer(k.alice, 0, to(), 11), "tx.bad_nonce");       // already used by a0
  expect_refused(make_transfer(k.alice, 1, to(), 10, 100), "tx.fee_too_low");
  expect_refused(make_transfer(k.alice, 1, to(), 2'000'000'000), "bank.insufficient_funds");
  SecretKey pauper = key_from_seed("pauper");
  expect_refused(make_transfer(pauper, 0, to(), 0), "tx.cannot_pay_fee");

  // None of the refusals disturbed the check state: alice's next nonce is still 1.
  EXPECT_EQ(pool().size(), 1u);
  ASSERT_TRUE(submit(make_transfer(k.alice, 1, to(), 10)));
  EXPECT_EQ(pool().size(), 2u);
  EXPECT_EQ(pool().pending_count(k.alice.public_key()), 2u);
  EXPECT_EQ(pool().pending_count(pauper.public_key()), 0u);
}

TEST_F(ChainMempool, RunningCheckStateCountsEarlierTransactions) {
  // Alice can afford one big transfer but not two: the second is refused at admission.
  ASSERT_TRUE(submit(make_transfer(k.alice, 0, to(), 600'000'000)));
  expect_refused(make_transfer(k.alice, 1, to(), 600'000'000), "bank.insufficient_funds");
  ASSERT_TRUE(submit(make_transfer(k.alice, 1, to(), 300'000'000)));
}

TEST_F(ChainMempool, ExpiredTransactionsAreRefused) {
  ASSERT_TRUE(commit_txs(*chain, k.validator, {}));  // height 1; next is 2
  expect_refused(make_transfer(k.alice, 0, to(), 1, 2000, kChainId, 1), "tx.expired");
  EXPECT_TRUE(submit(make_transfer(k.alice, 0, to(), 1, 2000, kChainId, 2)));  // last valid height is inclusive
}

TEST_F(ChainMempool, ReapKeepsNonceOrderAndPrefersHigherFees) {
  Transaction a0 = make_transfer(k.alice, 0, to(), 1, 3000);
  Transaction a1 = make_transfer(k.alice, 1, to(), 1, 9000);  // high fee, but behind a0
  Transaction a2 = make_transfer(k.alice, 2, to(), 1, 2000);
  Transaction b0 = make_transfer(k.bob, 0, to(), 1, 5000);
  Transaction b1 = make_transfer(k.bob, 1, to(), 1, 5000);
  Transaction c0 = make_transfer(k.carol, 0, k.alice.public_key(), 1, 4000);
  for (const auto* tx : {&a0, &a1, &a2, &b0, &b1, &c0}) ASSERT_TRUE(submit(*tx));

  auto all = pool().reap(100, 1 << 20);
  EXPECT_EQ(hashes(all), hashes({b0, b1, c0, a0, a1, a2}));
  EXPECT_EQ(hashes(pool().reap(3, 1 << 20)), hashes({b0, b1, c0}));
  const size_t one = encode_tx(b0).size();
  EXPECT_EQ(hashes(pool().reap(100, 2 * one)), hashes({b0, b1}));
  EXPECT_TRUE(pool().reap(100, one - 1).empty());
  EXPECT_EQ(pool().size(), 6u);  // reaping does not remove
  EXPECT_EQ(pool().bytes(), 6 * one);
}

TEST_F(ChainMempool, EqualFeesGoInArrivalOrder) {
  Transaction c0 = make_transfer(k.carol, 0, k.alice.public_key(), 1, 3000);
  Transaction a0 = make_transfer(k.alice, 0, to(), 1, 3000);
  Transaction b0 = make_transfer(k.bob, 0, to(), 1, 3000);
  for (const auto* tx : {&c0, &a0, &b0}) ASSERT_TRUE(submit(*tx));
  EXPECT_EQ(hashes(pool().reap(10, 1 << 20)), hashes({c0, a0, b0}));
}

TEST_F(ChainMempool, PerSenderCap) {
  make_chain(MempoolConfig{100, 1 << 20, 3});
  for (uint64_t n = 0; n < 3; ++n) ASSERT_TRUE(submit(make_transfer(k.alice, n, to(), 1)));
  expect_refused(make_transfer(k.alice, 3, to(), 1), "mempool.sender_full");
  EXPECT_TRUE(submit(make_transfer(k.bob, 0, to(), 1)));  // others are not affected
  EXPECT_EQ(pool().pending_count(k.alice.public_key()), 3u);
}

TEST_F(ChainMempool, GlobalCountAndByteCaps) {
  make_chain(MempoolConfig{4, 1 << 20, 100});
  for (uint64_t n = 0; n < 2; ++n) ASSERT_TRUE(submit(make_transfer(k.alice, n, to(), 1)));
  for (uint64_t n = 0; n < 2; ++n) ASSERT_TRUE(submit(make_transfer(k.bob, n, to(), 1)));
  expect_refused(make_transfer(k.carol, 0, k.alice.public_key(), 1), "mempool.full");
  EXPECT_EQ(pool().pending_count(k.carol.public_key()), 0u);
  EXPECT_EQ(pool().size(), 4u);

  const size_t one = encode_tx(make_transfer(k.alice, 0, to(), 1)).size();
  make_chain(MempoolConfig{100, 2 * one + one / 2, 100});
  ASSERT_TRUE(submit(make_transfer(k.alice, 0, to(), 1)));
  ASSERT_TRUE(submit(make_transfer(k.bob, 0, to(), 1)));
  expect_refused(make_transfer(k.carol, 0, k.alice.public_key(), 1), "mempool.full");
}

TEST_F(ChainMempool, RecheckAfterBlockDropsStaleAndKeepsValid) {
  Transaction a0 = make_transfer(k.alice, 0, to(), 1);
  Transaction a1 = make_transfer(k.alice, 1, to(), 2);
  Transaction a2 = make_transfer(k.alice, 2, to(), 3);
  Transaction b0 = make_transfer(k.bob, 0, to(), 4);
  Transaction b1 = make_transfer(k.bob, 1, to(), 5);
  Transaction c0 = make_transfer(k.carol, 0, k.alice.public_key(), 6, 2000, kChainId, /*expiry=*/1);
  for (const auto* tx : {&a0, &a1, &a2, &b0, &b1, &c0}) ASSERT_TRUE(submit(*tx));

  // Another proposer's block includes a0 and a different transaction with bob's nonce 0.
  Transaction b0_other = make_transfer(k.bob, 0, k.alice.public_key(), 99);
  auto block = commit_txs(*chain, k.validator, {a0, b0_other});
  ASSERT_TRUE(block) << block.error().to_string();

  EXPECT_FALSE(pool().contains(tx_hash(a0)));       // included
  EXPECT_TRUE(pool().contains(tx_hash(a1)));        // still valid: nonce 1 is next
  EXPECT_TRUE(pool().contains(tx_hash(a2)));
  EXPECT_FALSE(pool().contains(tx_hash(b0)));       // stale: its nonce was used by b0_other
  EXPECT_TRUE(pool().contains(tx_hash(b1)));        // bob's nonce 1 is next, so b1 is valid now
  EXPECT_FALSE(pool().contains(tx_hash(c0)));       // expired at height 1
  EXPECT_EQ(pool().size(), 3u);
  EXPECT_EQ(pool().pending_count(k.alice.public_key()), 2u);
  EXPECT_EQ(pool().pending_count(k.bob.public_key()), 1u);
  EXPECT_EQ(pool().pending_count(k.carol.public_key()), 0u);
  EXPECT_EQ(pool().bytes(), encode_tx(a1).size() + encode_tx(a2).size() + encode_tx(b1).size());

  // The check state was rebuilt from the new head: alice's next admissible nonce is 3.
  expect_refused(make_transfer(k.alice, 1, to(), 7), "tx.bad_nonce");
  ASSERT_TRUE(submit(make_transfer(k.alice, 3, to(), 7)));

  // The next proposal takes what is left, in nonce order, and every transaction executes.
  auto prop = chain->ledger->propose(1'800'000'000'000, k.validator.public_key());
  ASSERT_TRUE(prop) << prop.error().to_string();
  EXPECT_EQ(prop->block.txs.size(), 4u);
  for (const auto& r : prop->result.receipts) EXPECT_EQ(r.code, TxCode::kOk);
}

TEST_F(ChainMempool, CommittedBlockEmptiesThePool) {
  for (uint64_t n = 0; n < 5; ++n) ASSERT_TRUE(submit(make_transfer(k.alice, n, to(), n + 1)));
  ASSERT_TRUE(submit(make_transfer(k.bob, 0, to(), 1)));
  auto h = produce_block(*chain, k.validator);
  ASSERT_TRUE(h) << h.error().to_string();
  EXPECT_EQ(pool().size(), 0u);
  EXPECT_EQ(pool().bytes(), 0u);
  EXPECT_EQ(pool().pending_count(k.alice.public_key()), 0u);
  EXPECT_EQ(chain->account(k.alice.public_key()).nonce, 5u);
}

// A sender's next nonce (committed nonce + pending transactions) read while blocks commit on
// another thread, as the node's RPC reads it: it must never go backwards. Read apart, the two
// could straddle a block — the old nonce with the block's transactions already dropped here —
// and a wallet then signed a nonce already used (WalletNode.ConsecutiveSendsTakeTheNextPendingNonce
// failed that way in CI).
TEST_F(ChainMempool, NextNonceNeverStraddlesABlock) {
  const Address alice = k.alice.public_key();
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  uint64_t lowest_step = 0, highest = 0;
  bool backwards = false;
  std::thread reader([&] {
    uint64_t last = 0;
    while (!done.load()) {
      uint64_t nonce = 0;
      const size_t pending = pool().pending_count(alice, [&] { nonce = chain->account(alice).nonce; });
      const uint64_t next = nonce + pending;
      if (next < last && !backwards) backwards = true, lowest_step = next;
      last = std::max(last, next);
      highest = last;
      reads.fetch_add(1);
    }
  });
  uint64_t n = 0;
  for (int block = 0; block < 40; ++block) {
    for (int i = 0; i < 3; ++i, ++n) ASSERT_TRUE(submit(make_transfer(k.alice, n, to(), 1)));
    ASSERT_TRUE(produce_block(*chain, k.validator));
  }
  done = true;
  reader.join();
  EXPECT_FALSE(backwards) << "next nonce fell to " << lowest_step;
  EXPECT_LE(highest, n);
  EXPECT_GT(reads.load(), 40);
  EXPECT_EQ(chain->account(alice).nonce, n);
}

}  // namespace
}  // namespace ig::testing
