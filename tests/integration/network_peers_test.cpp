// Peers that are not allowed, or that send bad votes, unsolicited sync blocks and blocks with
// bad commits, are refused and scored down; a synced proposer's early proposal is kept
// (issue 9, docs/consensus.md §6). A test peer is a p2p::Network client built by the test,
// against a network of real infergridd validators (network_harness.hpp).
#include "tests/integration/network_harness.hpp"

namespace ig::itest {
namespace {

// --- 7. bad peers ---------------------------------------------------------------------------

// A p2p::Network client of the node's own chain, built by the test.
struct TestPeer {
  std::unique_ptr<p2p::Network> net;
  std::mutex mu;
  std::vector<uint64_t> requests;  // block-sync requests received
  std::atomic<int> ups{0}, downs{0};
  std::function<void(uint64_t)> on_request;

  static std::unique_ptr<TestPeer> make(const std::string& chain_id, const p2p::NodeKey& key, const ValidatorHome& target) {
    auto t = std::make_unique<TestPeer>();
    p2p::NetworkConfig cfg;
    cfg.listen = "";
    cfg.network = chain_id;
    cfg.channels = p2p::default_channels();
    cfg.redial_initial = 200ms;
    cfg.handshake_timeout = 3s;
    auto addr = p2p::parse_peer_address(target.node_id + "@127.0.0.1:" + std::to_string(target.p2p_port));
    if (!addr) return nullptr;
    cfg.persistent.push_back(*addr);
    auto net = p2p::Network::create(cfg, key);
    if (!net) return nullptr;
    t->net = std::move(*net);
    t->net->set_allowed({addr->id});
    TestPeer* raw = t.get();
    t->net->on_peer([raw](const p2p::NodeId&, bool up) { ++(up ? raw->ups : raw->downs); });
    t->net->on_message([raw](const p2p::NodeId&, uint8_t channel, std::vector<uint8_t> bytes) {
      // Block-sync request: [2][height u64].
      if (channel != p2p::kChannelBlockSync || bytes.size() != 9 || bytes[0] != 2) return;
      chain::Reader r(chain::ByteView(bytes.data() + 1, 8));
      const uint64_t h = r.u64();
      std::function<void(uint64_t)> answer;
      {
        std::lock_guard l(raw->mu);
        raw->requests.push_back(h);
        answer = raw->on_request;
      }
      if (answer) answer(h);
    });
    if (!t->net->start()) return nullptr;
    return t;
  }
  ~TestPeer() {
    if (net) net->stop();
  }
};

chain::Bytes sync_status(uint64_t height) {
  chain::Writer w;
  w.u8(1);
  w.u64(height);
  return std::move(w).take();
}

TEST_F(NetworkTest, UnknownPeersAndBadBlocksAreRefused) {
  make_testnet(1);
  ASSERT_FALSE(HasFatalFailure());
  auto allowed_key = p2p::NodeKey::generate();
  auto stranger_key = p2p::NodeKey::generate();
  ASSERT_TRUE(allowed_key && stranger_key);
  allow_peer(allowed_key->id().to_string());
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(all_reach(all(), 3, 30s));
  const std::string chain_id = (*call(*nodes_[0], "node_info"))["chain_id"];

  // Not on the allow-list: the TLS handshake is refused, the peer never comes up.
  {
    auto stranger = TestPeer::make(chain_id, *stranger_key, vals_[0]);
    ASSERT_TRUE(stranger);
    EXPECT_TRUE(eventually([&] { return stranger->net->stats().dial_failures >= 2; }, 10s));
    EXPECT_EQ(stranger->ups.load(), 0);
    EXPECT_TRUE(eventually(
        [&] { return nodes_[0]->log().find("node " + stranger_key->id().to_string() + " is not on the allow-list") != std::string::npos; },
        5s));
  }

  // Allowed, but lying: a vote from a non-validator, then "blocks" whose commits do not verify.
  auto liar = TestPeer::make(chain_id, *allowed_key, vals_[0]);
  ASSERT_TRUE(liar);
  ASSERT_TRUE(eventually([&] { return liar->ups.load() >= 1; }, 10s));
  const std::string liar_short = allowed_key->id().to_string().substr(0, 12);
  const p2p::NodeId node_id = *p2p::node_id_from_string(vals_[0].node_id);

  const chain::SecretKey forger = chain::SecretKey::generate();
  {
    // Votes of the heights around the node's own (a vote for a height the node is not deciding
    // or has just decided cannot be judged, and is ignored rather than scored).
    const uint64_t head = head_of(*nodes_[0]);
    for (uint64_t h = head; h <= head + 3; ++h) {
      chain::bft::Vote v{chain::bft::kPrevote, h, 0, chain::Hash{}, forger.public_key(), {}};
      const chain::Hash sh = chain::bft::vote_signing_hash(chain_id, v);
      v.signature = forger.sign(chain::ByteView(sh.data(), sh.size()));
      chain::Bytes msg{2};
      chain::append(msg, chain::bft::encode(v));
      ASSERT_TRUE(liar->net->send(node_id, p2p::kChannelConsensus, msg));
    }
  }
  ASSERT_TRUE(eventually([&] { return nodes_[0]->log().find("peer " + liar_short + " scored down by 20") != std::string::npos; }, 10s))
      << nodes_[0]->log();

  // A forged block for each height the node asks for, with a commit "signed" by the validator's
  // key with a signature that is not its own.
  chain::PublicKey validator_key{};
  {
    auto bytes = chain::from_hex(vals_[0].consensus_key);
    ASSERT_TRUE(bytes && bytes->size() == 32);
    std::copy(bytes->begin(), bytes->end(), validator_key.begin());
  }
  std::set<std::string> forged_hashes;
  std::mutex forged_mu;
  std::unique_lock answer_lock(liar->mu);
  liar->on_request = [&](uint64_t h) {
    chain::Block b;
    b.header.chain_id = chain_id;
    b.header.height = h;
    b.header.time_ms = 1;
    b.header.proposer = forger.public_key();
    const chain::Hash hash = chain::block_hash(b.header);
    {
      std::lock_guard l(forged_mu);
      forged_hashes.insert(chain::to_hex(hash));
    }
    chain::Commit commit{h, 0, hash, {chain::CommitSig{validator_key, forger.sign(chain::ByteView(hash.data(), hash.size()))}}};
    chain::Writer w;
    w.u8(3);
    w.bytes(chain::encode_block(b));
    w.bytes(chain::encode_commit(commit));
    liar->net->send(node_id, p2p::kChannelBlockSync, std::move(w).take());
  };
  answer_lock.unlock();
  // Claim to be far ahead, so that the node asks us for blocks.
  ASSERT_TRUE(liar->net->send(node_id, p2p::kChannelBlockSync, sync_status(head_of(*nodes_[0]) + 1000)));
  ASSERT_TRUE(eventually([&] { return liar->downs.load() >= 1 && liar->net->peers().empty(); }, 20s))
      << "the node kept a peer that sent blocks with bad commits";
  const std::string log = nodes_[0]->log();
  EXPECT_NE(log.find("peer " + liar_short + " scored down by 50"), std::string::npos) << log;
  EXPECT_NE(log.find("banning peer " + allowed_key->id().to_string()), std::string::npos) << log;
  // Banned: redials are refused while the ban lasts.
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(liar->net->peers().empty());

  // Nothing of it was stored: the validator keeps deciding its own blocks, each with its commit.
  const uint64_t head = head_of(*nodes_[0]);
  ASSERT_TRUE(all_reach(all(), head + 3, 30s));
  auto c = nodes_[0]->client();
  for (uint64_t h = 1; h <= head + 3; ++h) {
    json b = block_at(c, h);
    ASSERT_TRUE(b.is_object());
    EXPECT_EQ(b["header"]["proposer"], vals_[0].consensus_key) << "height " << h;
    std::lock_guard l(forged_mu);
    EXPECT_FALSE(forged_hashes.count(b["hash"])) << "a forged block was stored at height " << h;
  }
}

// A peer may only answer what the node asked for: blocks nobody requested, far ahead of the head
// where they would never be applied, must not pile up in the node's memory.
TEST_F(NetworkTest, UnsolicitedSyncBlocksAreNotKept) {
  make_testnet(1);
  ASSERT_FALSE(HasFatalFailure());
  auto key = p2p::NodeKey::generate();
  ASSERT_TRUE(key);
  allow_peer(key->id().to_string());
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(all_reach(all(), 3, 30s));
  const std::string chain_id = (*call(*nodes_[0], "node_info"))["chain_id"];
  auto peer = TestPeer::make(chain_id, *key, vals_[0]);
  ASSERT_TRUE(peer);
  ASSERT_TRUE(eventually([&] { return peer->ups.load() >= 1; }, 10s));
  const p2p::NodeId node_id = *p2p::node_id_from_string(vals_[0].node_id);

  // ~2 MiB blocks: 120 transactions carrying 16 KiB prompts each (what a block may hold).
  const chain::SecretKey sender = chain::SecretKey::generate();
  chain::Block big;
  big.header.chain_id = chain_id;
  big.header.time_ms = 1;
  for (int i = 0; i < 120; ++i) {
    chain::Transaction tx;
    tx.body = chain::TxBody{chain_id, sender.public_key(), static_cast<uint64_t>(i), 1, 0,
                            chain::SubmitTask{chain::Hash{}, std::string(chain::kMaxPromptBytes, 'x'), {}, 1}};
    big.txs.push_back(tx);
  }
  std::this_thread::sleep_for(1s);  // let the node settle after the connection
  const uint64_t rss_before = nodes_[0]->rss_kib();
  ASSERT_GT(rss_before, 0u);
  const uint64_t far = head_of(*nodes_[0]) + 100000;
  constexpr int kBlocks = 48;
  size_t sent_bytes = 0;
  for (int i = 0; i < kBlocks; ++i) {
    big.header.height = far + static_cast<uint64_t>(i);
    const chain::Hash hash = chain::block_hash(big.header);
    chain::Commit commit{big.header.height, 0, hash, {}};
    chain::Writer w;
    w.u8(3);
    w.bytes(chain::encode_block(big));
    w.bytes(chain::encode_commit(commit));
    chain::Bytes msg = std::move(w).take();
    sent_bytes += msg.size();
    // Keep our own send queue short (a full block-sync queue would drop the connection).
    ASSERT_TRUE(eventually(
        [&] {
          auto ps = peer->net->peers();
          return !ps.empty() && ps[0].queued_bytes < (8u << 20);
        },
        20s, 10ms));
    ASSERT_TRUE(peer->net->send(node_id, p2p::kChannelBlockSync, std::move(msg)));
  }
  ASSERT_GT(sent_bytes, 90u << 20);
  // Everything delivered: our queue is empty and the node had time to decode the last ones.
  ASSERT_TRUE(eventually(
      [&] {
        auto ps = peer->net->peers();
        return !ps.empty() && ps[0].queued_bytes == 0;
      },
      30s, 20ms));
  std::this_thread::sleep_for(2s);
  const uint64_t rss_after = nodes_[0]->rss_kib();
  RecordProperty("rss_growth_kib", std::to_string(rss_after > rss_before ? rss_after - rss_before : 0));
  EXPECT_LT(rss_after, rss_before + (32u << 10)) << "the node kept ~" << (rss_after - rss_before) / 1024
                                                 << " MiB of blocks it never asked for (" << sent_bytes / (1 << 20) << " MiB sent)";
  // And it goes on as before.
  ASSERT_TRUE(all_reach(all(), head_of(*nodes_[0]) + 3, 30s));
}

// A validator that catches up by block sync enters the next height at once, while the others
// still sit in their commit wait; if it is that height's proposer, its proposal reaches them
// before they enter the height. They must keep it for when they do, not drop it and depend on
// the proposer's re-gossip. Shown by killing the proposer right after it proposed: its block is
// still decided in round 0 (dropped, round 0 would end in nil for want of a proposal and another
// validator's block would be decided in round 1).
TEST_F(NetworkTest, EarlyProposalOfASyncedProposerIsKept) {
  // A 2 s commit wait leaves the restarted proposer time to start, sync and propose while the
  // others wait.
  make_testnet(4, {}, 2000);
  ASSERT_FALSE(HasFatalFailure());
  start_all();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(all_reach(all(), 1, 60s));
  const size_t x = 3;
  // proposer(h, 0) by the engine's own rule (proposer.hpp) over the genesis set.
  std::vector<chain::Validator> set;
  {
    auto vs = call(*nodes_[0], "chain_validators");
    ASSERT_TRUE(vs);
    for (const auto& v : *vs) {
      chain::Validator val;
      auto k = chain::from_hex(v["consensus_key"].get<std::string>());
      ASSERT_TRUE(k && k->size() == 32);
      std::copy(k->begin(), k->end(), val.consensus_key.begin());
      val.power = std::stoull(v["stake"].get<std::string>());
      set.push_back(val);
    }
  }
  auto vset = chain::bft::ValidatorSet::make(set);
  ASSERT_TRUE(vset);
  chain::bft::ProposerSchedule schedule(*vset);
  auto proposer_key = [&](uint64_t h) { return chain::to_hex(vset->at(schedule.proposer(h, 0)).consensus_key); };

  nodes_[x]->kill9();
  uint64_t h = 0;
  bool staged = false;
  for (int attempt = 0; attempt < 3 && !staged; ++attempt) {
    // Catch the moment the head becomes a height h whose successor x proposes in round 0.
    uint64_t seen = head_of(*nodes_[0]);
    auto became = std::chrono::steady_clock::now();
    ASSERT_TRUE(eventually(
        [&] {
          const uint64_t now = head_of(*nodes_[0]);
          if (now != seen) {
            seen = now;
            became = std::chrono::steady_clock::now();
            return proposer_key(now + 1) == vals_[x].consensus_key;
          }
          return false;
        },
        60s, 20ms));
    h = seen;
    start(x);
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(eventually([&] { return head_of(*nodes_[x]) >= h; }, 10s)) << nodes_[x]->log();
    std::this_thread::sleep_for(300ms);  // it enters h + 1 and proposes at once after the sync
    nodes_[x]->kill9();
    // Valid only if all of that happened within the others' commit wait.
    staged = std::chrono::steady_clock::now() - became < 1500ms && head_of(*nodes_[0]) == h;
  }
  ASSERT_TRUE(staged) << "could not restart the proposer within the commit wait (machine too slow?)";

  ASSERT_TRUE(all_reach(group({0, 1, 2}), h + 1, 60s));
  auto c = nodes_[0]->client();
  json b = block_at(c, h + 1);
  EXPECT_EQ(b["header"]["proposer"], vals_[x].consensus_key) << "the early proposal was lost";
  EXPECT_EQ(b["commit"]["round"], 0);

  // Back again: it replays its WAL (it signed a proposal and a prevote at h + 1), syncs, and
  // everyone agrees.
  start(x);
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(all_reach(all(), h + 3, 60s));
  expect_agreement(all(), 4);
}

}  // namespace
}  // namespace ig::itest
