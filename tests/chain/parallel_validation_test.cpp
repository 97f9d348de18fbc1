// Block validation and mempool admission with signatures checked on 1, 2 and 4 threads: the
// same receipts, events, write sets, state roots and block hashes; a block with one bad
// signature among many refused with the same error (the first failing transaction in block
// order), and batch admission giving exactly what one-by-one admission gives.
#include <gtest/gtest.h>

#include "tests/chain/fixtures.hpp"

namespace ig::testing {
namespace {

constexpr unsigned kThreadCounts[] = {1, 2, 4};

// A genesis with many funded accounts, so a block holds hundreds of independent transfers.
struct ManyAccounts {
  explicit ManyAccounts(size_t n) {
    for (size_t i = 0; i < n; ++i) keys.push_back(key_from_seed("parallel-account-" + std::to_string(i)));
    genesis = make_genesis(base);
    for (const auto& k : keys) genesis.accounts.push_back(GenesisAccount{k.public_key(), 50'000});
  }
  TestKeys base;
  std::vector<SecretKey> keys;
  Genesis genesis;
};

// Round r (nonce r): every account sends to another, every 5th with a memo. With `overspend`
// every 7th asks for more than it has: the mempool refuses that, but a block may include it
// (it fails with a receipt code and pays its fee).
std::vector<Transaction> round_of_transfers(const ManyAccounts& m, uint64_t r, bool overspend = true) {
  std::vector<Transaction> txs;
  for (size_t i = 0; i < m.keys.size(); ++i) {
    const size_t to = (i * 31 + r * 17 + 1) % m.keys.size();
    const Amount amount = overspend && i % 7 == 3 ? 10'000'000 : 10 + (i + r) % 13;
    txs.push_back(make_transfer(m.keys[i], r, m.keys[to == i ? (to + 1) % m.keys.size() : to].public_key(), amount,
                                2000, kChainId, 0, i % 5 == 0 ? "memo " + std::to_string(i) : ""));
  }
  return txs;
}

TEST(ChainParallelValidation, EveryThreadCountGivesTheSameBlocksReceiptsAndRoots) {
  ManyAccounts m(120);
  TestChain proposer(m.genesis);
  std::vector<std::pair<Block, Commit>> blocks;
  // Two blocks through the mempool and propose, then one built directly with overspends.
  for (uint64_t r = 0; r < 3; ++r) {
    Expected<Proposal> p = fail("test.unset", "");
    if (r < 2) {
      for (const auto& res : proposer.ledger->submit_batch(round_of_transfers(m, r, false)))
        ASSERT_TRUE(res) << res.error().to_string();
      p = proposer.ledger->propose(1'800'000'000'000 + r * 1000, m.base.validator.public_key());
    } else {
      p = build_block(proposer, m.base.validator, round_of_transfers(m, r, true));
    }
    ASSERT_TRUE(p) << p.error().to_string();
    ASSERT_EQ(p->block.txs.size(), m.keys.size());
    const Commit c = sign_commit(m.base.validator, p->block);
    ASSERT_TRUE(proposer.ledger->commit(*p, c));
    blocks.emplace_back(p->block, c);
  }
  size_t failed_receipts = 0;
  std::vector<std::vector<Proposal>> validated(std::size(kThreadCounts));
  for (size_t t = 0; t < std::size(kThreadCounts); ++t) {
    TestChain follower(m.genesis, {}, {}, kThreadCounts[t]);
    EXPECT_EQ(follower.ledger->verify_pool().threads(), kThreadCounts[t]);
    for (const auto& [block, commit] : blocks) {
      auto v = follower.ledger->validate(block);
      ASSERT_TRUE(v) << kThreadCounts[t] << " threads: " << v.error().to_string();
      ASSERT_TRUE(follower.ledger->commit(*v, commit));
      validated[t].push_back(std::move(*v));
    }
    EXPECT_EQ(follower.ledger->head().hash, proposer.ledger->head().hash);
    EXPECT_EQ(follower.ledger->head().state_root, proposer.ledger->head().state_root);
  }
  for (size_t b = 0; b < blocks.size(); ++b) {
    const ExecutionResult& one = validated[0][b].result;
    for (const auto& rc : one.receipts) failed_receipts += rc.code != TxCode::kOk;
    EXPECT_EQ(one.state_root, blocks[b].first.header.state_root);
    for (size_t t = 1; t < std::size(kThreadCounts); ++t) {
      const ExecutionResult& other = validated[t][b].result;
      EXPECT_EQ(other.receipts, one.receipts) << "block " << b << ", " << kThreadCounts[t] << " threads";
      EXPECT_EQ(other.block_events, one.block_events);
      EXPECT_EQ(other.writes, one.writes);
      EXPECT_EQ(other.state_root, one.state_root);
      EXPECT_EQ(other.txs, one.txs);
    }
  }
  EXPECT_GT(failed_receipts, 0u);  // the blocks did exercise failing (but includable) transfers
}

class ChainParallelRefusal : public ::testing::Test {
 protected:
  ChainParallelRefusal() : m(400), source(m.genesis) {}

  // A block of 400 valid transfers at height 1, built without the mempool so it can be broken.
  Block good_block() {
    auto p = build_block(source, m.base.validator, round_of_transfers(m, 0));
    if (!p) throw std::runtime_error(p.error().to_string());
    return p->block;
  }
  static void retree(Block& b) { b.header.tx_root = tx_root(b.txs); }

  // The error each thread count gives; all must be equal. A fresh follower each time, which
  // then still accepts the untouched block (the refusal changed nothing).
  Error refusal(const Block& bad, const Block& good) {
    std::optional<Error> first;
    for (unsigned threads : kThreadCounts) {
      TestChain follower(m.genesis, {}, {}, threads);
      auto v = follower.ledger->validate(bad);
      EXPECT_FALSE(v) << threads << " threads accepted a bad block";
      if (v) continue;
      if (!first) first = v.error();
      EXPECT_EQ(v.error().code, first->code) << threads << " threads";
      EXPECT_EQ(v.error().message, first->message) << threads << " threads";
      auto ok = follower.ledger->validate(good);
      EXPECT_TRUE(ok) << threads << " threads: " << (ok ? "" : ok.error().to_string());
    }
    return first.value_or(Error{});
  }

  ManyAccounts m;
  TestChain source;
};

TEST_F(ChainParallelRefusal, OneBadSignatureAmongManyNamesThatTransaction) {
  const Block good = good_block();
  Block bad = good;
  bad.txs[317].signature[5] ^= 0x20;
  retree(bad);
  const Error e = refusal(bad, good);
  EXPECT_EQ(e.code, "block.invalid_tx");
  EXPECT_EQ(e.message, "transaction 317 (" + to_hex(tx_hash(bad.txs[317])) +
                           ") cannot be included: tx.bad_signature: signature does not verify for the sender's key");
}

TEST_F(ChainParallelRefusal, TheFirstFailureInBlockOrderDecides) {
  const Block good = good_block();
  // Two bad signatures: the earlier one is named, though a worker may well finish the later first.
  Block two = good;
  two.txs[399].signature[0] ^= 1;
  two.txs[12].signature[63] ^= 1;
  retree(two);
  const Error e2 = refusal(two, good);
  EXPECT_NE(e2.message.find("transaction 12 ("), std::string::npos) << e2.to_string();
  // An execution failure (a replayed nonce at index 40) before a bad signature (index 300):
  // execution order decides, as it did before signatures moved to the pool.
  Block mixed = good;
  mixed.txs[40] = mixed.txs[39];
  mixed.txs[300].signature[9] ^= 4;
  retree(mixed);
  const Error em = refusal(mixed, good);
  EXPECT_EQ(em.code, "block.invalid_tx");
  EXPECT_NE(em.message.find("transaction 40 ("), std::string::npos) << em.to_string();
  EXPECT_EQ(em.message.find("tx.bad_signature"), std::string::npos) << em.to_string();
  // A bad signature in the last transaction.
  Block last = good;
  last.txs.back().signature[31] ^= 0x80;
  retree(last);
  EXPECT_NE(refusal(last, good).message.find("transaction 399 ("), std::string::npos);
  // Another chain's transaction, refused by the stateless checks on the pool too.
  Block foreign = good;
  foreign.txs[200] = make_transfer(m.keys[200], 0, m.keys[1].public_key(), 1, 2000, "ig-other");
  retree(foreign);
  const Error ef = refusal(foreign, good);
  EXPECT_NE(ef.message.find("transaction 200 ("), std::string::npos) << ef.to_string();
  EXPECT_NE(ef.message.find("tx.wrong_chain"), std::string::npos) << ef.to_string();
}

// submit_batch must answer each transaction exactly as submit would have at that point.
TEST(ChainParallelAdmission, BatchAdmissionMatchesOneByOne) {
  ManyAccounts m(40);
  std::vector<Transaction> txs = round_of_transfers(m, 0);     // with overspends the mempool refuses
  std::vector<Transaction> second = round_of_transfers(m, 1);  // nonce 1: valid after round 0
  txs.insert(txs.end(), second.begin(), second.end());
  txs[5].signature[1] ^= 1;                                    // bad signature
  txs.push_back(txs[7]);                                       // duplicate
  txs.push_back(make_transfer(m.keys[3], 5, m.keys[4].public_key(), 1));  // nonce gap
  txs.push_back(make_transfer(m.keys[8], 2, m.keys[4].public_key(), 1, 2000, "ig-other"));  // wrong chain
  txs.push_back(make_transfer(m.keys[9], 2, m.keys[4].public_key(), 1, 2000, kChainId, 0, std::string(300'000, 'x')));

  TestChain reference(m.genesis, {}, {}, 1);
  std::vector<std::string> want;
  for (const auto& tx : txs) {
    auto r = reference.ledger->submit(tx);
    want.push_back(r ? to_hex(*r) : r.error().code);
  }
  EXPECT_NE(std::find(want.begin(), want.end(), "tx.bad_signature"), want.end());
  EXPECT_NE(std::find(want.begin(), want.end(), "mempool.duplicate"), want.end());
  EXPECT_NE(std::find(want.begin(), want.end(), "tx.wrong_chain"), want.end());
  EXPECT_NE(std::find(want.begin(), want.end(), "tx.oversized"), want.end());
  EXPECT_NE(std::find(want.begin(), want.end(), "bank.insufficient_funds"), want.end());
  for (unsigned threads : kThreadCounts) {
    TestChain chain(m.genesis, {}, {}, threads);
    size_t gossiped = 0;
    chain.ledger->on_admit([&](const Transaction&) { ++gossiped; });
    const auto got = chain.ledger->submit_batch(txs);
    ASSERT_EQ(got.size(), txs.size());
    size_t admitted = 0;
    for (size_t i = 0; i < txs.size(); ++i) {
      EXPECT_EQ(got[i] ? to_hex(*got[i]) : got[i].error().code, want[i]) << threads << " threads, tx " << i;
      admitted += got[i].has_value();
    }
    EXPECT_EQ(gossiped, admitted);
    EXPECT_EQ(chain.ledger->mempool().size(), reference.ledger->mempool().size());
  }
}

}  // namespace
}  // namespace ig::testing
