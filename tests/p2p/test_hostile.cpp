// Hostile and broken peers against a real node: no TLS, TLS 1.2, silence, oversized and
// malformed frames (closed, scored down, banned), a peer that never reads (dropped when its queue
// is full, memory bounded), the receive rate limit and the keep-alive timeout.
#include "helpers.hpp"

namespace {

using namespace p2p_test;

std::vector<uint8_t> frame(uint8_t ch, std::vector<uint8_t> payload) { return encode_frame(ch, payload); }

TEST(HostileTest, PlainTcpClientIsRefused) {
  auto a = make_node(1, test_config(), {key(2).id()});
  net::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), a->port()));
  std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  net::write(s, net::buffer(req));
  // The node answers with a TLS alert at most, then closes.
  std::vector<char> buf(4096);
  boost::system::error_code ec;
  size_t total = 0;
  while (!ec) total += s.read_some(net::buffer(buf), ec);
  EXPECT_LT(total, 100u);
  EXPECT_TRUE(a->net->peers().empty());
  ASSERT_TRUE(wait_until([&] { return a->net->stats().handshake_failures == 1; }));
}

TEST(HostileTest, Tls12ClientIsRefused) {
  auto a = make_node(1, test_config(), {key(2).id()});
  RawPeer old(key(2), /*tls12_only=*/true);
  ASSERT_TRUE(old.connect(a->port()));
  EXPECT_FALSE(old.handshake());
  EXPECT_TRUE(a->net->peers().empty());
  ASSERT_TRUE(wait_until([&] { return a->net->stats().handshake_failures == 1; }));
  // The same key over TLS 1.3 is admitted.
  RawPeer good(key(2));
  EXPECT_TRUE(good.connect_and_hello(a->port()));
  ASSERT_TRUE(wait_until([&] { return a->connected_to(key(2).id()); }));
}

TEST(HostileTest, SilentConnectionIsClosedAtTheHandshakeTimeout) {
  auto cfg = test_config();
  cfg.handshake_timeout = 300ms;
  auto a = make_node(1, cfg, {key(2).id()});
  // Nothing at all after TCP connect.
  RawPeer silent(key(2));
  ASSERT_TRUE(silent.connect(a->port()));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.tcp_closed_within(3000ms));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 1500ms);
  // TLS done but no hello.
  RawPeer no_hello(key(2));
  ASSERT_TRUE(no_hello.connect(a->port()));
  ASSERT_TRUE(no_hello.handshake());
  EXPECT_TRUE(no_hello.closed_within(3000ms));
  EXPECT_TRUE(a->net->peers().empty());
  EXPECT_TRUE(wait_until([&] { return a->net->stats().handshake_failures >= 2; }));
}

TEST(HostileTest, OversizedFramesCloseScoreDownAndFinallyBan) {
  auto a = make_node(1, test_config(), {key(2).id()});  // ban at -100, 40 per bad frame
  const NodeId bad = key(2).id();
  for (int i = 1; i <= 3; ++i) {
    RawPeer p(key(2));
    ASSERT_TRUE(p.connect_and_hello(a->port())) << "attempt " << i;
    ASSERT_TRUE(wait_until([&] { return a->connected_to(bad); }));
    // Only the header: the node must not wait for (or buffer) the 64 KiB + 1 it announces.
    auto header = encode_frame_header(kFast, 64 * 1024 + 1);
    ASSERT_TRUE(p.write(std::vector<uint8_t>(header.begin(), header.end())));
    EXPECT_TRUE(p.closed_within(3000ms));
    ASSERT_TRUE(wait_until([&] { return !a->connected_to(bad); }));
    if (i < 3) {
      EXPECT_EQ(a->net->score(bad), -40 * i);
    }
  }
  EXPECT_TRUE(a->net->banned(bad));
  EXPECT_EQ(a->net->stats().bad_frames, 3u);
  EXPECT_EQ(a->net->stats().bans, 1u);
  RawPeer p(key(2));
  ASSERT_TRUE(p.connect(a->port()));
  EXPECT_FALSE(p.handshake() && p.hello()) << "banned: refused at the handshake";
  EXPECT_FALSE(a->connected_to(bad));
}

