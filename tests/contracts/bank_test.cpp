// The bank contract through the real executor, ledger and LMDB store: transfers, fees to
// the proposer, failed transfers that still pay, every includability rule, overflow, and
// conservation of supply.
#include <gtest/gtest.h>

#include <random>

#include "tests/chain/fixtures.hpp"

namespace ig::testing {
namespace {

namespace bank = contracts::bank;

class ContractsBank : public ::testing::Test {
 protected:
  ContractsBank() : chain(make_genesis(k)) {}

  Address alice() const { return k.alice.public_key(); }
  Address bob() const { return k.bob.public_key(); }
  Address fee_account() const { return k.validator_account.public_key(); }

  Hash produce() {
    auto h = produce_block(chain, k.validator);
    if (!h) throw std::runtime_error(h.error().to_string());
    return *h;
  }

  Receipt stored_receipt(const Transaction& tx) {
    auto r = chain.store->receipt(tx_hash(tx));
    if (!r || !*r) throw std::runtime_error("no receipt stored");
    return **r;
  }

  // Executes `txs` over the head in the given mode without committing anything.
  Expected<ExecutionResult> execute(std::vector<Transaction> txs, ExecMode mode) {
    Head h = chain.ledger->head();
    BlockInfo info{kChainId, h.height + 1, 1'800'000'000'000 + h.height, h.hash, k.validator.public_key()};
    auto snap = chain.store->snapshot();
    return execute_block(chain.app, *snap, h.state_root, info, std::move(txs), mode);
  }

  // Both ways in: mempool admission refuses it, and a block carrying it is invalid.
  void expect_not_includable(const Transaction& tx, const std::string& code) {
    auto sub = chain.ledger->submit(tx);
    ASSERT_FALSE(sub) << "admitted; expected " << code;
    EXPECT_EQ(sub.error().code, code) << sub.error().to_string();
    auto res = execute({tx}, ExecMode::kValidate);
    ASSERT_FALSE(res) << "block with it validated; expected " << code;
    EXPECT_EQ(res.error().code, "block.invalid_tx");
    EXPECT_NE(res.error().message.find(code), std::string::npos) << res.error().message;
    auto proposed = execute({tx}, ExecMode::kPropose);
    ASSERT_TRUE(proposed);
    EXPECT_TRUE(proposed->txs.empty()) << "a proposal must drop it";
    EXPECT_TRUE(proposed->receipts.empty());
  }

