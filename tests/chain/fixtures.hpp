// Shared helpers for the chain and contracts tests: temporary LMDB homes, deterministic keys,
// a small genesis, and a complete chain (Store + InfergridApp + Ledger) with block helpers
// that bypass the mempool so tests can put any transaction into a block.
#pragma once

#include <chrono>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "chain/consensus/engine.hpp"
#include "chain/hash.hpp"
#include "chain/ledger.hpp"
#include "contracts/app.hpp"
#include "contracts/bank.hpp"

namespace ig::testing {

using namespace ig::chain;

// A fresh directory under /tmp, removed with everything in it when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/ig-chain-test-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The same seed always gives the same key (SHA-256 of the seed is below the curve order
// with overwhelming probability, and from_bytes checks it).
inline SecretKey key_from_seed(const std::string& seed) {
  Hash h = sha256(view(seed));
  auto k = SecretKey::from_bytes(h);
  if (!k) throw std::runtime_error("seed gives an invalid key: " + seed);
  return *k;
}

inline Hash hash_of(const std::string& s) { return sha256(view(s)); }

inline constexpr const char* kChainId = "ig-test";

struct TestKeys {
  SecretKey validator = key_from_seed("validator-consensus");
  SecretKey validator_account = key_from_seed("validator-account");
  SecretKey alice = key_from_seed("alice");
  SecretKey bob = key_from_seed("bob");
  SecretKey carol = key_from_seed("carol");
};

// One validator (power 100) whose account receives fees; alice, bob and carol funded.
inline Genesis make_genesis(const TestKeys& k, Amount each = 1'000'000'000) {
  Genesis g;
  g.chain_id = kChainId;
  g.genesis_time_ms = 1'700'000'000'000;
  g.validators.push_back(Validator{k.validator.public_key(), k.validator_account.public_key(), 100, "v0"});
  for (const SecretKey* s : {&k.alice, &k.bob, &k.carol}) g.accounts.push_back(GenesisAccount{s->public_key(), each});
  return g;
}

inline Transaction make_transfer(const SecretKey& from, uint64_t nonce, const Address& to, Amount amount,
                                 Amount fee = 2000, std::string chain_id = kChainId, uint64_t expiry = 0,
                                 std::string memo = "") {
  TxBody body;
  body.chain_id = std::move(chain_id);
  body.sender = from.public_key();
  body.nonce = nonce;
  body.fee = fee;
  body.expiry_height = expiry;
  body.payload = Transfer{to, amount, std::move(memo)};
  return sign_tx(std::move(body), from);
}

// A node's chain state: a real LMDB store in a temp dir, the real Application and a Ledger.
struct TestChain {
  // verify_threads: the ledger's signature-verification threads (0: the default).
  explicit TestChain(const Genesis& genesis, MempoolConfig mc = {}, StoreConfig sc = {}, unsigned verify_threads = 0) {
    sc.path = dir.sub("store");
    auto s = Store::open(sc);
    if (!s) throw std::runtime_error(s.error().to_string());
    store = std::move(*s);
    ledger = std::make_unique<Ledger>(*store, app, mc, verify_threads);
    auto st = ledger->init(genesis);
    if (!st) throw std::runtime_error(st.error().to_string());
  }

  contracts::bank::Account account(const Address& a) const {
    State s(store->latest());
    return contracts::bank::get_account(s, a);
  }
  Amount balance(const Address& a) const { return account(a).balance; }
  Amount supply() const {
    State s(store->latest());
    return contracts::bank::total_supply(s);
  }
  // Sum of every balance in the bank, read by scanning state (checks conservation).
  Amount sum_of_balances() const {
    State s(store->latest());
    Bytes prefix = state_key(StatePrefix::kBank, Bytes{'a'});
    Amount total = 0;
    s.scan(prefix, [&](ByteView, ByteView v) {
      Reader r(v);
      total += r.u64();
      return true;
    });
    return total;
  }

  TempDir dir;
  std::unique_ptr<Store> store;
  contracts::InfergridApp app;
  std::unique_ptr<Ledger> ledger;
};

inline Commit sign_commit(const SecretKey& validator, const Block& b) {
  const Hash h = block_hash(b.header);
  return Commit{b.header.height, 0, h, {sign_precommit(validator, b.header.chain_id, b.header.height, 0, h)}};
}

// Builds the next block over `chain`'s head from exactly `txs` (no mempool), executed in
// validate mode so every root in the header is the one an honest proposer would write.
inline Expected<Proposal> build_block(TestChain& chain, const PublicKey& proposer, std::vector<Transaction> txs,
                                      uint64_t time_ms = 0) {
  Head h = chain.ledger->head();
  Proposal p;
  BlockHeader& hdr = p.block.header;
  hdr.chain_id = chain.ledger->chain_id();
  hdr.height = h.height + 1;
  hdr.time_ms = time_ms ? time_ms : 1'700'000'000'000;
  hdr.prev_hash = h.hash;
  hdr.proposer = proposer;
  IG_TRY_ASSIGN(vs, chain.ledger->validators());
  hdr.validators_hash = validators_hash(vs);
  if (h.height > 0) {
    IG_TRY_ASSIGN(c, chain.store->commit_at(h.height));
    if (!c) return fail("test.missing_commit", "no commit at head");
    p.block.last_commit = *c;
    IG_TRY_ASSIGN(parent, chain.store->block_at(h.height));
    if (!time_ms && parent) hdr.time_ms = parent->header.time_ms + 1000;
  }
  hdr.last_commit_hash = commit_hash(p.block.last_commit);
  BlockInfo info{hdr.chain_id, hdr.height, hdr.time_ms, hdr.prev_hash, hdr.proposer};
  auto snap = chain.store->snapshot();
  IG_TRY_ASSIGN(res, execute_block(chain.app, *snap, h.state_root, info, std::move(txs), ExecMode::kValidate));
  hdr.tx_root = tx_root(res.txs);
  hdr.receipts_root = receipts_root(res.receipts);
  hdr.state_root = res.state_root;
  p.block.txs = res.txs;
  p.result = std::move(res);
  return p;
}

inline Expected<Proposal> build_block(TestChain& chain, const SecretKey& proposer, std::vector<Transaction> txs,
                                      uint64_t time_ms = 0) {
  return build_block(chain, proposer.public_key(), std::move(txs), time_ms);
}

// The next block from the mempool, committed with this validator's precommit: what a
// one-validator network's consensus does at each height, without its timers.
inline Expected<Hash> produce_block(TestChain& chain, const SecretKey& validator) {
  const uint64_t now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::system_clock::now().time_since_epoch())
                                                 .count());
  IG_TRY_ASSIGN(p, chain.ledger->propose(now, validator.public_key()));
  const Commit commit = sign_commit(validator, p.block);
  IG_TRY(chain.ledger->commit(p, commit));
  return commit.block_hash;
}

// build_block + validate + commit: the block goes through the same checks a foreign block would.
inline Expected<Block> commit_txs(TestChain& chain, const SecretKey& validator, std::vector<Transaction> txs) {
  IG_TRY_ASSIGN(p, build_block(chain, validator, std::move(txs)));
  IG_TRY_ASSIGN(v, chain.ledger->validate(p.block));
  IG_TRY(chain.ledger->commit(v, sign_commit(validator, v.block)));
  return v.block;
}

}  // namespace ig::testing
