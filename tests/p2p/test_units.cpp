// p2p/ pieces without sockets: ids and addresses, the node key file, frames and control
// messages, the token bucket, the dedup LRU, send queues, scores, backoff, config checks, and the
// certificate check.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "helpers.hpp"
#include "p2p/detail/limits.hpp"

namespace {

using namespace p2p_test;
using namespace ig::p2p::detail;
namespace fs = std::filesystem;

std::vector<uint8_t> bytes(size_t n, uint8_t v) { return std::vector<uint8_t>(n, v); }

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("p2p_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

TEST(NodeIdTest, TextFormRoundTripsAndIsLowercase) {
  auto k = key(7);
  std::string text = k.id().to_string();
  ASSERT_EQ(text.size(), 64u);
  EXPECT_EQ(text.find_first_not_of("0123456789abcdef"), std::string::npos);
  auto back = node_id_from_string(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, k.id());
  std::string upper = text;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto from_upper = node_id_from_string(upper);
  ASSERT_TRUE(from_upper);
  EXPECT_EQ(from_upper->to_string(), text);
}

TEST(NodeIdTest, RejectsBadText) {
  EXPECT_FALSE(node_id_from_string(""));
  EXPECT_FALSE(node_id_from_string(std::string(63, 'a')));
  EXPECT_FALSE(node_id_from_string(std::string(65, 'a')));
  EXPECT_FALSE(node_id_from_string(std::string(63, 'a') + "g"));
  EXPECT_EQ(node_id_from_string("xyz").error().code, "p2p.bad_node_id");
}

TEST(PeerAddressTest, ParsesAndPrints) {
  std::string id = key(1).id().to_string();
  auto a = parse_peer_address(id + "@10.0.0.5:26656");
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->host, "10.0.0.5");
  EXPECT_EQ(a->port, 26656);
  EXPECT_EQ(a->to_string(), id + "@10.0.0.5:26656");
  auto b = parse_peer_address(id + "@validator-1.example.org:1");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "validator-1.example.org");
  auto c = parse_peer_address(id + "@[::1]:26656");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->to_string(), id + "@[::1]:26656");
  for (const std::string& bad : std::vector<std::string>{"10.0.0.5:26656", id + "@10.0.0.5", id + "@10.0.0.5:0", id + "@10.0.0.5:65536",
                          id + "@:26656", id + "@host:port", id + "@ho st:1", id + "@[::1:1", "abc@1.2.3.4:5",
                          id + "@1.2.3.4:-1", id + "@1.2.3.4:123456"}) {
    auto r = parse_peer_address(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, "p2p.bad_address");
    }
  }
  auto hp = parse_host_port("127.0.0.1:0");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->port, 0);
}

TEST(NodeKeyTest, Rfc8032TestVectorGivesTheExpectedId) {
  // RFC 8032 section 7.1, TEST 1: the node id is the raw Ed25519 public key.
  auto seed = *node_id_from_string("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  auto k = NodeKey::from_seed(seed.bytes);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->id().to_string(), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
}

TEST(NodeKeyTest, SaveLoadAndModes) {
  TempDir dir;
  std::string path = (dir.path / "keys" / "node_key.pem").string();
  auto k = NodeKey::load_or_create(path);
  ASSERT_TRUE(k) << k.error().to_string();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir.path / "keys").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto again = NodeKey::load_or_create(path);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id(), k->id());
  auto loaded = NodeKey::load(path);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->id(), k->id());
  EXPECT_NE(k->to_pem().find("BEGIN PRIVATE KEY"), std::string::npos);

  auto other = NodeKey::generate();
  ASSERT_TRUE(other);
  EXPECT_NE(other->id(), k->id());
  ASSERT_TRUE(other->save(path));  // atomically replaces
  EXPECT_EQ(NodeKey::load(path)->id(), other->id());
  size_t files = 0;
  for (auto& e : fs::directory_iterator(dir.path / "keys")) files += e.is_regular_file();
  EXPECT_EQ(files, 1u) << "no temporary file left behind";

  ::chmod(path.c_str(), 0644);
  auto open = NodeKey::load(path);
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().code, "p2p.key_io");
  EXPECT_NE(open.error().message.find("chmod 600"), std::string::npos);
  EXPECT_FALSE(NodeKey::load_or_create(path)) << "an existing bad file is never overwritten";
}

