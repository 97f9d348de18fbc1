// Nodes on real sockets (127.0.0.1, ephemeral ports): connecting, exchanging on several channels
// in order, the allow-list in both directions, identity checks, duplicate connections, gossip
// dedup, persistent redial with backoff, bans, and stop() with peers connected.
#include "helpers.hpp"

namespace {

using namespace p2p_test;

std::vector<uint8_t> numbered(uint32_t seq, size_t size) {
  std::vector<uint8_t> v(std::max<size_t>(size, 4), static_cast<uint8_t>(seq));
  v[0] = static_cast<uint8_t>(seq >> 24);
  v[1] = static_cast<uint8_t>(seq >> 16);
  v[2] = static_cast<uint8_t>(seq >> 8);
  v[3] = static_cast<uint8_t>(seq);
  return v;
}
uint32_t seq_of(const std::vector<uint8_t>& v) {
  return uint32_t{v[0]} << 24 | uint32_t{v[1]} << 16 | uint32_t{v[2]} << 8 | v[3];
}

TEST(NetworkTest, ThreeNodesExchangeOnSeveralChannelsInOrder) {
  auto allowed = std::set<NodeId>{key(1).id(), key(2).id(), key(3).id()};
  auto c = make_node(3, test_config(), allowed);
  auto cfg_b = test_config();
  cfg_b.persistent = {c->address()};
  auto b = make_node(2, cfg_b, allowed);
  auto cfg_a = test_config();
  cfg_a.persistent = {b->address(), c->address()};
  auto a = make_node(1, cfg_a, allowed);
  std::vector<Node*> nodes = {a.get(), b.get(), c.get()};
  ASSERT_TRUE(wait_until([&] {
    for (auto* n : nodes)
      if (n->net->peers().size() != 2) return false;
    return true;
  })) << "full mesh";

  constexpr uint32_t kPerChannel = 300;
  std::vector<std::thread> senders;
  for (auto* from : nodes) {
    senders.emplace_back([&, from] {
      for (uint32_t i = 0; i < kPerChannel; ++i) {
        for (auto* to : nodes) {
          if (to == from) continue;
          EXPECT_TRUE(from->net->send(to->id(), kFast, numbered(i, 64)));
          EXPECT_TRUE(from->net->send(to->id(), kBulk, numbered(i, 20000)));
          // kGossip deduplicates: make every payload distinct per sender.
          auto g = numbered(i, 100);
          g[10] = from->id().bytes[0];
          EXPECT_TRUE(from->net->send(to->id(), kGossip, g));
        }
      }
    });
  }
  for (auto& t : senders) t.join();
  ASSERT_TRUE(wait_until([&] {
    for (auto* n : nodes)
      if (n->count(kFast) != 2 * kPerChannel || n->count(kBulk) != 2 * kPerChannel || n->count(kGossip) != 2 * kPerChannel)
        return false;
    return true;
  }, 20000ms));
  for (auto* n : nodes) {
    std::lock_guard l(n->mu);
    std::map<std::pair<NodeId, uint8_t>, uint32_t> next;
    for (auto& m : n->msgs) {
      uint32_t& expect = next[{m.from, m.channel}];
      ASSERT_EQ(seq_of(m.payload), expect) << "channel " << int(m.channel);
      ++expect;
    }
  }
  // peers() reports both directions and traffic.
  for (auto& p : a->net->peers()) {
    EXPECT_FALSE(p.inbound) << "a dialed both";
    EXPECT_GT(p.bytes_in, 0u);
    EXPECT_GT(p.bytes_out, kPerChannel * 20000u);
    EXPECT_EQ(p.score, 0);
    EXPECT_NE(p.address.find("127.0.0.1:"), std::string::npos);
  }
  for (auto& p : c->net->peers()) EXPECT_TRUE(p.inbound);
  EXPECT_EQ(a->net->broadcast(kFast, numbered(9999, 8)), 2u);
  EXPECT_FALSE(a->net->send(a->id(), kFast, {1})) << "not a peer of itself";
  EXPECT_FALSE(a->net->send(b->id(), 77, {1})) << "unknown channel";
  EXPECT_FALSE(a->net->send(b->id(), kFast, std::vector<uint8_t>(64 * 1024 + 1))) << "over the channel cap";
  EXPECT_EQ(a->net->broadcast(kFast, std::vector<uint8_t>(64 * 1024 + 1)), 0u);
}

TEST(NetworkTest, PeerNotOnTheAllowListIsRefusedWhenItDials) {
  auto b = make_node(2, test_config(), {/* a is not allowed */ key(3).id()});
  auto cfg_a = test_config();
  cfg_a.persistent = {b->address()};
  auto a = make_node(1, cfg_a, {key(2).id()});
  ASSERT_TRUE(wait_until([&] { return b->net->stats().handshake_failures >= 2; }));
  EXPECT_TRUE(a->net->peers().empty());
  EXPECT_TRUE(b->net->peers().empty());
  EXPECT_EQ(a->event_count(b->id(), true), 0u);
  EXPECT_EQ(b->event_count(a->id(), true), 0u);
  EXPECT_TRUE(wait_until([&] { return a->net->stats().dial_failures >= 2; })) << "redialed, and failed again";
  // Allowing it at run time lets the next redial in.
  b->net->set_allowed({a->id()});
  ASSERT_TRUE(wait_until([&] { return a->connected_to(b->id()) && b->connected_to(a->id()); }));
  // Removing it again disconnects it.
  b->net->set_allowed({});
  ASSERT_TRUE(wait_until([&] { return !a->connected_to(b->id()) && !b->connected_to(a->id()); }));
  EXPECT_EQ(b->event_count(a->id(), false), 1u);
}

TEST(NetworkTest, PeerNotOnTheAllowListIsRefusedWhenDialed) {
  auto b = make_node(2, test_config(), {key(1).id()});  // b would accept a
  auto cfg_a = test_config();
  cfg_a.persistent = {b->address()};
  auto a = make_node(1, cfg_a, {key(3).id()});  // but a does not allow b
  ASSERT_TRUE(wait_until([&] { return a->net->stats().handshake_failures >= 2; }));
  EXPECT_TRUE(a->net->peers().empty());
  EXPECT_TRUE(b->net->peers().empty());
  EXPECT_EQ(b->event_count(a->id(), true), 0u);
}

TEST(NetworkTest, DialedIdMustMatchTheCertificate) {
  // a dials "c@b's address": b is allowed, accepts a, but is not c.
  auto b = make_node(2, test_config(), {key(1).id()});
  auto cfg_a = test_config();
  cfg_a.persistent = {PeerAddress{key(3).id(), "127.0.0.1", b->port()}};
  auto a = make_node(1, cfg_a, {key(2).id(), key(3).id()});
  ASSERT_TRUE(wait_until([&] { return a->net->stats().handshake_failures >= 2; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(a->net->peers().empty());
  EXPECT_TRUE(b->net->peers().empty());
}

TEST(NetworkTest, SelfConnectionIsRefused) {
  auto a = make_node(1, test_config(), {key(1).id(), key(2).id()});
  RawPeer self(key(1));
  ASSERT_TRUE(self.connect(a->port()));
  EXPECT_FALSE(self.handshake() && self.hello());
  EXPECT_TRUE(a->net->peers().empty());
  EXPECT_TRUE(wait_until([&] { return a->net->stats().handshake_failures >= 1; }));
}

TEST(NetworkTest, SimultaneousDialsKeepOneConnection) {
  std::set<NodeId> allowed = {key(1).id(), key(2).id()};
  auto cfg = test_config();
  cfg.listen = "127.0.0.1:0";
  auto a = make_node(1, cfg, allowed);
  auto b = make_node(2, cfg, allowed);
  // Both dial each other at the same moment.
  a->net->set_persistent({b->address()});
  b->net->set_persistent({a->address()});
  ASSERT_TRUE(wait_until([&] { return a->connected_to(b->id()) && b->connected_to(a->id()); }));
  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(a->net->peers().size(), 1u);
  ASSERT_EQ(b->net->peers().size(), 1u);
  EXPECT_NE(a->net->peers()[0].inbound, b->net->peers()[0].inbound) << "the same connection seen from both ends";
  // One side may see the losing connection come up and go before the winner replaces it (the
  // close and the winner's hello travel on different sockets), but each ends with one up.
  EXPECT_EQ(a->event_count(b->id(), true), a->event_count(b->id(), false) + 1);
  EXPECT_EQ(b->event_count(a->id(), true), b->event_count(a->id(), false) + 1);
  // And it carries messages.
  EXPECT_TRUE(a->net->send(b->id(), kFast, {1, 2, 3}));
  ASSERT_TRUE(wait_until([&] { return b->count(kFast) == 1; }));
}

TEST(NetworkTest, GossipIsDeliveredOnceAndNotRebroadcast) {
  auto allowed = std::set<NodeId>{key(1).id(), key(2).id(), key(3).id()};
  auto c = make_node(3, test_config(), allowed);
  auto cfg_b = test_config();
  cfg_b.persistent = {c->address()};
  auto b = make_node(2, cfg_b, allowed);
  auto cfg_a = test_config();
  cfg_a.persistent = {b->address(), c->address()};
  auto a = make_node(1, cfg_a, allowed);
  for (auto* n : {a.get(), b.get(), c.get()}) n->relay_gossip = true;
  ASSERT_TRUE(wait_until([&] {
    return a->net->peers().size() == 2 && b->net->peers().size() == 2 && c->net->peers().size() == 2;
  }));
  for (uint8_t i = 0; i < 20; ++i) EXPECT_EQ(a->net->broadcast(kGossip, std::vector<uint8_t>(50, i)), 2u);
  // b and c each relay to the other, which has it already from a.
  ASSERT_TRUE(wait_until([&] {
    return b->net->stats().duplicates_suppressed + c->net->stats().duplicates_suppressed +
               a->net->stats().duplicates_suppressed >= 40;
  }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(b->count(kGossip), 20u);
  EXPECT_EQ(c->count(kGossip), 20u);
  EXPECT_EQ(a->count(kGossip), 0u) << "our own message coming back is not delivered";
  // A non-dedup channel delivers repeats.
  for (int i = 0; i < 3; ++i) a->net->send(b->id(), kFast, {9, 9});
  ASSERT_TRUE(wait_until([&] { return b->count(kFast) == 3; }));
}

TEST(NetworkTest, PersistentPeerIsRedialedWithBackoffAfterARestart) {
  std::set<NodeId> allowed = {key(1).id(), key(2).id()};
  auto b = make_node(2, test_config(), allowed);
  uint16_t port = b->port();
  auto cfg_a = test_config();
  cfg_a.redial_initial = 50ms;
  cfg_a.redial_max = 2s;
  cfg_a.persistent = {b->address()};
  auto a = make_node(1, cfg_a, allowed);
  ASSERT_TRUE(wait_until([&] { return a->connected_to(b->id()); }));
  b->net->stop();
  b.reset();
  ASSERT_TRUE(wait_until([&] { return a->event_count(key(2).id(), false) == 1; }));
  auto dials_before = a->net->stats().dials;
  std::this_thread::sleep_for(1500ms);
  auto dials_down = a->net->stats().dials - dials_before;
  // 50 ms doubling (+ up to 25 % jitter) fits at most ~5 attempts in 1.5 s; a fixed 50 ms period would be 30.
  EXPECT_GE(dials_down, 2u);
  EXPECT_LE(dials_down, 7u);
  auto cfg_b = test_config();
  cfg_b.listen = "127.0.0.1:" + std::to_string(port);
  b = make_node(2, cfg_b, allowed);
  ASSERT_TRUE(b);
  ASSERT_TRUE(wait_until([&] { return a->connected_to(key(2).id()); }, 6000ms)) << "redialed after the restart";
  EXPECT_EQ(a->event_count(key(2).id(), true), 2u);
  EXPECT_TRUE(a->net->send(b->id(), kFast, {1}));
  ASSERT_TRUE(wait_until([&] { return b->count(kFast) == 1; }));
}

TEST(NetworkTest, ReportedPeerIsBannedAndComesBackAfterTheBan) {
  std::set<NodeId> allowed = {key(1).id(), key(2).id()};
  auto cfg_a = test_config();
  cfg_a.ban_duration = 800ms;
  auto a = make_node(1, cfg_a, allowed);
  auto cfg_b = test_config();
  cfg_b.persistent = {a->address()};
  auto b = make_node(2, cfg_b, allowed);
  ASSERT_TRUE(wait_until([&] { return a->connected_to(b->id()); }));
  a->net->report(b->id(), 60, "invalid transaction");
  EXPECT_EQ(a->net->score(b->id()), -60);
  EXPECT_TRUE(a->connected_to(b->id()));
  a->net->report(b->id(), 60, "invalid vote");
  EXPECT_TRUE(a->net->banned(b->id()));
  ASSERT_TRUE(wait_until([&] { return !a->connected_to(b->id()); }));
  EXPECT_EQ(a->net->stats().bans, 1u);
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(a->connected_to(b->id())) << "b redials, a refuses it while banned";
  ASSERT_TRUE(wait_until([&] { return a->connected_to(b->id()); }, 5000ms)) << "back after the ban";
  EXPECT_FALSE(a->net->banned(b->id()));
  EXPECT_EQ(a->net->score(b->id()), 0);
}

TEST(NetworkTest, StopWithPeersConnectedAndTrafficIsClean) {
  auto allowed = std::set<NodeId>{key(1).id(), key(2).id(), key(3).id()};
  auto c = make_node(3, test_config(), allowed);
  auto cfg_b = test_config();
  cfg_b.persistent = {c->address()};
  auto b = make_node(2, cfg_b, allowed);
  auto cfg_a = test_config();
  cfg_a.persistent = {b->address(), c->address()};
  auto a = make_node(1, cfg_a, allowed);
  ASSERT_TRUE(wait_until([&] { return a->net->peers().size() == 2 && b->net->peers().size() == 2; }));
  std::atomic<bool> go{true};
  std::vector<std::thread> load;
  for (auto* n : {a.get(), b.get(), c.get()})
    load.emplace_back([&, n] {
      uint32_t i = 0;
      while (go) n->net->broadcast(kBulk, numbered(i++, 50000));
    });
  std::this_thread::sleep_for(300ms);
  a->net->stop();
  // Saturated queues may have dropped and redialed peers meanwhile; whatever happened, every
  // up has its down by the time stop() returns.
  for (auto* peer : {b.get(), c.get()}) {
    EXPECT_GE(a->event_count(peer->id(), true), 1u);
    EXPECT_EQ(a->event_count(peer->id(), true), a->event_count(peer->id(), false));
  }
  EXPECT_TRUE(a->net->peers().empty());
  size_t a_msgs = a->count(kBulk);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(a->count(kBulk), a_msgs) << "no callback after stop()";
  EXPECT_EQ(a->net->broadcast(kBulk, {1}), 0u);
  b->net->stop();
  go = false;
  for (auto& t : load) t.join();
  c.reset();  // destructor stops
  b.reset();
  a.reset();
}

}  // namespace
