// Test helpers for p2p/: nodes on 127.0.0.1 with ephemeral ports that record what they receive,
// and RawPeer, a hand-driven TLS client that can misbehave (wrong frames, never reading, TLS 1.2).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <openssl/ssl.h>

#include "p2p/detail/tls.hpp"
#include "p2p/frame.hpp"
#include "p2p/p2p.hpp"

namespace p2p_test {

using namespace std::chrono_literals;
using namespace ig::p2p;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

constexpr uint8_t kFast = 1, kGossip = 2, kBulk = 3;

inline NodeKey key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  auto k = NodeKey::from_seed(seed);
  EXPECT_TRUE(k);
  return *k;
}

inline NetworkConfig test_config() {
  NetworkConfig c;
  c.listen = "127.0.0.1:0";
  c.network = "test";
  c.channels = {
      ChannelSpec{kFast, 10, 64 * 1024, 4u << 20, 10000, false, 0},
      ChannelSpec{kGossip, 5, 64 * 1024, 4u << 20, 10000, false, 1000},
      ChannelSpec{kBulk, 1, 1u << 20, 8u << 20, 1000, false, 0},
  };
  c.handshake_timeout = 2s;
  c.redial_initial = 50ms;
  c.redial_max = 1s;
  c.ban_duration = 60s;
  return c;
}

template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

struct Received {
  NodeId from;
  uint8_t channel;
  std::vector<uint8_t> payload;
};

// A Network that records messages and peer events; optionally relays channel kGossip.
struct Node {
  explicit Node(NodeKey k) : key(std::move(k)) {}
  // Callbacks run until stop() returns and use the members below `net`: stop first.
  ~Node() {
    if (net) net->stop();
  }
  NodeKey key;
  std::unique_ptr<Network> net;
  std::mutex mu;
  std::vector<Received> msgs;
  std::vector<std::pair<NodeId, bool>> events;
  std::atomic<bool> relay_gossip{false};
  std::function<void(const Received&)> extra;  // set before start

  const NodeId& id() const { return key.id(); }
  uint16_t port() const { return net->listen_port(); }
  PeerAddress address() const { return PeerAddress{key.id(), "127.0.0.1", port()}; }

  size_t count(uint8_t channel) {
    std::lock_guard l(mu);
    size_t n = 0;
    for (auto& m : msgs) n += m.channel == channel;
    return n;
  }
  size_t event_count(const NodeId& id, bool up) {
    std::lock_guard l(mu);
    size_t n = 0;
    for (auto& e : events) n += e.first == id && e.second == up;
    return n;
  }
  bool connected_to(const NodeId& id) {
    for (auto& p : net->peers())
      if (p.id == id) return true;
    return false;
  }
};

inline std::unique_ptr<Node> make_node(uint8_t seed, NetworkConfig cfg, std::set<NodeId> allowed, bool start = true) {
  auto n = std::make_unique<Node>(key(seed));
  auto net = Network::create(std::move(cfg), n->key);
  EXPECT_TRUE(net) << (net ? "" : net.error().to_string());
  if (!net) return nullptr;
  n->net = std::move(*net);
  n->net->set_allowed(std::move(allowed));
  Node* self = n.get();
  n->net->on_message([self](const NodeId& from, uint8_t ch, std::vector<uint8_t> payload) {
    Received r{from, ch, std::move(payload)};
    if (self->extra) self->extra(r);
    if (ch == kGossip && self->relay_gossip) self->net->broadcast(kGossip, r.payload, from);
    std::lock_guard l(self->mu);
    self->msgs.push_back(std::move(r));
  });
  n->net->on_peer([self](const NodeId& id, bool up) {
    std::lock_guard l(self->mu);
    self->events.emplace_back(id, up);
  });
  if (start) {
    auto st = n->net->start();
    EXPECT_TRUE(st) << (st ? "" : st.error().to_string());
  }
  return n;
}