TEST(NodeKeyTest, RefusesGarbageAndOtherKeyTypes) {
  TempDir dir;
  std::string garbage = (dir.path / "garbage.pem").string();
  {
    std::ofstream(garbage) << "not a key\n";
  }
  ::chmod(garbage.c_str(), 0600);
  auto g = NodeKey::load(garbage);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code, "p2p.bad_key");
  EXPECT_FALSE(NodeKey::load_or_create(garbage));

  // A valid PEM private key of another type (P-256).
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(ec, nullptr);
  std::string path = (dir.path / "ec.pem").string();
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_PrivateKey(f, ec, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  EVP_PKEY_free(ec);
  ::chmod(path.c_str(), 0600);
  auto e = NodeKey::load(path);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, "p2p.bad_key");
  EXPECT_FALSE(NodeKey::load((dir.path / "missing.pem").string()));
}

TEST(CertificateTest, OwnCertificateNamesTheNodeAndForeignSignaturesAreRefused) {
  auto a = key(1), b = key(2);
  auto cert = make_self_signed_certificate(a);
  ASSERT_TRUE(cert);
  auto id = node_id_of_certificate(cert->get());
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, a.id());
  // A's key in the certificate, signed by B: not self-signed, so not proof of anything.
  X509_set_pubkey(cert->get(), a.native());
  ASSERT_GT(X509_sign(cert->get(), b.native(), nullptr), 0);
  auto forged = node_id_of_certificate(cert->get());
  ASSERT_FALSE(forged);
  EXPECT_EQ(forged.error().code, "p2p.bad_certificate");
  EXPECT_FALSE(node_id_of_certificate(nullptr));
}

TEST(FrameTest, RoundTripInAnySplit) {
  ChannelLimits limits{};
  limits[0] = kMaxControlPayload;
  limits[1] = 1000;
  limits[9] = 10;
  std::vector<uint8_t> stream;
  std::vector<Frame> expected = {{1, bytes(1000, 1)}, {9, {}}, {9, bytes(10, 9)}, {0, encode_control(Ping{42})}};
  for (auto& f : expected) {
    auto e = encode_frame(f.channel, f.payload);
    stream.insert(stream.end(), e.begin(), e.end());
  }
  for (size_t step : {1u, 2u, 3u, 5u, 7u, 64u, 5000u}) {
    FrameDecoder dec(limits);
    std::vector<Frame> out;
    for (size_t i = 0; i < stream.size(); i += step) {
      size_t n = std::min(step, stream.size() - i);
      ASSERT_EQ(dec.feed(std::span<const uint8_t>(stream.data() + i, n), out), DecodeError::none);
    }
    ASSERT_EQ(out.size(), expected.size()) << "step " << step;
    for (size_t i = 0; i < out.size(); ++i) {
      EXPECT_EQ(out[i].channel, expected[i].channel);
      EXPECT_EQ(out[i].payload, expected[i].payload);
    }
    EXPECT_EQ(dec.buffered_bytes(), 0u);
  }
}

TEST(FrameTest, OversizedAndUnknownAreCaughtFromTheHeader) {
  ChannelLimits limits{};
  limits[1] = 100;
  FrameDecoder dec(limits);
  std::vector<Frame> out;
  auto header = encode_frame_header(1, 101);
  EXPECT_EQ(dec.feed(header, out), DecodeError::oversized);
  EXPECT_NE(dec.error_text().find("101 bytes"), std::string::npos);
  EXPECT_EQ(dec.feed(bytes(10, 0), out), DecodeError::oversized) << "errors are sticky";
  EXPECT_TRUE(out.empty());

  FrameDecoder dec2(limits);
  EXPECT_EQ(dec2.feed(encode_frame_header(2, 1), out), DecodeError::unknown_channel);
  FrameDecoder dec3(limits);
  EXPECT_EQ(dec3.feed(encode_frame_header(0, 1), out), DecodeError::unknown_channel) << "no control limit given";

  // A header announcing the maximum, then a trickle: the buffer follows the bytes, not the claim.
  limits[1] = 32u << 20;
  FrameDecoder dec4(limits);
  EXPECT_EQ(dec4.feed(encode_frame_header(1, 32u << 20), out), DecodeError::none);
  EXPECT_EQ(dec4.feed(bytes(100, 1), out), DecodeError::none);
  EXPECT_EQ(dec4.buffered_bytes(), 105u);
}

