// Replay determinism (DESIGN §4): a chain that used every transaction kind, with failures,
// settlements, an epoch with Yuma, slashing and a validator-set change, is applied block by
// block to fresh stores; every height must give the same state root.
#include <random>
#include <set>

#include "tests/contracts/harness.hpp"

namespace ig::testing {
namespace {

using ct::tasks::Status;

// Drives one chain through every transaction kind and returns it.
class ReplayScript {
 public:
  ReplayScript() : net(short_params_json(), 4, 10'000, {"m1", "m2", "u", "u2", "cand"}) {}

  void run() {
    net.block({net.tx(net.validator(0).account, model_payload("llama-7b")),
               net.tx(net.validator(1).account, model_payload("orphan")),
               net.tx(net.actor("u"), chain::Transfer{net.actor("u2").addr(), 12'345, "hi"})});
    net.block({net.tx(net.actor("m1"), chain::Stake{StakeRole::kMiner, 5'000}),
               net.tx(net.actor("m1"), chain::RegisterMiner{profile({model_id("llama-7b")}, 2)}),
               net.tx(net.actor("m2"), chain::Stake{StakeRole::kMiner, 3'000}),
               net.tx(net.actor("m2"), chain::RegisterMiner{profile({model_id("llama-7b")}, 1)}),
               net.tx(net.actor("cand"), chain::Stake{StakeRole::kValidator, 4'000})});
    net.block({submit("u"), submit("u"), submit("u2"), submit("u2", "orphan"),
               net.tx(net.validator(0).account, chain::ProposeValidator{cand_key.public_key(), net.actor("cand").addr(), "cand"})});
    net.add_signer(cand_key);
    std::vector<Transaction> txs = answers();
    txs.push_back(net.tx(net.validator(1).account, chain::ApproveValidator{1}));
    txs.push_back(net.tx(net.validator(2).account, chain::ApproveValidator{1}));
    for (size_t v = 0; v < 4; ++v) txs.push_back(commit(v));
    net.block(txs);
    txs = {net.tx(net.actor("u2"), chain::CancelTask{4}), net.tx(net.actor("u"), chain::CancelTask{4})};  // one fails
    for (size_t v = 0; v < 3; ++v) txs.push_back(net.tx(net.validator(v).account, reject_verdict(*net.task(1), 1)));
    txs.push_back(net.tx(net.validator(3).account, accept_verdict(2)));
    net.block(txs);
    const SecretKey& culprit = net.validator(3).consensus;
    net.block({net.tx(net.actor("u"), chain::Evidence{signed_vote(culprit, 2, 0, hash_of("a")), signed_vote(culprit, 2, 0, hash_of("b"))}),
               net.tx(net.actor("m2"), chain::UpdateMiner{profile({model_id("llama-7b"), model_id("orphan")}, 2)}),
               net.tx(net.actor("m1"), chain::Unstake{StakeRole::kMiner, 100}),
               net.tx(net.actor("m1"), chain::Unstake{StakeRole::kMiner, 1'000'000})});  // fails: beyond stake
    while (net.head() < 24) {
      const uint64_t h = net.next();
      txs = answers();
      if (h % 3 == 0) txs.push_back(submit(h % 2 ? "u" : "u2"));
      if (h == 11)
        for (size_t v = 0; v < 3; ++v) txs.push_back(reveal(v));
      if (h == 12) txs.push_back(net.tx(net.validator(0).account, chain::RevealWeights{0, {}, hash_of("wrong")}));  // fails
      net.block(txs);
    }
  }

  Transaction submit(const std::string& user, const std::string& model = "llama-7b") {
    return net.tx(net.actor(user), task_payload(model_id(model), "replay " + std::to_string(prompt_no++), 2'000));
  }
  std::vector<Transaction> answers() {
    std::vector<Transaction> out;
    for (const auto& t : ct::tasks::tasks_in(net.state(), 0, 1000))
      for (const char* name : {"m1", "m2"})
        if (t.status == Status::kAssigned && t.miner == net.actor(name).addr())
          out.push_back(net.tx(net.actor(name), result_for(t, tokens(5 + t.id % 4))));
    return out;
  }
  std::vector<chain::WeightEntry> weights() {
    auto uid = [&](const char* n) { return static_cast<uint16_t>(*ct::registry::uid_of(net.state(), net.actor(n).addr())); };
    return {{uid("m1"), 65535}, {uid("m2"), 20000}};
  }
  Transaction commit(size_t v) {
    return net.tx(net.validator(v).account,
                  chain::CommitWeights{0, weights_commit_hash(net.validator(v).account.addr(), 0, weights(), hash_of("s" + std::to_string(v)))});
  }
  Transaction reveal(size_t v) {
    return net.tx(net.validator(v).account, chain::RevealWeights{0, weights(), hash_of("s" + std::to_string(v))});
  }

  Net net;
  SecretKey cand_key = key_from_seed("replay-cand");
  uint64_t prompt_no = 0;
};

TEST(ContractsReplay, SameBlocksGiveTheSameStateRootAtEveryHeight) {
  ReplayScript script;
  script.run();
  const auto& history = script.net.history();
  ASSERT_EQ(history.size(), 24u);

  // The script really exercised every kind of transaction, failures, slashing and settlement.
  std::set<size_t> kinds;
  size_t failed = 0;
  for (const auto& b : history) {
    for (const auto& tx : b.block.txs) kinds.insert(tx.body.payload.index());
    for (const auto& r : b.receipts) failed += r.code != TxCode::kOk;
  }
  EXPECT_EQ(kinds.size(), std::variant_size_v<chain::Payload>);
  EXPECT_GE(failed, 3u);
  EXPECT_FALSE(script.net.events("slash").empty());
  EXPECT_FALSE(script.net.events("task_settled").empty());
  EXPECT_FALSE(script.net.events("task_rejected").empty());
  EXPECT_FALSE(script.net.events("epoch").empty());
  EXPECT_FALSE(script.net.events("validator_set").empty());

  std::vector<Hash> roots;
  for (const auto& b : history) roots.push_back(b.block.header.state_root);
  EXPECT_EQ(std::set<Hash>(roots.begin(), roots.end()).size(), roots.size());  // the state really moved every block
  for (int replica = 0; replica < 2; ++replica) {
    TestChain fresh(script.net.genesis());
    std::vector<Hash> replayed = script.net.replay_into(fresh);
    ASSERT_EQ(replayed.size(), roots.size());
    for (size_t i = 0; i < roots.size(); ++i) EXPECT_EQ(replayed[i], roots[i]) << "replica " << replica << " height " << i + 1;
    EXPECT_EQ(fresh.ledger->head().hash, script.net.chain().ledger->head().hash);
    EXPECT_EQ(fresh.supply(), script.net.supply());
  }
}

// Seeded random traffic, bad transactions included, over several epochs: the harness checks
// supply and module balances after every block, and a fresh store replays it root for root.
TEST(ContractsReplay, RandomTrafficConservesSupplyAndReplays) {
  Net net(short_params_json(), 4, 10'000, {"m1", "m2", "m3", "m4", "u1", "u2", "u3"});
  setup_market(net, {"m1", "m2", "m3", "m4"});
  std::mt19937_64 rng(20261122);
  const std::vector<std::string> miners{"m1", "m2", "m3", "m4"}, users{"u1", "u2", "u3"};
  auto pick = [&](const auto& v) -> const auto& { return v[rng() % v.size()]; };
  std::map<size_t, std::vector<chain::WeightEntry>> committed;
  std::map<size_t, uint64_t> committed_epoch;
  while (net.head() < 60) {
    const uint64_t h = net.next(), epoch = h / net.params().tempo;
    std::vector<Transaction> txs;
    for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) {
      Actor& u = net.actor(pick(users));
      txs.push_back(net.tx(u, task_payload(model_id("llama-7b"), "rand " + std::to_string(rng()), 200 + rng() % 2'000, 1 + rng() % 20)));
    }
    auto ts = ct::tasks::tasks_in(net.state(), 0, 10'000);
    for (const auto& t : ts) {
      if (t.status == Status::kAssigned && rng() % 4 != 0) {  // a quarter of assignments are missed
        for (const auto& m : miners)
          if (t.miner == net.actor(m).addr())
            txs.push_back(net.tx(net.actor(m), result_for(t, tokens(rng() % (t.params.max_tokens + 1), static_cast<uint32_t>(rng() % 50'000)))));
      }
      if (t.status == Status::kSubmitted)
        for (size_t v = 0; v < 4; ++v)
          if (rng() % 3 == 0) {
            const bool accept = rng() % 5 != 0;
            txs.push_back(net.tx(net.validator(v).account, accept                    ? accept_verdict(t.id)
                                                          : t.output_tokens.empty() ? reject_unchecked(t.id)
                                                                                    : reject_verdict(t, static_cast<uint32_t>(t.id % t.output_tokens.size()))));
          }
      if (t.status == Status::kPending && rng() % 5 == 0)
        txs.push_back(net.tx(net.actor(pick(users)), chain::CancelTask{t.id}));  // often not the owner
    }
    for (size_t v = 0; v < 4; ++v) {
      if (h % 10 == 1 && committed.count(v) && committed_epoch[v] + 1 == epoch) {
        Hash salt = hash_of("r" + std::to_string(v) + "-" + std::to_string(committed_epoch[v]));
        txs.push_back(net.tx(net.validator(v).account, chain::RevealWeights{committed_epoch[v], committed[v], salt}));
      }
      if (h % 10 == 4) {
        std::vector<chain::WeightEntry> w;
        for (const auto& m : miners)
          if (rng() % 3) w.push_back({static_cast<uint16_t>(*ct::registry::uid_of(net.state(), net.actor(m).addr())),
                                      static_cast<uint16_t>(1 + rng() % 65535)});
        committed[v] = w;
        committed_epoch[v] = epoch;
        Hash salt = hash_of("r" + std::to_string(v) + "-" + std::to_string(epoch));
        txs.push_back(net.tx(net.validator(v).account, chain::CommitWeights{epoch, weights_commit_hash(net.validator(v).account.addr(), epoch, w, salt)}));
      }
    }
    if (rng() % 4 == 0) {
      Actor& m = net.actor(pick(miners));
      txs.push_back(rng() % 2 ? net.tx(m, chain::Stake{StakeRole::kMiner, rng() % 3'000})
                              : net.tx(m, chain::Unstake{StakeRole::kMiner, rng() % 6'000}));
    }
    if (rng() % 4 == 0) txs.push_back(net.tx(net.actor(pick(users)), chain::Transfer{net.actor(pick(miners)).addr(), rng() % 10'000, ""}));
    if (h == 33) {
      const SecretKey& k = net.validator(3).consensus;
      txs.push_back(net.tx(net.actor("u1"), chain::Evidence{signed_vote(k, 30, 0, hash_of("x")), signed_vote(k, 30, 0, hash_of("y"))}));
    }
    net.block(txs);
  }
  size_t ok = 0, failed = 0;
  for (const auto& b : net.history())
    for (const auto& r : b.receipts) (r.code == TxCode::kOk ? ok : failed)++;
  EXPECT_GT(ok, 100u);
  EXPECT_GT(failed, 5u);
  EXPECT_GT(net.total_minted(), 0u);
  EXPECT_GT(net.total_slashed(), 0u);
  EXPECT_FALSE(net.events("task_settled").empty());
  EXPECT_FALSE(net.events("task_timeout").empty());
  TestChain fresh(net.genesis());
  auto roots = net.replay_into(fresh);
  ASSERT_EQ(roots.size(), net.history().size());
  for (size_t i = 0; i < roots.size(); ++i) EXPECT_EQ(roots[i], net.history()[i].block.header.state_root) << "height " << i + 1;
}

TEST(ContractsReplay, ABlockWithAForgedStateRootIsRefused) {
  ReplayScript script;
  script.run();
  TestChain fresh(script.net.genesis());
  Block forged = script.net.history()[0].block;
  forged.header.state_root[0] ^= 1;
  auto v = fresh.ledger->validate(forged);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, "block.state_root");
}

}  // namespace
}  // namespace ig::testing
