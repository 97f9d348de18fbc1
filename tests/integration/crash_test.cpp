// kill -9 a node while it commits blocks under load: the store must hold whole blocks only,
// every committed transaction must survive, and the node must carry on after a restart.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "chain/hash.hpp"
#include "chain/store.hpp"
#include "contracts/bank.hpp"
#include "tests/integration/harness.hpp"
#include "wallet/transfer.hpp"

namespace ig::itest {
namespace {

using json = rpc::json;
using namespace std::chrono_literals;

struct CommittedView {
  uint64_t height = 0;
  std::vector<chain::Hash> block_hashes;  // index h-1
  std::vector<chain::Hash> tx_hashes;
};

// Opens the killed node's LMDB store directly and checks it block by block.
CommittedView check_store(const std::string& home, const std::vector<chain::Address>& accounts, uint64_t supply) {
  CommittedView view;
  auto store = chain::Store::open(chain::StoreConfig{home + "/data"});
  EXPECT_TRUE(store) << store.error().to_string();
  if (!store) return view;
  auto head = (*store)->head();
  EXPECT_TRUE(head.has_value());
  if (!head) return view;
  view.height = head->height;
  chain::Hash prev = *(*store)->genesis_hash();
  chain::Hash last_state_root{};
  for (uint64_t h = 1; h <= head->height; ++h) {
    auto block = (*store)->block_at(h);
    EXPECT_TRUE(block && *block) << "block " << h << " missing below head " << head->height;
    if (!block || !*block) return view;
    const chain::Block& b = **block;
    const chain::Hash hash = chain::block_hash(b.header);
    EXPECT_EQ((*store)->height_of(hash), h);
    if (h > 1) {
      EXPECT_EQ(b.header.prev_hash, prev) << "hash chain broken at " << h;
    }
    EXPECT_EQ(b.header.tx_root, chain::tx_root(b.txs)) << "block " << h << " body does not match its header";
    auto commit = (*store)->commit_at(h);
    EXPECT_TRUE(commit && *commit && (*commit)->block_hash == hash) << "no commit for block " << h;
    std::vector<chain::Receipt> receipts;
    for (uint32_t i = 0; i < b.txs.size(); ++i) {
      const chain::Hash th = chain::tx_hash(b.txs[i]);
      auto loc = (*store)->tx_location(th);
      EXPECT_TRUE(loc && loc->height == h && loc->index == i) << "tx index wrong at " << h << ":" << i;
      auto rc = (*store)->receipt(th);
      EXPECT_TRUE(rc && *rc) << "receipt missing at " << h << ":" << i;
      if (rc && *rc) receipts.push_back(**rc);
      view.tx_hashes.push_back(th);
    }
    EXPECT_EQ(b.header.receipts_root, chain::receipts_root(receipts)) << "receipts do not match block " << h;
    view.block_hashes.push_back(hash);
    prev = hash;
    last_state_root = b.header.state_root;
  }
  EXPECT_EQ(head->hash, prev);
  if (head->height > 0) {
    EXPECT_EQ(head->state_root, last_state_root) << "state root in meta differs from the head block";
  }
  // The state is that of the head block: every unit of supply is still accounted for.
  chain::State state((*store)->latest());
  unsigned __int128 total = 0;
  for (const auto& a : accounts) total += contracts::bank::get_account(state, a).balance;
  EXPECT_EQ(static_cast<uint64_t>(total), supply);
  EXPECT_EQ(contracts::bank::total_supply(state), supply);
  return view;
}

TEST(CrashRecovery, KillNineUnderLoadLeavesWholeBlocksAndLosesNoCommittedTransaction) {
  std::string home = make_temp_dir("crash");
  NodeProcess node(home);
  node.init(100);
  node.start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());

  std::vector<chain::Address> recipients;
  for (int i = 0; i < 4; ++i) recipients.push_back(chain::SecretKey::generate().public_key());
  // Every account that can hold funds: dev, the validator's fee account, the recipients, and
  // the staking pool that holds the genesis validator's stake.
  std::vector<chain::Address> accounts = recipients;
  accounts.push_back(node.dev_key().public_key());
  accounts.push_back(contracts::bank::module_account("staking"));
  {
    auto c = node.client();
    auto vs = c.call("chain_validators", json::array());
    ASSERT_TRUE(vs);
    accounts.push_back(*chain::address_from_string((*vs)[0]["account"].get<std::string>()));
  }
  uint64_t supply = 0;
  {
    auto g = chain::load_genesis(home + "/genesis.json");
    ASSERT_TRUE(g);
    for (const auto& a : g->accounts) supply += a.balance;
    for (const auto& v : g->validators) supply += v.power;  // genesis stake is supply too
  }

  CommittedView previous;
  uint64_t total_committed_txs = 0;
  for (int round = 0; round < 3; ++round) {
    TransferLoad load(node, node.dev_key(), recipients, {2s, 20ms, 0});
    load.start();
    const uint64_t start_height = node.head_height();
    node.wait_for_height(start_height + 8 + round * 3);  // a varying point inside the commit stream
    node.kill9();
    load.stop();

    CommittedView view = check_store(home, accounts, supply);
    ASSERT_GE(view.height, previous.height);
    // Nothing committed before an earlier kill went missing or changed.
    for (size_t i = 0; i < previous.block_hashes.size(); ++i)
      ASSERT_EQ(view.block_hashes[i], previous.block_hashes[i]) << "block " << i + 1 << " changed after a crash";
    for (size_t i = 0; i < previous.tx_hashes.size(); ++i) ASSERT_EQ(view.tx_hashes[i], previous.tx_hashes[i]);
    EXPECT_GT(view.tx_hashes.size(), previous.tx_hashes.size()) << "round " << round << " committed no transaction";
    total_committed_txs = view.tx_hashes.size();
    std::cout << "round " << round << ": killed at height " << view.height << " with " << view.tx_hashes.size()
              << " committed transactions, all intact\n";
    previous = view;

    node.start();
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    node.wait_for_height(view.height + 1);
  }
  EXPECT_GT(total_committed_txs, 0u);
  node.stop();
  remove_dir(home);
}

}  // namespace
}  // namespace ig::itest
