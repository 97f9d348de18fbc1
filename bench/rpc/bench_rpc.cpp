// JSON-RPC throughput on loopback, one JSON object per result line:
//   rpc_ws_requests    sequential calls (one in flight per connection) over 1 and 8
//                      WebSocket connections, one client thread per connection
//   rpc_ws_batch_requests  batches of 100 requests, one batch in flight, one connection
//   rpc_http_requests  sequential HTTP POSTs, a fresh TCP connection per request
//   rpc_publish        publish() cost and delivery rate to 8 reading subscribers
// Usage: bench_rpc [seconds per case, default 2]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "rpc/rpc.hpp"

using namespace ig::rpc;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void print(const json& j) { std::printf("%s\n", j.dump().c_str()); std::fflush(stdout); }

std::unique_ptr<Server> start_server(unsigned threads) {
  ServerConfig cfg;
  cfg.port = 0;
  cfg.threads = threads;
  cfg.max_queued_notifications = 1u << 20;  // the bench measures speed, not dropping
  auto server = std::make_unique<Server>(cfg);
  auto st = server->add_method("bench_echo", [](const json& params) -> MethodResult {
    return json{{"ok", true}, {"height", 123456}, {"echo", params}};
  });
  if (st) st = server->start();
  if (!st) {
    std::fprintf(stderr, "server: %s\n", st.error().to_string().c_str());
    std::exit(1);
  }
  return server;
}

void bench_ws(Server& server, unsigned server_threads, int connections, double seconds) {
  const std::string url = "ws://127.0.0.1:" + std::to_string(server.port());
  std::atomic<uint64_t> done{0}, failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  auto t0 = Clock::now();
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      auto client = Client::connect(url, 5s);
      if (!client) {
        failed++;
        return;
      }
      json params = json::array({"ig1benchaccount", c});
      while (!stop.load(std::memory_order_relaxed)) {
        auto r = client->call("bench_echo", params);
        (r ? done : failed)++;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double s = seconds_since(t0);
  print({{"bench", "rpc_ws_requests"}, {"connections", connections}, {"mode", "sequential"},
         {"server_threads", server_threads}, {"requests", done.load()}, {"failed", failed.load()},
         {"seconds", s}, {"requests_per_second", done.load() / s}});
}

// One connection sending batches of `batch` requests: the dispatch cost
// without one network round trip per request.
void bench_ws_batch(Server& server, int batch, double seconds) {
  const std::string url = "ws://127.0.0.1:" + std::to_string(server.port());
  auto client = Client::connect(url, 5s);
  if (!client) {
    std::fprintf(stderr, "batch bench: %s\n", client.error().to_string().c_str());
    return;
  }
  json requests = json::array();
  for (int i = 0; i < batch; ++i)
    requests.push_back({{"jsonrpc", "2.0"}, {"id", i}, {"method", "bench_echo"}, {"params", {"ig1benchaccount", i}}});
  const std::string text = requests.dump();
  uint64_t done = 0, failed = 0;
  auto t0 = Clock::now();
  while (seconds_since(t0) < seconds) {
    auto r = client->call_raw(text);
    if (r && r->is_array() && r->size() == static_cast<size_t>(batch)) {
      done += batch;
    } else {
      failed += batch;
    }
  }
  double s = seconds_since(t0);
  print({{"bench", "rpc_ws_batch_requests"}, {"connections", 1}, {"batch", batch}, {"mode", "sequential batches"},
         {"requests", done}, {"failed", failed}, {"seconds", s}, {"requests_per_second", done / s}});
}

void bench_http(Server& server, double seconds) {
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  const std::string body = R"({"jsonrpc":"2.0","id":1,"method":"bench_echo","params":["ig1benchaccount",0]})";
  uint64_t done = 0, failed = 0;
  auto t0 = Clock::now();
  while (seconds_since(t0) < seconds) {
    auto r = http_post(url, body, 5s);
    (r && r->contains("result") ? done : failed)++;
  }
  double s = seconds_since(t0);
  print({{"bench", "rpc_http_requests"}, {"connections", 1}, {"mode", "sequential, new connection per request"},
         {"requests", done}, {"failed", failed}, {"seconds", s}, {"requests_per_second", done / s}});
}

void bench_publish(Server& server, int subscribers, int notifications) {
  const std::string url = "ws://127.0.0.1:" + std::to_string(server.port());
  std::vector<Client> clients;
  for (int i = 0; i < subscribers; ++i) {
    auto c = Client::connect(url, 5s);
    if (!c || !c->subscribe("newHeads")) {
      std::fprintf(stderr, "publish bench: cannot subscribe\n");
      return;
    }
    clients.push_back(std::move(*c));
  }
  std::atomic<uint64_t> received{0};
  std::vector<std::thread> readers;
  for (auto& c : clients) {
    readers.emplace_back([&, cp = &c] {
      for (int i = 0; i < notifications; ++i) {
        if (!cp->next_notification(10s)) return;
        received++;
      }
    });
  }
  json head = {{"height", 1}, {"hash", std::string(64, 'a')}, {"parent", std::string(64, 'b')},
               {"time", 1700000000}, {"txs", 1000}};
  auto t0 = Clock::now();
  for (int i = 0; i < notifications; ++i) {
    head["height"] = i;
    server.publish("newHeads", head);
  }
  double publish_s = seconds_since(t0);
  for (auto& t : readers) t.join();
  double total_s = seconds_since(t0);
  print({{"bench", "rpc_publish"}, {"subscribers", subscribers}, {"notifications", notifications},
         {"publish_ns_per_call", publish_s * 1e9 / notifications},
         {"delivered", received.load()}, {"dropped_subscribers", server.stats().dropped_subscribers},
         {"seconds", total_s}, {"delivered_per_second", received.load() / total_s}});
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  if (!(seconds > 0 && seconds < 600)) {
    std::fprintf(stderr, "usage: bench_rpc [seconds per case, 0 < s < 600]\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  const unsigned server_threads = 2;
  auto server = start_server(server_threads);
  bench_ws(*server, server_threads, 1, seconds);
  bench_ws(*server, server_threads, 8, seconds);
  bench_ws_batch(*server, 100, seconds);
  bench_http(*server, seconds);
  bench_publish(*server, 8, 20000);
  return 0;
}