TEST(ControlTest, RoundTripAndRejects) {
  for (ControlMessage m : {ControlMessage{Hello{1, "infergrid-devnet"}}, ControlMessage{Ping{0xdeadbeefcafef00dULL}},
                           ControlMessage{Pong{7}}}) {
    auto enc = encode_control(m);
    EXPECT_LE(enc.size(), kMaxControlPayload);
    auto dec = decode_control(enc);
    ASSERT_TRUE(dec);
    EXPECT_EQ(*dec, m);
  }
  std::vector<std::vector<uint8_t>> bad = {{},           {0},          {4, 0, 0},     {1, 0, 1, 0},
                                           {1, 0, 1, 2, 'a'}, {1, 0, 1, 65}, {2, 1, 2, 3}, {3, 0, 0, 0, 0, 0, 0, 0, 0, 0}};
  for (auto& b : bad) {
    auto r = decode_control(b);
    EXPECT_FALSE(r);
    if (!r) {
      EXPECT_EQ(r.error().code, "p2p.bad_control");
    }
  }
}

TEST(TokenBucketTest, PacesToTheRate) {
  auto t0 = Clock::now();
  TokenBucket b(1000, 500, t0);  // 1000 B/s, 500 B burst
  EXPECT_EQ(b.wait_time(t0), Clock::duration::zero());
  b.consume(1500, t0);  // 1000 in debt
  auto w = b.wait_time(t0);
  EXPECT_GE(w, 1000ms);
  EXPECT_LE(w, 1010ms);
  EXPECT_EQ(b.wait_time(t0 + 1001ms), Clock::duration::zero());
  // Idle time refills only up to the burst.
  b.consume(0, t0 + 100s);
  b.consume(600, t0 + 100s);
  EXPECT_GT(b.wait_time(t0 + 100s), Clock::duration::zero());
}

TEST(DedupCacheTest, RemembersTheMostRecent) {
  DedupCache c(3);
  auto h = [](uint8_t v) {
    ig::Hash32 x{};
    x.fill(v);
    return x;
  };
  EXPECT_TRUE(c.insert(h(1)));
  EXPECT_FALSE(c.insert(h(1)));
  EXPECT_TRUE(c.insert(h(2)));
  EXPECT_TRUE(c.insert(h(3)));
  EXPECT_FALSE(c.insert(h(1)));  // refreshes 1: now 2 is the oldest
  EXPECT_TRUE(c.insert(h(4)));   // evicts 2
  EXPECT_EQ(c.size(), 3u);
  EXPECT_FALSE(c.insert(h(1)));
  EXPECT_TRUE(c.insert(h(2)));
}

Payload payload(size_t n, uint8_t v = 0) { return std::make_shared<const std::vector<uint8_t>>(n, v); }

TEST(SendQueuesTest, LimitsAndOrder) {
  std::vector<ChannelSpec> specs = {ChannelSpec{1, 10, 100, 250, 3, false, 0}, ChannelSpec{2, 1, 100, 1000, 100, true, 0}};
  SendQueues q(specs);
  EXPECT_EQ(q.push(1, payload(101)), SendQueues::Push::too_large);
  EXPECT_EQ(q.push(7, payload(1)), SendQueues::Push::unknown_channel);
  EXPECT_EQ(q.push(1, payload(100, 1)), SendQueues::Push::queued);
  EXPECT_EQ(q.push(1, payload(100, 2)), SendQueues::Push::queued);
  EXPECT_EQ(q.push(1, payload(100, 3)), SendQueues::Push::full) << "byte cap";
  EXPECT_EQ(q.push(1, payload(10, 3)), SendQueues::Push::queued);
  EXPECT_EQ(q.push(1, payload(1, 4)), SendQueues::Push::full) << "count cap";
  EXPECT_EQ(q.bytes(), 210u);
  EXPECT_TRUE(q.drop_on_overflow(2));
  EXPECT_FALSE(q.drop_on_overflow(1));
  ASSERT_EQ(q.push(0, payload(9, 0xcc)), SendQueues::Push::queued);
  uint8_t ch = 0;
  Payload p;
  auto now = Clock::now();
  ASSERT_TRUE(q.pop(ch, p, now));
  EXPECT_EQ(ch, 0) << "control first";
  std::vector<uint8_t> order;
  while (q.pop(ch, p, now)) order.push_back((*p)[0]);
  EXPECT_EQ(order, (std::vector<uint8_t>{1, 2, 3})) << "FIFO within a channel";
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(SendQueuesTest, SharesTheLinkByPriority) {
  std::vector<ChannelSpec> specs = {ChannelSpec{1, 10, 1000, 1u << 30, 1u << 20, false, 0},
                                    ChannelSpec{2, 1, 1000, 1u << 30, 1u << 20, false, 0}};
  SendQueues q(specs);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(q.push(1, payload(100)), SendQueues::Push::queued);
    ASSERT_EQ(q.push(2, payload(100)), SendQueues::Push::queued);
  }
  auto now = Clock::now();
  std::map<uint8_t, int> taken;
  uint8_t ch;
  Payload p;
  for (int i = 0; i < 2200; ++i) {
    ASSERT_TRUE(q.pop(ch, p, now));
    taken[ch]++;
  }
  EXPECT_EQ(taken[1] + taken[2], 2200);
  EXPECT_NEAR(static_cast<double>(taken[1]) / taken[2], 10.0, 1.0) << taken[1] << " vs " << taken[2];
  // The low-priority channel is never starved outright, and an idle high one goes first on return.
}