inline size_t rss_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  if (std::fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
  std::fclose(f);
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// A TLS client driven step by step on its own io_context, each step with a deadline.
class RawPeer {
 public:
  explicit RawPeer(const NodeKey& k, bool tls12_only = false) : ctx_(make_context(k, tls12_only)), stream_(ioc_, *ctx_) {
    stream_.set_verify_mode(ssl::verify_peer);
    stream_.set_verify_callback([](bool, ssl::verify_context&) { return true; });  // we test the server
  }

  bool connect(uint16_t port) {
    boost::system::error_code ec;
    stream_.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    return !ec;
  }

  bool handshake() {
    std::optional<boost::system::error_code> result;
    stream_.async_handshake(ssl::stream_base::client, [&](boost::system::error_code ec) { result = ec; });
    run(3s, [&] { return result.has_value(); });
    return result && !*result;
  }

  // Sends our hello and reads frames until the node's hello arrives.
  bool hello(const std::string& network = "test") {
    if (!write(encode_frame(kControlChannel, encode_control(Hello{kProtocolVersion, network})))) return false;
    ChannelLimits limits;
    limits.fill(kMaxFramePayload);
    FrameDecoder dec(limits);
    std::vector<Frame> frames;
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto chunk = read_some(500ms);
      if (!chunk) return false;
      dec.feed(*chunk, frames);
      for (auto& f : frames) {
        if (f.channel != kControlChannel) continue;
        auto m = decode_control(f.payload);
        if (m && std::holds_alternative<Hello>(*m)) return true;
      }
    }
    return false;
  }

  bool connect_and_hello(uint16_t port) { return connect(port) && handshake() && hello(); }

  bool write(const std::vector<uint8_t>& bytes) {
    std::optional<boost::system::error_code> result;
    net::async_write(stream_, net::buffer(bytes), [&](boost::system::error_code ec, size_t) { result = ec; });
    run(3s, [&] { return result.has_value(); });
    return result && !*result;
  }

  // Bytes that arrive within `d`: an empty vector when none did, nullopt when the connection ended.
  // A read that times out stays pending and is picked up by the next call (cancelling it could
  // lose a half-read TLS record).
  std::optional<std::vector<uint8_t>> read_some(std::chrono::milliseconds d) {
    if (!reading_) {
      reading_ = true;
      read_result_.reset();
      rbuf_.resize(64 * 1024);
      stream_.async_read_some(net::buffer(rbuf_), [this](boost::system::error_code ec, size_t n) {
        read_result_ = ec;
        read_n_ = n;
      });
    }
    run(d, [&] { return read_result_.has_value(); });
    if (!read_result_) return std::vector<uint8_t>{};
    reading_ = false;
    if (*read_result_) return std::nullopt;
    return std::vector<uint8_t>(rbuf_.begin(), rbuf_.begin() + static_cast<std::ptrdiff_t>(read_n_));
  }

  // Reads and discards until the node closes the connection; false if it is still open after `d`.
  bool closed_within(std::chrono::milliseconds d) {
    auto deadline = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!read_some(100ms)) return true;
    }
    return false;
  }

  // The same, on the TCP socket under TLS (for a peer that never started the TLS handshake).
  bool tcp_closed_within(std::chrono::milliseconds d) {
    std::vector<uint8_t> buf(4096);
    auto deadline = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < deadline) {
      std::optional<boost::system::error_code> result;
      stream_.next_layer().async_read_some(net::buffer(buf), [&](boost::system::error_code ec, size_t) { result = ec; });
      run(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()),
          [&] { return result.has_value(); });
      if (!result) {  // still open: cancel the read so that its handler runs while `result` lives
        stream_.next_layer().cancel();
        run(1000ms, [&] { return result.has_value(); });
        return false;
      }
      if (*result) return true;
    }
    return false;
  }

  tcp::socket& socket() { return stream_.next_layer(); }
  net::io_context& ioc() { return ioc_; }

 private:
  static std::unique_ptr<ssl::context> make_context(const NodeKey& k, bool tls12_only) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX* native = ctx->native_handle();
    if (tls12_only) SSL_CTX_set_max_proto_version(native, TLS1_2_VERSION);
    auto cert = ig::p2p::detail::make_self_signed_certificate(k);
    EXPECT_TRUE(cert);
    SSL_CTX_use_certificate(native, cert->get());
    SSL_CTX_use_PrivateKey(native, k.native());
    return ctx;
  }

  template <typename Done>
  void run(std::chrono::milliseconds d, Done done) {
    auto deadline = std::chrono::steady_clock::now() + d;
    ioc_.restart();
    while (!done() && std::chrono::steady_clock::now() < deadline) ioc_.run_for(10ms);
  }

  net::io_context ioc_;
  std::unique_ptr<ssl::context> ctx_;
  ssl::stream<tcp::socket> stream_;
  bool reading_ = false;
  std::optional<boost::system::error_code> read_result_;
  size_t read_n_ = 0;
  std::vector<uint8_t> rbuf_;
};

}  // namespace p2p_test
