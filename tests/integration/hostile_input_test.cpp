// Hostile and careless input against a real infergridd (issue 7): each fault found by outside
// testing, replayed, plus randomized input over both transports while the node keeps
// finalizing blocks. Attackers connect from other loopback addresses (127.0.0.2, ...), as a
// remote client would from its own address; the wallet connects from 127.0.0.1.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "chain/keys.hpp"
#include "messages.hpp"
#include "rpc/client.hpp"
#include "tests/integration/harness.hpp"
#include "transport.hpp"

namespace ig::itest {
namespace {

using json = rpc::json;
using namespace std::chrono_literals;

uint64_t iterations(uint64_t ci_default) {
  const char* env = std::getenv("IG_FUZZ_ITERATIONS");
  return env && *env ? std::strtoull(env, nullptr, 10) : ci_default;
}

bool alive(const NodeProcess& n) { return n.pid() > 0 && ::kill(n.pid(), 0) == 0; }

// A plain TCP connection from `source` to 127.0.0.1:port; -1 on failure.
int dial_from(const std::string& source, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from{}, to{};
  from.sin_family = to.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  to.sin_port = htons(port);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` and returns the HTTP status of the answer (0 when none).
int http_status_of(int fd, const std::string& request) {
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) return 0;
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 12 || std::string(buf, 9) != "HTTP/1.1 ") return 0;
  return std::atoi(buf + 9);
}

std::string upgrade_request(uint16_t port, const std::string& origin = "") {
  return "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Version: 13\r\n" + (origin.empty() ? "" : "Origin: " + origin + "\r\n") + "\r\n";
}

std::string post_request(uint16_t port, const std::string& body, const std::string& extra_headers = "") {
  return "POST / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nContent-Type: application/json\r\n" + extra_headers + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

class HostileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = make_temp_dir("hostile");
    node_ = std::make_unique<NodeProcess>(home_);
    node_->init(200);
  }
  void TearDown() override {
    node_.reset();
    remove_dir(home_);
  }
  std::string home_;
  std::unique_ptr<NodeProcess> node_;
};

}  // namespace

// Fault 1: `{"jsonrpc":"2.0","id":1e400,...}` terminated the node.
TEST_F(HostileInput, NumbersBeyondADoubleNoLongerKillTheNode) {
  node_->start();
  node_->wait_for_height(1);
  const std::vector<std::string> killers = {
      R"({"jsonrpc":"2.0","id":1e400,"method":"chain_head"})",
      R"({"jsonrpc":"2.0","id":1,"method":"state_getAccount","params":[1e999]})",
      R"({"jsonrpc":"2.0","method":"chain_head","params":{"x":-1e400}})",  // a notification
  };
  for (const auto& text : killers) {
    auto http = rpc::http_post(node_->http_url(), text, 5s);
    ASSERT_TRUE(http) << text << ": " << http.error().to_string();
    EXPECT_EQ((*http)["error"]["code"], rpc::kInvalidRequest) << text;
    auto c = node_->client();
    auto ws = c.call_raw(text);
    ASSERT_TRUE(ws) << text << ": " << ws.error().to_string();
    EXPECT_EQ((*ws)["error"]["code"], rpc::kInvalidRequest) << text;
    ASSERT_TRUE(alive(*node_)) << node_->log();
  }
  const uint64_t h = node_->head_height();
  node_->wait_for_height(h + 2);
}

// Fault 2, end to end: ids come back exactly, or are refused.
TEST_F(HostileInput, BatchIdsComeBackDistinct) {
  node_->start();
  auto c = node_->client();
  auto r = c.call_raw(R"([{"jsonrpc":"2.0","id":18446744073709551615,"method":"chain_head"},
                          {"jsonrpc":"2.0","id":18446744073709551616,"method":"chain_head"},
                          {"jsonrpc":"2.0","id":-9223372036854775808,"method":"chain_head"}])");
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0]["id"].get<uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ((*r)[1]["error"]["code"], rpc::kInvalidRequest);
  EXPECT_EQ((*r)[2]["id"].get<int64_t>(), INT64_MIN);
}

// Fault 3: a second node on a home in use ran and signed with the same key.
TEST_F(HostileInput, SecondStartOnAHomeInUseIsRefused) {
  node_->start();
  auto second = run({bin_dir() + "/infergridd", "start", "--home", home_, "--rpc-port", "0"}, {}, 30s);
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("in use"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("pid " + std::to_string(node_->pid())), std::string::npos) << second.err;
  ASSERT_TRUE(alive(*node_));
  // The lock dies with its holder, even by SIGKILL: a restart is never blocked by a stale file.
  const uint64_t h = node_->head_height();
  node_->kill9();
  node_->start();
  node_->wait_for_height(h + 1);
}

// Fault 7 against the node: a page in the operator's browser cannot use the RPC.
TEST_F(HostileInput, BrowserPagesAreRefused) {
  node_->start();
  const uint16_t port = node_->port();
  int fd = dial_from("127.0.0.1", port);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(http_status_of(fd, upgrade_request(port, "http://evil.example")), 403);
  ::close(fd);
  fd = dial_from("127.0.0.1", port);
  EXPECT_EQ(http_status_of(fd, post_request(port, R"({"jsonrpc":"2.0","id":1,"method":"chain_head"})",
                                      "Origin: http://evil.example\r\n")),
            403);
  ::close(fd);
  fd = dial_from("127.0.0.1", port);
  std::string rebound = post_request(port, R"({"jsonrpc":"2.0","id":1,"method":"chain_head"})");
  rebound.replace(rebound.find("Host: 127.0.0.1"), 15, "Host: evil.example");
  EXPECT_EQ(http_status_of(fd, rebound), 403);
  ::close(fd);
  fd = dial_from("127.0.0.1", port);
  EXPECT_EQ(http_status_of(fd, upgrade_request(port)), 101);  // a client that is not a browser
  ::close(fd);
}

// Faults 1, 7, 8 at volume: mutated and generated messages over WebSocket, HTTP and raw
// HTTP, while the node keeps finalizing blocks and its memory stays bounded.
TEST_F(HostileInput, RandomizedInputKeepsTheNodeFinalizing) {
  node_->start();
  node_->wait_for_height(1);
  const uint64_t start_height = node_->head_height();
  const uint64_t rss_before = node_->rss_kib();
  std::atomic<bool> done{false};
  std::atomic<uint64_t> rss_max{rss_before};
  std::thread sampler([&] {
    while (!done) {
      rss_max = std::max<uint64_t>(rss_max, node_->rss_kib());
      std::this_thread::sleep_for(50ms);
    }
  });
  rpc::fuzz::Target target{"127.0.0.1", node_->port(), 20s};
  rpc::fuzz::MessageGen gen(2026, {"rpc_methods", "node_info", "chain_head", "chain_getBlock", "chain_getTx", "tx_send",
                                   "tx_receipt", "state_getAccount", "task_get", "task_list", "task_assigned", "task_awaitingVerdict", "registry_miners",
                                   "staking_getStake", "weights_get", "yuma_lastEpoch", "subscribe", "unsubscribe"});
  const uint64_t n = iterations(3000);
  auto ws = rpc::fuzz::run_websocket(target, gen, n);
  auto http = ws ? rpc::fuzz::run_http(target, gen, n) : ws;
  auto raw = http ? rpc::fuzz::run_raw_http(target, gen, n / 4 + 1) : http;
  done = true;
  sampler.join();
  ASSERT_TRUE(ws) << ws.error().to_string();
  ASSERT_TRUE(http) << http.error().to_string();
  ASSERT_TRUE(raw) << raw.error().to_string();
  ASSERT_TRUE(alive(*node_)) << node_->log();
  const uint64_t end_height = node_->head_height();
  std::cout << "randomized RPC input: " << ws->messages + http->messages + raw->messages << " inputs ("
            << ws->messages << " ws, " << http->messages << " http, " << raw->messages << " raw http), "
            << "blocks " << start_height << " -> " << end_height << ", RSS " << rss_before / 1024 << " -> max "
            << rss_max / 1024 << " MiB\n";
  EXPECT_GT(end_height, start_height);
  node_->wait_for_height(end_height + 2);
  // docs/rpc.md: the node's memory stays under a few hundred MiB whatever arrives.
  EXPECT_LT(rss_max.load(), 512u * 1024);
}

// Fault 9: others hold every ordinary connection slot with idle WebSockets and slow HTTP
// senders; the wallet on the operator's machine still works.
TEST_F(HostileInput, WalletWorksWhileOthersHoldEveryConnection) {
  node_->configure_rpc({{"max_connections", 32}, {"max_connections_per_ip", 8}, {"reserved_connections", 4},
                        {"request_timeout_ms", 120000}, {"idle_timeout_ms", 600000}});
  node_->start();
  const uint16_t port = node_->port();
  std::vector<int> held;
  for (const char* source : {"127.0.0.2", "127.0.0.3"}) {  // idle WebSockets (they would answer pings)
    for (int i = 0; i < 8; ++i) {
      int fd = dial_from(source, port);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(http_status_of(fd, upgrade_request(port)), 101);
      held.push_back(fd);
    }
  }
  for (const char* source : {"127.0.0.4", "127.0.0.5"}) {  // slow senders: half a request head
    for (int i = 0; i < 8; ++i) {
      int fd = dial_from(source, port);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(::write(fd, "POST / HTTP/1.1\r\nHost: 127", 26), 26);
      held.push_back(fd);
    }
  }
  std::this_thread::sleep_for(200ms);
  int extra = dial_from("127.0.0.6", port);
  EXPECT_EQ(http_status_of(extra, post_request(port, R"({"jsonrpc":"2.0","id":1,"method":"chain_head"})")), 503);
  ::close(extra);
  int ninth = dial_from("127.0.0.2", port);
  EXPECT_EQ(http_status_of(ninth, upgrade_request(port)), 503);  // the server is full before the address is
  ::close(ninth);

  for (const std::string scheme : {"http", "ws"}) {
    auto r = run({bin_dir() + "/infergrid-wallet", "--wallet-dir", home_ + "/wallet", "--json", "--node",
                  scheme + "://127.0.0.1:" + std::to_string(port), "balance", "dev"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(json::parse(r.out).contains("balance")) << r.out;
  }
  for (int fd : held) ::close(fd);
}

// Fault 8: the most subscriptions with the largest filters on the most connections.
TEST_F(HostileInput, SubscriptionMemoryIsBounded) {
  node_->start();
  node_->wait_for_height(1);
  auto c = node_->client();
  json huge = {{"type", std::string(3'800'000, 'x')}};
  auto refused = c.subscribe("events", huge);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "rpc." + std::to_string(rpc::kInvalidParams));

  json filter = json::object();
  for (int k = 0; k < 8; ++k) filter[std::string(60, static_cast<char>('a' + k))] = std::string(256, 'v');
  std::this_thread::sleep_for(300ms);
  const uint64_t rss_before = node_->rss_kib();
  std::vector<rpc::Client> clients;
  const int connections = 256, per_connection = 32;
  for (int i = 0; i < connections; ++i) {
    auto client = rpc::Client::connect(node_->ws_url(), 10s);
    ASSERT_TRUE(client) << "connection " << i << ": " << client.error().to_string();
    for (int s = 0; s < per_connection; ++s) {
      auto id = client->subscribe("events", filter);
      ASSERT_TRUE(id) << id.error().to_string();
    }
    auto over = client->subscribe("events", filter);
    ASSERT_FALSE(over);
    clients.push_back(std::move(*client));
  }
  const uint64_t rss_after = node_->rss_kib();
  std::cout << "subscriptions: " << connections * per_connection << " with 8-key filters on " << connections
            << " connections: RSS " << rss_before / 1024 << " -> " << rss_after / 1024 << " MiB\n";
  // docs/rpc.md: subscriptions with the largest filters on every connection hold < 64 MiB.
  EXPECT_LT(rss_after - std::min(rss_after, rss_before), 64u * 1024);
  const uint64_t h = node_->head_height();
  node_->wait_for_height(h + 2);
}

}  // namespace ig::itest