TEST(HostileTest, MalformedFramesCloseAndScoreDown) {
  auto cfg = test_config();
  cfg.ban_threshold = 1000;  // look at the scores, do not ban
  auto a = make_node(1, cfg, {key(2).id()});
  const NodeId bad = key(2).id();
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    bool before_hello = false;
  };
  std::vector<Case> cases = {
      {"unknown channel", frame(99, {1, 2, 3})},
      {"unknown control type", frame(kControlChannel, {9})},
      {"short ping", frame(kControlChannel, {2, 0, 0})},
      {"second hello", frame(kControlChannel, encode_control(Hello{kProtocolVersion, "test"}))},
      {"control frame over 128 bytes", frame(kControlChannel, std::vector<uint8_t>(129, 2))},
      {"data before hello", frame(kFast, {1}), true},
  };
  int expected_score = 0;
  for (auto& c : cases) {
    RawPeer p(key(2));
    ASSERT_TRUE(p.connect(a->port()));
    ASSERT_TRUE(p.handshake());
    if (!c.before_hello) {
      ASSERT_TRUE(p.hello()) << c.name;
      ASSERT_TRUE(wait_until([&] { return a->connected_to(bad); })) << c.name;
    }
    ASSERT_TRUE(p.write(c.bytes)) << c.name;
    EXPECT_TRUE(p.closed_within(3000ms)) << c.name;
    ASSERT_TRUE(wait_until([&] { return !a->connected_to(bad); })) << c.name;
    expected_score -= 40;
    // Before the hello the connection was never up: wait for the penalty, not the disconnect.
    EXPECT_TRUE(wait_until([&] { return a->net->score(bad) == expected_score; })) << c.name << ": "
                                                                                 << a->net->score(bad);
  }
  EXPECT_EQ(a->net->stats().bad_frames, cases.size());
  EXPECT_TRUE(a->count(kFast) == 0);
}

TEST(HostileTest, WrongNetworkOrVersionIsClosedWithoutPenalty) {
  auto a = make_node(1, test_config(), {key(2).id()});
  RawPeer p(key(2));
  ASSERT_TRUE(p.connect(a->port()));
  ASSERT_TRUE(p.handshake());
  ASSERT_TRUE(p.write(frame(kControlChannel, encode_control(Hello{kProtocolVersion, "other-chain"}))));
  EXPECT_TRUE(p.closed_within(3000ms));
  RawPeer q(key(2));
  ASSERT_TRUE(q.connect(a->port()));
  ASSERT_TRUE(q.handshake());
  ASSERT_TRUE(q.write(frame(kControlChannel, encode_control(Hello{kProtocolVersion + 1, "test"}))));
  EXPECT_TRUE(q.closed_within(3000ms));
  EXPECT_EQ(a->net->score(key(2).id()), 0);
  EXPECT_TRUE(a->net->peers().empty());
}

TEST(HostileTest, PeerThatNeverReadsIsDroppedWithBoundedMemory) {
  auto cfg = test_config();
  cfg.channels[2].max_queue_bytes = 2u << 20;  // kBulk: 2 MiB per peer
  cfg.write_timeout = 60s;                     // the queue cap, not the write timeout, must act
  auto a = make_node(1, cfg, {key(2).id()});
  RawPeer lazy(key(2));
  ASSERT_TRUE(lazy.connect_and_hello(a->port()));
  ASSERT_TRUE(wait_until([&] { return a->connected_to(key(2).id()); }));
  size_t rss0 = rss_bytes();
  size_t max_queued = 0, sent = 0;
  std::vector<uint8_t> msg(256 * 1024, 7);
  for (int i = 0; i < 4000 && a->connected_to(key(2).id()); ++i) {
    if (a->net->send(key(2).id(), kBulk, msg)) ++sent;
    for (auto& p : a->net->peers()) max_queued = std::max(max_queued, p.queued_bytes);
  }
  ASSERT_TRUE(wait_until([&] { return !a->connected_to(key(2).id()); }));
  EXPECT_EQ(a->net->stats().dropped_slow, 1u);
  EXPECT_EQ(a->event_count(key(2).id(), false), 1u);
  EXPECT_LE(max_queued, 2u << 20);
  // The socket buffers take some megabytes before the queue fills; never the ~1 GB offered.
  EXPECT_LT(sent * msg.size(), 200u << 20) << sent << " messages taken";
  size_t rss1 = rss_bytes();
  EXPECT_LT(rss1, rss0 + (64u << 20)) << "rss grew from " << rss0 << " to " << rss1;
  EXPECT_FALSE(a->net->banned(key(2).id())) << "slow is not hostile";
}

