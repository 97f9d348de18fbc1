// P2P throughput and latency between two nodes over TLS 1.3 on loopback, one JSON object per
// result line:
//   p2p_throughput  one-way stream of 200 B and 256 KiB messages on one channel, the sender
//                   keeping at most a window of messages in flight (so queues never overflow)
//   p2p_roundtrip   200 B request/reply, one in flight: p50/p99 latency in microseconds
// Receive rate limits are off: this measures the transport, not the configured cap.
// Usage: bench_p2p [seconds per case, default 2]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "p2p/p2p.hpp"

using namespace ig::p2p;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint8_t kChannel = 0x20;

NodeKey must_key() {
  auto k = NodeKey::generate();
  if (!k) {
    std::fprintf(stderr, "key: %s\n", k.error().to_string().c_str());
    std::exit(1);
  }
  return *k;
}

NetworkConfig config() {
  NetworkConfig c;
  c.listen = "127.0.0.1:0";
  c.network = "bench";
  c.channels = {ChannelSpec{kChannel, 10, 1u << 20, 256u << 20, 1u << 20, false, 0}};
  c.recv_rate_bytes_per_s = 0;
  return c;
}

struct Pair {
  std::unique_ptr<Network> a, b;
  std::atomic<uint64_t> received{0};
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<uint64_t> replies{0};
};

void must(const ig::Status& st, const char* what) {
  if (!st) {
    std::fprintf(stderr, "%s: %s\n", what, st.error().to_string().c_str());
    std::exit(1);
  }
}

void connect(Pair& p) {
  auto ka = must_key(), kb = must_key();
  auto b = Network::create(config(), kb);
  if (!b) std::exit(1);
  p.b = std::move(*b);
  p.b->set_allowed({ka.id()});
  auto cfg = config();
  p.b->on_message([&p](const NodeId& from, uint8_t, std::vector<uint8_t> payload) {
    p.received.fetch_add(1, std::memory_order_relaxed);
    if (!payload.empty() && payload[0] == 'R') p.b->send(from, kChannel, std::move(payload));  // echo requests
  });
  must(p.b->start(), "start b");
  cfg.persistent = {PeerAddress{kb.id(), "127.0.0.1", p.b->listen_port()}};
  auto a = Network::create(cfg, ka);
  if (!a) std::exit(1);
  p.a = std::move(*a);
  p.a->set_allowed({kb.id()});
  p.a->on_message([&p](const NodeId&, uint8_t, std::vector<uint8_t>) {
    p.replies.fetch_add(1);
    std::lock_guard l(p.mu);
    p.cv.notify_all();
  });
  must(p.a->start(), "start a");
  auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline && (p.a->peers().empty() || p.b->peers().empty())) std::this_thread::sleep_for(5ms);
  if (p.a->peers().empty()) {
    std::fprintf(stderr, "nodes did not connect\n");
    std::exit(1);
  }
}

void throughput(Pair& p, const NodeId& to, size_t size, double seconds) {
  // A window of in-flight messages: enough to keep the pipe full, far below the queue caps.
  const uint64_t window = std::max<uint64_t>(4, (16u << 20) / size);
  std::vector<uint8_t> msg(size, 'T');
  uint64_t sent = 0;
  uint64_t start_count = p.received.load();
  auto t0 = Clock::now();
  auto stop_at = t0 + std::chrono::duration<double>(seconds);
  while (Clock::now() < stop_at) {
    if (sent - (p.received.load(std::memory_order_relaxed) - start_count) >= window) {
      std::this_thread::yield();
      continue;
    }
    if (!p.a->send(to, kChannel, msg)) {
      std::fprintf(stderr, "send failed\n");
      std::exit(1);
    }
    ++sent;
  }
  while (p.received.load() - start_count < sent) std::this_thread::yield();
  double dt = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf(
      "{\"bench\":\"p2p_throughput\",\"transport\":\"TLS1.3 loopback\",\"message_bytes\":%zu,\"messages\":%llu,"
      "\"seconds\":%.3f,\"messages_per_s\":%.0f,\"mb_per_s\":%.1f,\"window\":%llu,\"threads_per_node\":%u}\n",
      size, static_cast<unsigned long long>(sent), dt, sent / dt, sent * static_cast<double>(size) / dt / 1e6,
      static_cast<unsigned long long>(window), config().threads);
  std::fflush(stdout);
}

void roundtrip(Pair& p, const NodeId& to, double seconds) {
  std::vector<double> us;
  std::vector<uint8_t> msg(200, 'R');
  auto stop_at = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < stop_at) {
    uint64_t before = p.replies.load();
    auto t0 = Clock::now();
    p.a->send(to, kChannel, msg);
    std::unique_lock l(p.mu);
    if (!p.cv.wait_for(l, 2s, [&] { return p.replies.load() > before; })) {
      std::fprintf(stderr, "no reply\n");
      std::exit(1);
    }
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  auto pct = [&](double q) { return us[std::min(us.size() - 1, static_cast<size_t>(q * us.size()))]; };
  std::printf("{\"bench\":\"p2p_roundtrip\",\"transport\":\"TLS1.3 loopback\",\"message_bytes\":200,\"roundtrips\":%zu,"
              "\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
              us.size(), pct(0.5), pct(0.99));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  if (seconds <= 0) seconds = 2.0;
  spdlog::set_level(spdlog::level::warn);
  Pair p;
  connect(p);
  NodeId to = p.b->id();
  throughput(p, to, 200, seconds);
  throughput(p, to, 256 * 1024, seconds);
  roundtrip(p, to, seconds);
  p.a->stop();
  p.b->stop();
  return 0;
}