  TestKeys k;
  TestChain chain;
};

TEST_F(ContractsBank, GenesisFundsAccountsAndSupply) {
  EXPECT_EQ(chain.balance(alice()), 1'000'000'000u);
  EXPECT_EQ(chain.account(alice()).nonce, 0u);
  EXPECT_EQ(chain.balance(fee_account()), 0u);
  // The validator's genesis stake (power 100) is minted into the staking module account.
  EXPECT_EQ(chain.balance(bank::module_account("staking")), 100u);
  EXPECT_EQ(chain.supply(), 3'000'000'000u + 100);
  EXPECT_EQ(chain.sum_of_balances(), chain.supply());
}

TEST_F(ContractsBank, TransferMovesAmountAndPaysFeeToProposerAccount) {
  Transaction tx = make_transfer(k.alice, 0, bob(), 12'345, 2'500, kChainId, 0, "thanks");
  ASSERT_TRUE(chain.ledger->submit(tx));
  produce();
  EXPECT_EQ(chain.balance(alice()), 1'000'000'000u - 12'345 - 2'500);
  EXPECT_EQ(chain.account(alice()).nonce, 1u);
  EXPECT_EQ(chain.balance(bob()), 1'000'000'000u + 12'345);
  EXPECT_EQ(chain.account(bob()).nonce, 0u);
  EXPECT_EQ(chain.balance(fee_account()), 2'500u);
  EXPECT_EQ(chain.balance(k.validator.public_key()), 0u);  // the consensus key holds nothing

  Receipt r = stored_receipt(tx);
  EXPECT_EQ(r.code, TxCode::kOk);
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(r.fee_paid, 2'500u);
  EXPECT_EQ(r.height, 1u);
  EXPECT_EQ(r.index, 0u);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].type, "fee");
  EXPECT_EQ(r.events[1], (Event{"transfer",
                                {{"from", address_to_string(alice())},
                                 {"to", address_to_string(bob())},
                                 {"amount", "12345"}}}));
  EXPECT_EQ(chain.sum_of_balances(), chain.supply());
  EXPECT_EQ(chain.supply(), 3'000'000'000u + 100);  // accounts plus the genesis stake
}

TEST_F(ContractsBank, InsufficientFundsIsIncludedPaysFeeAndMovesNothing) {
  Transaction tx = make_transfer(k.alice, 0, bob(), 1'000'000'000);  // balance minus fee is short
  auto sub = chain.ledger->submit(tx);
  ASSERT_FALSE(sub);
  EXPECT_EQ(sub.error().code, "bank.insufficient_funds");  // the mempool refuses it at the door

  // A block may still carry it (another proposer's mempool policy is not a rule of validity).
  auto res = execute({tx}, ExecMode::kValidate);
  ASSERT_TRUE(res) << res.error().to_string();
  ASSERT_EQ(res->receipts.size(), 1u);
  const Receipt& r = res->receipts[0];
  EXPECT_EQ(r.code, TxCode::kInsufficientFunds);
  EXPECT_EQ(tx_code_name(r.code), "insufficient_funds");
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(r.fee_paid, 2000u);
  ASSERT_EQ(r.events.size(), 1u);  // the fee event stays; the transfer event is gone
  EXPECT_EQ(r.events[0].type, "fee");

  auto block = commit_txs(chain, k.validator, {tx});
  ASSERT_TRUE(block) << block.error().to_string();
  EXPECT_EQ(stored_receipt(tx).code, TxCode::kInsufficientFunds);
  EXPECT_EQ(chain.balance(alice()), 1'000'000'000u - 2000);
  EXPECT_EQ(chain.account(alice()).nonce, 1u);
  EXPECT_EQ(chain.balance(bob()), 1'000'000'000u);
  EXPECT_EQ(chain.balance(fee_account()), 2000u);
  EXPECT_EQ(chain.sum_of_balances(), chain.supply());
}

TEST_F(ContractsBank, BadNonceIsNotIncludable) {
  ASSERT_TRUE(chain.ledger->submit(make_transfer(k.alice, 0, bob(), 1)));
  produce();
  expect_not_includable(make_transfer(k.alice, 0, bob(), 2), "tx.bad_nonce");  // too low
  expect_not_includable(make_transfer(k.alice, 2, bob(), 2), "tx.bad_nonce");  // too high
  expect_not_includable(make_transfer(k.alice, UINT64_MAX, bob(), 2), "tx.bad_nonce");
  EXPECT_EQ(chain.account(alice()).nonce, 1u);
}

TEST_F(ContractsBank, WrongChainIdIsNotIncludable) {
  expect_not_includable(make_transfer(k.alice, 0, bob(), 1, 2000, "ig-mainnet"), "tx.wrong_chain");
  expect_not_includable(make_transfer(k.alice, 0, bob(), 1, 2000, ""), "tx.wrong_chain");
}

TEST_F(ContractsBank, ExpiredIsNotIncludable) {
  produce();
  produce();  // head 2; the next block is 3
  expect_not_includable(make_transfer(k.alice, 0, bob(), 1, 2000, kChainId, 2), "tx.expired");
  Transaction last_chance = make_transfer(k.alice, 0, bob(), 1, 2000, kChainId, 3);
  ASSERT_TRUE(chain.ledger->submit(last_chance));
  produce();
  EXPECT_EQ(stored_receipt(last_chance).code, TxCode::kOk);
}

TEST_F(ContractsBank, BadSignatureIsNotIncludable) {
  Transaction flipped = make_transfer(k.alice, 0, bob(), 1);
  flipped.signature[63] ^= 1;
  expect_not_includable(flipped, "tx.bad_signature");
  Transaction stolen = make_transfer(k.bob, 0, bob(), 500);  // bob signs a transfer out of alice's account
  stolen.body.sender = alice();
  expect_not_includable(stolen, "tx.bad_signature");
  Transaction raised = make_transfer(k.alice, 0, bob(), 1, 2000);
  raised.body.fee = 1;  // fee edited after signing
  expect_not_includable(raised, "tx.bad_signature");
}

TEST_F(ContractsBank, FeeBelowTheScheduleMinimumIsNotIncludable) {
  auto params = chain.ledger->params();
  ASSERT_TRUE(params);
  Transaction probe = make_transfer(k.alice, 0, bob(), 1, 0, kChainId, 0, "memo");
  Amount minimum = min_fee(params->fee, encode_tx(probe).size());
  EXPECT_EQ(minimum, params->fee.base + params->fee.per_byte * encode_tx(probe).size());
  expect_not_includable(make_transfer(k.alice, 0, bob(), 1, minimum - 1, kChainId, 0, "memo"), "tx.fee_too_low");
  expect_not_includable(make_transfer(k.alice, 0, bob(), 1, 0, kChainId, 0, "memo"), "tx.fee_too_low");
  Transaction exact = make_transfer(k.alice, 0, bob(), 1, minimum, kChainId, 0, "memo");
  ASSERT_TRUE(chain.ledger->submit(exact));
  produce();
  EXPECT_EQ(stored_receipt(exact).fee_paid, minimum);
}

TEST_F(ContractsBank, FeeTheSenderCannotPayIsNotIncludable) {
  SecretKey pauper = key_from_seed("pauper");
  expect_not_includable(make_transfer(pauper, 0, bob(), 0), "tx.cannot_pay_fee");
  expect_not_includable(make_transfer(k.alice, 0, bob(), 0, 1'000'000'001), "tx.cannot_pay_fee");
}

TEST_F(ContractsBank, SelfTransferOnlyCostsTheFee) {
  Transaction tx = make_transfer(k.alice, 0, alice(), 500'000'000);
  ASSERT_TRUE(chain.ledger->submit(tx));
  produce();
  EXPECT_EQ(stored_receipt(tx).code, TxCode::kOk);
  EXPECT_EQ(chain.balance(alice()), 1'000'000'000u - 2000);
  EXPECT_EQ(chain.sum_of_balances(), chain.supply());
}

TEST_F(ContractsBank, SupplyIsConservedAcrossManyBlocks) {
  std::mt19937_64 rng(42);
  const std::vector<const SecretKey*> senders = {&k.alice, &k.bob, &k.carol};
  std::vector<uint64_t> nonces(3, 0);
  const Amount supply = chain.supply();
  int succeeded = 0, failed = 0;
  for (int block = 0; block < 6; ++block) {
    std::vector<Transaction> txs;
    for (int i = 0; i < 12; ++i) {
      size_t s = rng() % 3;
      Address to = senders[rng() % 3]->public_key();
      if (rng() % 5 == 0) to = key_from_seed("newcomer-" + std::to_string(rng() % 4)).public_key();
      // Some transfers are too large: they fail but pay their fee.
      Amount amount = rng() % 4 == 0 ? 5'000'000'000 : rng() % 20'000'000;
      txs.push_back(make_transfer(*senders[s], nonces[s]++, to, amount, 2000 + rng() % 1000));
    }
    auto b = commit_txs(chain, k.validator, txs);
    ASSERT_TRUE(b) << b.error().to_string();
    for (const auto& tx : txs) (stored_receipt(tx).code == TxCode::kOk ? succeeded : failed)++;
    EXPECT_EQ(chain.supply(), supply);
    EXPECT_EQ(chain.sum_of_balances(), supply) << "after block " << block;
  }
  EXPECT_GT(chain.balance(fee_account()), 6u * 12 * 2000 - 1);
  EXPECT_GT(succeeded, 0);
  EXPECT_GT(failed, 0);  // the mix really exercised failed-but-included transfers
}

// Builds the committed state a genesis would, then lets a test edit it directly: the only
// way to reach a recipient balance that a transfer can overflow, since genesis keeps the
// whole supply within 2^64-1.
struct CraftedState {
  explicit CraftedState(const Genesis& g) {
    State s(base);
    write_params(s, g.params);
    write_validator_set(s, g.validators);
    if (!app.init_chain(g, s)) throw std::runtime_error("init_chain failed");
    apply(s.writes());
  }
  void apply(const WriteSet& w) {
    for (const auto& [key, value] : w) {
      if (value) base.entries[key] = *value;
      else base.entries.erase(key);
    }
  }
  void set_account(const Address& a, const bank::Account& acct) {
    State s(base);
    bank::put_account(s, a, acct);
    apply(s.writes());
  }
  MapStateReader base;
  contracts::InfergridApp app;
};

TEST(ContractsBankOverflow, RecipientOverflowFailsWithOverflowCodeAndKeepsTheFee) {
  TestKeys k;
  Genesis g = make_genesis(k);
  CraftedState cs(g);
  cs.set_account(k.bob.public_key(), bank::Account{UINT64_MAX - 5, 0});
  BlockInfo info{kChainId, 1, 1, Hash{}, k.validator.public_key()};
  Transaction tx = make_transfer(k.alice, 0, k.bob.public_key(), 10);
  auto res = execute_block(cs.app, cs.base, Hash{}, info, {tx}, ExecMode::kValidate);
  ASSERT_TRUE(res) << res.error().to_string();
  ASSERT_EQ(res->receipts.size(), 1u);
  EXPECT_EQ(res->receipts[0].code, TxCode::kOverflow);
  EXPECT_EQ(tx_code_name(res->receipts[0].code), "overflow");
  cs.apply(res->writes);
  State after(cs.base);
  EXPECT_EQ(bank::get_account(after, k.bob.public_key()).balance, UINT64_MAX - 5);
  EXPECT_EQ(bank::get_account(after, k.alice.public_key()), (bank::Account{1'000'000'000 - 2000, 1}));
  // Exactly filling the recipient is fine.
  Transaction fill = make_transfer(k.alice, 1, k.bob.public_key(), 5);
  BlockInfo info2{kChainId, 2, 2, Hash{}, k.validator.public_key()};
  auto res2 = execute_block(cs.app, cs.base, Hash{}, info2, {fill}, ExecMode::kValidate);
  ASSERT_TRUE(res2);
  EXPECT_EQ(res2->receipts[0].code, TxCode::kOk);
}

TEST(ContractsBankOverflow, FeeThatWouldOverflowTheProposerMakesTheTxUnincludable) {
  TestKeys k;
  CraftedState cs(make_genesis(k));
  cs.set_account(k.validator_account.public_key(), bank::Account{UINT64_MAX - 100, 0});
  BlockInfo info{kChainId, 1, 1, Hash{}, k.validator.public_key()};
  auto res = execute_block(cs.app, cs.base, Hash{}, info, {make_transfer(k.alice, 0, k.bob.public_key(), 1)},
                           ExecMode::kValidate);
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().message.find("bank.overflow"), std::string::npos) << res.error().to_string();
}

TEST(ContractsBankOverflow, SupplyAtTheMaximumStillTransfers) {
  // Genesis may hold exactly 2^64-1 in total (balances plus the validator's stake of 100);
  // balances near the top move without overflow.
  TestKeys k;
  Genesis g = make_genesis(k);
  g.accounts = {GenesisAccount{k.alice.public_key(), UINT64_MAX - 1'000'000 - 100},
                GenesisAccount{k.bob.public_key(), 1'000'000}};
  TestChain chain(g);
  EXPECT_EQ(chain.supply(), UINT64_MAX);
  Transaction big = make_transfer(k.alice, 0, k.bob.public_key(), UINT64_MAX - 2'000'100);
  auto b = commit_txs(chain, k.validator, {big, make_transfer(k.bob, 0, k.alice.public_key(), 10)});
  ASSERT_TRUE(b) << b.error().to_string();
  EXPECT_EQ((*chain.store->receipt(tx_hash(big)))->code, TxCode::kOk);
  EXPECT_EQ(chain.balance(k.bob.public_key()), UINT64_MAX - 1'000'100 - 2000 - 10);
  EXPECT_EQ(chain.sum_of_balances(), UINT64_MAX);
  EXPECT_EQ(chain.supply(), UINT64_MAX);
}

TEST(ContractsBankOverflow, GenesisSupplyOverflowIsRefused) {
  TestKeys k;
  MapStateReader empty;
  State s(empty);
  auto st = bank::init_accounts(s, {GenesisAccount{k.alice.public_key(), UINT64_MAX},
                                    GenesisAccount{k.bob.public_key(), 1}});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "bank.overflow");
}

TEST(ContractsBankOverflow, GenesisStakePushingTheSupplyOverTheMaximumIsRefused) {
  TestKeys k;
  Genesis g = make_genesis(k);
  g.accounts = {GenesisAccount{k.alice.public_key(), UINT64_MAX - 99}};  // + stake 100 = 2^64
  try {
    TestChain chain(g);
    ADD_FAILURE() << "genesis over the maximum supply was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("overflow"), std::string::npos) << e.what();
  }
}

TEST(ContractsBankMove, MoveChecksBothSidesAndChangesNothingOnFailure) {
  TestKeys k;
  MapStateReader empty;
  State s(empty);
  Address a = k.alice.public_key(), b = k.bob.public_key();
  bank::put_account(s, a, {100, 3});
  bank::put_account(s, b, {UINT64_MAX - 1, 9});
  const WriteSet before = s.writes();
  auto short_funds = bank::move(s, a, b, 101);
  ASSERT_FALSE(short_funds);
  EXPECT_EQ(short_funds.error().code, "bank.insufficient_funds");
  auto overflow = bank::move(s, a, b, 2);
  ASSERT_FALSE(overflow);
  EXPECT_EQ(overflow.error().code, "bank.overflow");
  EXPECT_EQ(s.writes(), before);
  ASSERT_TRUE(bank::move(s, a, b, 1));
  EXPECT_EQ(bank::get_account(s, a), (bank::Account{99, 3}));  // nonces are untouched by moves
  EXPECT_EQ(bank::get_account(s, b), (bank::Account{UINT64_MAX, 9}));
  EXPECT_EQ(bank::get_account(s, key_from_seed("nobody").public_key()), bank::Account{});
}

}  // namespace
}  // namespace ig::testing