TEST(HostileTest, StuckWriteIsClosedAtTheWriteTimeout) {
  auto cfg = test_config();
  cfg.write_timeout = 300ms;
  cfg.channels[2].max_queue_bytes = 64u << 20;  // the write timeout, not the queue cap, must act
  auto a = make_node(1, cfg, {key(2).id()});
  RawPeer lazy(key(2));
  ASSERT_TRUE(lazy.connect_and_hello(a->port()));
  ASSERT_TRUE(wait_until([&] { return a->connected_to(key(2).id()); }));
  // Enough to fill the socket buffers (the queue holds the rest), then never read.
  std::vector<uint8_t> msg(1u << 20, 1);
  for (int i = 0; i < 40 && a->connected_to(key(2).id()); ++i) a->net->send(key(2).id(), kBulk, msg);
  ASSERT_TRUE(wait_until([&] { return !a->connected_to(key(2).id()); }, 5000ms));
  EXPECT_GE(a->net->stats().dropped_slow, 1u);
}

TEST(HostileTest, ReceiveRateIsLimited) {
  std::set<NodeId> allowed = {key(1).id(), key(2).id()};
  auto cfg_b = test_config();
  cfg_b.recv_rate_bytes_per_s = 1u << 20;  // 1 MiB/s
  cfg_b.recv_burst_bytes = 64 * 1024;
  auto b = make_node(2, cfg_b, allowed);
  auto cfg_a = test_config();
  cfg_a.persistent = {b->address()};
  auto a = make_node(1, cfg_a, allowed);
  ASSERT_TRUE(wait_until([&] { return a->connected_to(b->id()) && b->connected_to(a->id()); }));
  constexpr size_t kMessages = 48;  // 3 MiB in 64 KiB messages
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < kMessages; ++i) ASSERT_TRUE(a->net->send(b->id(), kBulk, std::vector<uint8_t>(64 * 1024, 1)));
  ASSERT_TRUE(wait_until([&] { return b->count(kBulk) == kMessages; }, 10000ms));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // (3 MiB - 64 KiB burst) at 1 MiB/s is 2.9 s; allow for timer slack, never much faster.
  EXPECT_GE(seconds, 2.6) << "3 MiB arrived in " << seconds << " s";
  EXPECT_LE(seconds, 6.0);
  for (auto& p : b->net->peers()) EXPECT_EQ(p.score, 0) << "rate limiting is not a penalty";
}

TEST(HostileTest, PeerThatStopsAnsweringIsClosedByKeepAlive) {
  auto cfg = test_config();
  cfg.ping_interval = 100ms;
  cfg.pong_timeout = 300ms;
  auto a = make_node(1, cfg, {key(2).id()});
  RawPeer mute(key(2));
  ASSERT_TRUE(mute.connect_and_hello(a->port()));
  ASSERT_TRUE(wait_until([&] { return a->connected_to(key(2).id()); }));
  auto t0 = std::chrono::steady_clock::now();
  // The raw peer neither reads nor answers; the node pings, hears nothing and closes.
  ASSERT_TRUE(wait_until([&] { return !a->connected_to(key(2).id()); }, 3000ms));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(a->net->score(key(2).id()), 0);
}

TEST(HostileTest, PeerThatAnswersPingsStaysConnected) {
  auto cfg = test_config();
  cfg.ping_interval = 50ms;
  cfg.pong_timeout = 200ms;
  std::set<NodeId> allowed = {key(1).id(), key(2).id()};
  auto b = make_node(2, cfg, allowed);
  cfg.persistent = {b->address()};
  auto a = make_node(1, cfg, allowed);
  ASSERT_TRUE(wait_until([&] { return a->connected_to(b->id()); }));
  std::this_thread::sleep_for(1000ms);  // 20 ping intervals, 5 pong timeouts
  EXPECT_TRUE(a->connected_to(b->id()));
  EXPECT_EQ(a->event_count(b->id(), false), 0u);
}

}  // namespace
