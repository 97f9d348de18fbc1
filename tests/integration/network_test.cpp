// Networks of real infergridd validators on loopback (issue 9, docs/consensus.md §6): they
// finalize blocks and agree on every header; a validator killed with SIGKILL under load comes
// back by block sync and signs again; without a 2/3 quorum (two of four down, or a 2|2
// partition behind TCP proxies) nothing is finalized and nothing forks, and the chain resumes
// when the quorum returns; a follower started late syncs and serves RPC; a double-signer is
// caught, slashed and removed. Peers that are refused: network_peers_test.cpp; the harness:
// network_harness.hpp.
#include "tests/integration/network_harness.hpp"

namespace ig::itest {
namespace {

// --- 1. agreement ------------------------------------------------------------------------------

TEST_F(NetworkTest, FourValidatorsFinalizeAndAgreeOnEveryHeader) {
  make_testnet(4);
  ASSERT_FALSE(HasFatalFailure());
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(all_reach(all(), 12, 60s)) << nodes_[0]->log();
  const uint64_t common = expect_agreement(all(), 4);
  EXPECT_GE(common, 12u);

  // Blocks are proposed in turn (equal power: weighted round robin is a rotation), so every
  // validator proposed some of them, and each block's proposer is a validator.
  auto c = nodes_[1]->client();
  std::set<std::string> proposers, keys;
  for (const auto& v : vals_) keys.insert(v.consensus_key);
  for (uint64_t h = 1; h <= common; ++h) {
    json b = block_at(c, h);
    const std::string p = b["header"]["proposer"];
    EXPECT_TRUE(keys.count(p)) << "block " << h << " proposed by a non-validator " << p;
    proposers.insert(p);
  }
  EXPECT_EQ(proposers, keys);
}

// --- 2. crash under load, block sync, signing again ------------------------------------------

TEST_F(NetworkTest, KilledValidatorCatchesUpBySyncAndSignsAgain) {
  make_testnet(4);
  ASSERT_FALSE(HasFatalFailure());
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(all_reach(all(), 3, 60s));

  std::vector<chain::Address> recipients;
  for (int i = 0; i < 8; ++i) recipients.push_back(chain::SecretKey::generate().public_key());
  TransferLoad load(*nodes_[0], nodes_[0]->dev_key(), recipients, {3s, 50ms, 20});
  load.start();
  ASSERT_TRUE(eventually([&] { return load.accepted() >= 50; }, 30s));

  // The victim is not the node the load goes to.
  const size_t victim = 3;
  nodes_[victim]->kill9();
  const uint64_t at_kill = head_of(*nodes_[0]);
  // Three of four hold more than 2/3 of the power: they keep finalizing, transfers included.
  ASSERT_TRUE(all_reach(group({0, 1, 2}), at_kill + 8, 60s)) << "the three survivors stopped finalizing";
  const uint64_t while_down = head_of(*nodes_[0]);
  uint64_t txs_while_down = 0;
  {
    auto c = nodes_[0]->client();
    for (uint64_t h = at_kill + 1; h <= while_down; ++h) {
      json b = block_at(c, h);
      txs_while_down += b["txs"].size();
      // The victim signed none of these: it was dead.
      EXPECT_FALSE(signers(b["commit"]).count(vals_[victim].consensus_key)) << "height " << h;
    }
  }
  EXPECT_GT(txs_while_down, 0u) << "no transfer was finalized while one validator was down";

  // Back on the same home: WAL replay, then block sync to the others' head.
  start(victim);
  ASSERT_FALSE(HasFatalFailure());
  const uint64_t target = head_of(*nodes_[0]);
  ASSERT_TRUE(eventually([&] { return head_of(*nodes_[victim]) >= target; }, 60s)) << nodes_[victim]->log();
  // The sync log line may follow the commit it reports by a moment: wait for it.
  EXPECT_TRUE(eventually([&] { return nodes_[victim]->log().find("block sync: committed heights") != std::string::npos; },
                         10s))
      << "the restarted validator did not catch up by block sync";

  // It signs again: its precommit appears in the commit of a block decided after it caught up.
  uint64_t signed_at = 0;
  ASSERT_TRUE(eventually(
      [&] {
        auto c = rpc::Client::connect(nodes_[0]->ws_url(), 3s);
        if (!c) return false;
        const uint64_t head = head_of(*nodes_[0]);
        for (uint64_t h = target + 1; h <= head; ++h) {
          json b = block_at(*c, h);
          if (signers(b["commit"]).count(vals_[victim].consensus_key) ||
              signers(b["last_commit"]).count(vals_[victim].consensus_key)) {
            signed_at = h;
            return true;
          }
        }
        return false;
      },
      60s, 500ms))
      << "the restarted validator's precommits never reached a commit";
  load.stop();

  // Once the last transfers are in, every node holds the same chain and the same balances, and
  // no node ever saw the victim sign twice (its WAL and signer state survived the SIGKILL).
  ASSERT_TRUE(eventually(
      [&] {
        auto i = call(*nodes_[0], "node_info");
        return i && (*i)["mempool_size"] == 0;
      },
      30s));
  ASSERT_TRUE(all_reach(all(), head_of(*nodes_[0]) + 2, 30s));
  EXPECT_GE(expect_agreement(all(), 4), signed_at);
  const std::string dev = chain::address_to_string(nodes_[0]->dev_key().public_key());
  std::set<std::string> balances;
  for (auto* n : all()) {
    auto a = call(*n, "state_getAccount", json::array({dev}));
    ASSERT_TRUE(a);
    balances.insert((*a)["balance"].get<std::string>());
  }
  EXPECT_EQ(balances.size(), 1u);
  for (size_t i = 0; i < nodes_.size(); ++i)
    EXPECT_EQ(nodes_[i]->log().find("double-sign evidence"), std::string::npos) << vals_[i].name;
}

// --- 3. two of four down: halt without fork, resume -------------------------------------------

TEST_F(NetworkTest, NoQuorumHaltsWithoutForkAndResumes) {
  make_testnet(4);
  ASSERT_FALSE(HasFatalFailure());
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(all_reach(all(), 4, 60s));

  nodes_[2]->kill9();
  nodes_[3]->kill9();
  // Half of the power cannot finalize anything: the heads stop, and the two agree.
  auto halted = halted_heads(group({0, 1}), 3s);
  ASSERT_TRUE(halted) << "blocks were finalized by half of the validators";
  EXPECT_EQ((*halted)[0], (*halted)[1]);
  expect_agreement(group({0, 1}), 4);
  const uint64_t stuck = std::max((*halted)[0], (*halted)[1]);

  // One returns: three of four again, the chain resumes.
  start(2);
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(all_reach(group({0, 1, 2}), stuck + 5, 60s)) << "the chain did not resume with 3 of 4 validators";
  start(3);
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(all_reach(all(), head_of(*nodes_[0]) + 2, 60s));
  EXPECT_GT(expect_agreement(all(), 4), stuck);
}

// All four killed at once (a power cut), mid-height: each replays its WAL, nobody signs anything
// that conflicts with what it signed before the cut, and the chain resumes on the same history.
TEST_F(NetworkTest, AllValidatorsKilledAtOnceResumeFromTheirWals) {
  make_testnet(4);
  ASSERT_FALSE(HasFatalFailure());
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  for (int cut = 0; cut < 3; ++cut) {
    ASSERT_TRUE(all_reach(all(), head_of(*nodes_[0]) + 3, 60s));
    // Staggered by a few ms, so that the cut falls at different steps of the height.
    std::this_thread::sleep_for(std::chrono::milliseconds(40 * cut + 30));
    const uint64_t before = head_of(*nodes_[0]);
    for (auto& n : nodes_) n->kill9();
    start_all();
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(all_reach(all(), before + 3, 60s)) << "the chain did not resume after cut " << cut;
  }
  expect_agreement(all(), 4);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    EXPECT_EQ(nodes_[i]->log().find("double-sign evidence"), std::string::npos) << vals_[i].name;
    EXPECT_EQ(nodes_[i]->log().find("critical"), std::string::npos) << vals_[i].name << nodes_[i]->log();
  }
}

// --- 4. a follower --------------------------------------------------------------------------

TEST_F(NetworkTest, LateFollowerSyncsAndServesRpc) {
  make_testnet(4);
  ASSERT_FALSE(HasFatalFailure());
  std::string fhome;
  make_follower("follower", &fhome);
  ASSERT_FALSE(HasFatalFailure());
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(all_reach(all(), 15, 60s));

  NodeProcess follower(fhome);
  follower.start();
  ASSERT_FALSE(HasFatalFailure());
  const uint64_t target = head_of(*nodes_[0]);
  ASSERT_TRUE(eventually([&] { return head_of(follower) >= target; }, 60s)) << follower.log();
  EXPECT_NE(follower.log().find("block sync: committed heights"), std::string::npos);
  // It keeps following, and agrees with the validators on every header.
  ASSERT_TRUE(eventually([&] { return head_of(follower) >= target + 3; }, 30s));
  std::vector<const NodeProcess*> everyone = all();
  everyone.push_back(&follower);
  EXPECT_GE(expect_agreement(everyone, 4), target);

  // It serves RPC: the head it reports is the validators' block at that height, and accounts
  // read the same.
  auto fh = call(follower, "chain_head");
  ASSERT_TRUE(fh);
  {
    auto c = nodes_[2]->client();
    json b = block_at(c, (*fh)["height"].get<uint64_t>());
    EXPECT_EQ(b["hash"], (*fh)["hash"]);
  }
  const std::string dev = chain::address_to_string(nodes_[0]->dev_key().public_key());
  auto fa = call(follower, "state_getAccount", json::array({dev}));
  ASSERT_TRUE(fa) << fa.error().to_string();
  EXPECT_NE((*fa)["balance"], "0");

  // A transfer sent to the follower reaches the validators by mempool gossip and is finalized.
  auto key = nodes_[0]->dev_key();
  auto info = call(follower, "node_info");
  ASSERT_TRUE(info);
  wallet::TransferSpec spec{(*info)["chain_id"], chain::SecretKey::generate().public_key(), 7, 0, (*fa)["next_nonce"], 0, ""};
  spec.fee = wallet::minimum_fee(chain::FeeSchedule{}, spec, key.public_key());
  auto tx = wallet::sign_transfer(spec, key);
  ASSERT_TRUE(tx);
  auto sent = call(follower, "tx_send", json::array({chain::to_hex(chain::encode_tx(*tx))}));
  ASSERT_TRUE(sent) << sent.error().to_string();
  ASSERT_TRUE(eventually(
      [&] {
        auto rcpt = call(*nodes_[1], "tx_receipt", json::array({*sent}));
        return rcpt && rcpt->is_object() && (*rcpt)["status"] == "ok";
      },
      30s, 250ms))
      << "a transfer submitted to the follower was not finalized";
  follower.stop();
}

// --- 5. a 2|2 partition -------------------------------------------------------------------------

TEST_F(NetworkTest, PartitionHaltsWithoutForkAndHealingResumes) {
  make_testnet(4);
  ASSERT_FALSE(HasFatalFailure());
  proxies_ = std::make_unique<ProxyHub>();
  // proxy[i][j]: node i's only way to node j. Listing every other validator among node i's
  // persistent peers (at its proxy) replaces the direct genesis address for it.
  std::vector<std::vector<size_t>> proxy(4, std::vector<size_t>(4, SIZE_MAX));
  for (size_t i = 0; i < 4; ++i) {
    for (size_t j = 0; j < 4; ++j) {
      if (i == j) continue;
      proxy[i][j] = proxies_->add(vals_[j].p2p_port);
      edit_config(vals_[i].home, [&](json& c) {
        c["p2p"]["persistent_peers"].push_back(vals_[j].node_id + "@127.0.0.1:" + std::to_string(proxies_->port(proxy[i][j])));
      });
    }
  }
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(all_reach(all(), 5, 60s));
  uint64_t through_proxies = 0;
  for (size_t i = 0; i < 4; ++i)
    for (size_t j = 0; j < 4; ++j)
      if (i != j) through_proxies += proxies_->connections(proxy[i][j]);
  EXPECT_GE(through_proxies, 6u) << "the nodes did not talk through the proxies";

  // Split {0,1} | {2,3}: no side holds more than 2/3 of the power.
  auto cut = [&](bool blocked) {
    for (size_t i = 0; i < 4; ++i)
      for (size_t j = 0; j < 4; ++j)
        if (i != j && (i < 2) != (j < 2)) proxies_->set_blocked(proxy[i][j], blocked);
  };
  cut(true);
  auto halted = halted_heads(all(), 3s);
  ASSERT_TRUE(halted) << "a minority side kept finalizing";
  // Whatever each side holds, it is one chain.
  expect_agreement(all(), 4);
  const uint64_t stuck = *std::max_element(halted->begin(), halted->end());

  cut(false);
  ASSERT_TRUE(all_reach(all(), stuck + 5, 90s)) << "the chain did not resume after healing";
  EXPECT_GT(expect_agreement(all(), 4), stuck);
}

// --- 6. a double-signer -----------------------------------------------------------------------

TEST_F(NetworkTest, DoubleSignerIsSlashedAndRemoved) {
  // Epochs of 10 blocks, so the validator set is recomputed (and the removed validator leaves
  // it) within a few seconds.
  make_testnet(4, [](json& g) {
    g["contracts"]["tempo"] = 10;
    g["contracts"]["reveal_window_blocks"] = 5;  // may not exceed tempo
  });
  ASSERT_FALSE(HasFatalFailure());
  const size_t evil = 3;
  std::string fhome;
  make_follower("follower", &fhome);
  ASSERT_FALSE(HasFatalFailure());
  for (size_t i = 0; i < 4; ++i) {
    start(i, i == evil ? std::vector<std::string>{"--test-double-sign"} : std::vector<std::string>{});
    ASSERT_FALSE(HasFatalFailure());
  }
  const std::string evil_key = vals_[evil].consensus_key;

  // The others turn its conflicting votes into Evidence; the slashing contract marks it removed.
  ASSERT_TRUE(eventually(
      [&] {
        auto vs = call(*nodes_[0], "staking_validators");
        if (!vs) return false;
        for (const auto& v : *vs)
          if (v["consensus_key"] == evil_key) return v["removed"].get<bool>();
        return false;
      },
      60s, 250ms))
      << nodes_[0]->log();

  // At the next epoch boundary it leaves the active set.
  ASSERT_TRUE(eventually(
      [&] {
        auto vs = call(*nodes_[1], "chain_validators");
        if (!vs) return false;
        return std::none_of(vs->begin(), vs->end(), [&](const json& v) { return v["consensus_key"] == evil_key; });
      },
      60s, 250ms));
  const uint64_t removed_at = head_of(*nodes_[1]);

  // An Evidence transaction against it is in a block, with the double_sign and slash events.
  bool found = false;
  {
    auto c = nodes_[2]->client();
    for (uint64_t h = 1; h <= removed_at && !found; ++h) {
      auto b = c.call("chain_getBlock", json::array({h, true}));
      ASSERT_TRUE(b);
      for (const auto& tx : (*b)["txs"]) {
        if (tx["type"] != "Evidence") continue;
        auto rc = c.call("tx_receipt", json::array({tx["hash"]}));
        ASSERT_TRUE(rc && rc->is_object());
        if ((*rc)["status"] != "ok") continue;  // a second copy of the same evidence is refused
        bool double_sign = false, slash = false;
        for (const auto& e : (*rc)["events"]) {
          if (e["type"] == "double_sign" && e["attributes"]["validator"] == evil_key) double_sign = true;
          if (e["type"] == "slash" && e["attributes"]["account"] == vals_[evil].account) slash = true;
        }
        EXPECT_TRUE(double_sign && slash) << rc->dump();
        found = found || (double_sign && slash);
      }
    }
  }
  EXPECT_TRUE(found) << "no committed Evidence transaction slashed the double-signer";
  EXPECT_NE(nodes_[0]->log().find("double-sign evidence against"), std::string::npos);

  // The chain goes on with the three others, and the removed validator no longer signs.
  ASSERT_TRUE(all_reach(group({0, 1, 2}), removed_at + 6, 60s)) << "the chain stopped after the removal";
  {
    auto c = nodes_[0]->client();
    for (uint64_t h = removed_at + 2; h <= removed_at + 6; ++h) {
      json b = block_at(c, h);
      EXPECT_FALSE(signers(b["commit"]).count(evil_key)) << "a removed validator's precommit counted at height " << h;
      EXPECT_EQ(signers(b["commit"]).size(), 3u);
    }
  }
  expect_agreement(group({0, 1, 2}), 3);

  // A follower started now syncs across the slashing and the validator-set change (each commit
  // checked against the set of its height) and reads the same staking state.
  NodeProcess follower(fhome);
  follower.start();
  ASSERT_FALSE(HasFatalFailure());
  const uint64_t target = head_of(*nodes_[0]);
  ASSERT_TRUE(eventually([&] { return head_of(follower) >= target; }, 60s)) << follower.log();
  EXPECT_GE(expect_agreement({nodes_[0].get(), nodes_[1].get(), &follower}, 4), target);
  auto fv = call(follower, "staking_validators");
  ASSERT_TRUE(fv);
  for (const auto& v : *fv) {
    if (v["consensus_key"] == evil_key) {
      EXPECT_TRUE(v["removed"].get<bool>() && !v["active"].get<bool>()) << v.dump();
    }
  }
  follower.stop();
}

}  // namespace
}  // namespace ig::itest