TEST(ScoreBookTest, PenaltiesBanAndRecover) {
  auto t0 = Clock::now();
  ScoreBook s(100, 60, 10s);  // recovers 1 point per second
  NodeId a = key(1).id();
  EXPECT_FALSE(s.penalize(a, 40, t0));
  EXPECT_EQ(s.score(a, t0), -40);
  EXPECT_EQ(s.score(a, t0 + 10s), -30);
  EXPECT_FALSE(s.penalize(a, 40, t0 + 10s));
  EXPECT_TRUE(s.penalize(a, 40, t0 + 10s));  // -110
  EXPECT_TRUE(s.banned(a, t0 + 10s));
  EXPECT_FALSE(s.penalize(a, 40, t0 + 11s)) << "no re-ban while banned";
  EXPECT_TRUE(s.banned(a, t0 + 19s));
  EXPECT_FALSE(s.banned(a, t0 + 21s));
  EXPECT_EQ(s.score(a, t0 + 21s), 0) << "a ban served starts from zero";
  EXPECT_EQ(s.score(key(2).id(), t0), 0);
}

TEST(BackoffTest, DoublesUpToTheCapWithJitter) {
  auto ms = [](Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  EXPECT_EQ(ms(backoff_delay(0, 100ms, 5s, 0.0)), 100);
  EXPECT_EQ(ms(backoff_delay(3, 100ms, 5s, 0.0)), 800);
  EXPECT_EQ(ms(backoff_delay(30, 100ms, 5s, 0.0)), 5000);
  EXPECT_EQ(ms(backoff_delay(1000, 100ms, 5s, 0.0)), 5000);
  EXPECT_EQ(ms(backoff_delay(3, 100ms, 5s, 0.999)), 999);
}

TEST(ConfigTest, InconsistentConfigurationsAreRefused) {
  auto k = key(1);
  auto refused = [&](auto mutate) {
    auto c = test_config();
    mutate(c);
    auto n = Network::create(c, k);
    return !n && n.error().code == "p2p.config";
  };
  EXPECT_TRUE(refused([](NetworkConfig& c) { c.channels.clear(); }));
  EXPECT_TRUE(refused([](NetworkConfig& c) { c.channels[0].id = 0; }));
  EXPECT_TRUE(refused([](NetworkConfig& c) { c.channels[1].id = c.channels[0].id; }));
  EXPECT_TRUE(refused([](NetworkConfig& c) { c.channels[0].max_queue_bytes = 10; }));
  EXPECT_TRUE(refused([](NetworkConfig& c) { c.channels[0].max_message_bytes = 0; }));
  EXPECT_TRUE(refused([](NetworkConfig& c) { c.channels[0].max_message_bytes = kMaxFramePayload + 1; }));
  EXPECT_TRUE(refused([](NetworkConfig& c) { c.channels[0].priority = 0; }));
  EXPECT_TRUE(refused([](NetworkConfig& c) { c.listen = "example.org:1"; }));
  EXPECT_TRUE(refused([](NetworkConfig& c) { c.listen = "127.0.0.1"; }));
  EXPECT_TRUE(refused([](NetworkConfig& c) { c.network = ""; }));
  EXPECT_TRUE(refused([](NetworkConfig& c) { c.threads = 0; }));
  EXPECT_TRUE(refused([](NetworkConfig& c) { c.ping_interval = 0ms; }));
  EXPECT_TRUE(refused([&](NetworkConfig& c) { c.persistent = {PeerAddress{k.id(), "127.0.0.1", 1}}; }));
  EXPECT_TRUE(refused([&](NetworkConfig& c) {
    c.persistent = {PeerAddress{key(2).id(), "127.0.0.1", 1}, PeerAddress{key(2).id(), "127.0.0.1", 2}};
  }));
  EXPECT_FALSE(refused([](NetworkConfig&) {}));
  auto defaults = default_channels();
  ASSERT_EQ(defaults.size(), 3u);
  auto c = test_config();
  c.channels = defaults;
  EXPECT_TRUE(Network::create(c, k));
}

}  // namespace
