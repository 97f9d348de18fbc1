// bench_gateway: what the OpenAI-compatible gateway costs (docs/gateway.md, "Benchmark").
// Starts `infergridd devnet --keep` (the infergridd built next to it) on free ports, or uses a
// running one (--home DIR --node-port N), and prints one JSON object per line:
//
//   gateway_http_requests_per_second   GET /v1/models and a refused completion (400), one new
//                                      connection per request, 1 and 8 clients: the HTTP layer
//   task_latency                       a greedy 16-token completion, request to verified answer,
//                                      median over --runs: "direct" (SubmitTask signed and sent
//                                      by the client, followed to settlement over a WebSocket
//                                      subscription, then task_get) and "gateway" (POST
//                                      /v1/completions), and the gateway's added latency
//   completions_per_second             --clients concurrent clients each making --per-client
//                                      requests, through the gateway and directly: the end-to-end
//                                      rate, which the chain (miners, blocks) bounds
//
//   bench_gateway [--runs N] [--clients N] [--per-client N] [--home DIR --node-port N]
//
// The gateway measured is one the bench starts itself (`infergridd gateway`, paying with the
// devnet's "dev" key, rate limit off), so that its numbers are not those of the rate limiter.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "chain/address.hpp"
#include "chain/bytes.hpp"
#include "rpc/client.hpp"
#include "wallet/wallet_dir.hpp"
#include "workers/model_catalog.hpp"
#include "workers/node_link.hpp"
#include "workers/task_view.hpp"
#include "workers/tx_sender.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
using ig::workers::json_uint;

[[noreturn]] void die(const std::string& why) {
  std::cerr << "bench_gateway: " << why << "\n";
  std::exit(1);
}
void print(const json& j) { std::cout << j.dump() << std::endl; }
double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

const char* const kPrompts[] = {"Once upon a time", "The little dog ran", "Lily wanted to", "One day, a boy named Tom",
                                "The sun was shining and", "A big red ball", "The cat and the bird", "Mom said"};

struct Options {
  unsigned runs = 8, clients = 8, per_client = 3;
  std::string home;  // an existing devnet
  uint16_t node_port = 0, gateway_port = 0;
  std::string password = "bench-gateway-devnet";
};

pid_t spawn(std::vector<std::string> argv, const std::string& log, const std::string& password) {
  std::vector<std::string> env = {"INFERGRID_PASSWORD=" + password};
  for (char** e = environ; *e; ++e)
    if (std::string_view(*e).rfind("INFERGRID_PASSWORD=", 0) != 0) env.emplace_back(*e);
  auto cstr = [](std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
  };
  auto cargv = cstr(argv), cenv = cstr(env);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data()) != 0) die("cannot spawn " + argv[0]);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

bool port_free(uint16_t p) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(p);
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

std::string self_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

std::string gateway_url(const Options& o) { return "http://127.0.0.1:" + std::to_string(o.gateway_port); }
std::string node_ws(const Options& o) { return "ws://127.0.0.1:" + std::to_string(o.node_port); }

// A devnet of our own, left running (--keep) until the bench ends.
struct Devnet {
  std::string home;
  std::vector<pid_t> pids;
  ~Devnet() {
    for (pid_t p : pids) ::kill(p, SIGTERM);
  }
};

void start_devnet(Options& opt, Devnet& d, const std::string& model) {
  uint16_t base = 0;
  std::mt19937 rng(static_cast<unsigned>(::getpid()));
  for (int attempt = 0; attempt < 50 && !base; ++attempt) {
    const uint16_t b = static_cast<uint16_t>(30000 + (rng() % 2000) * 10);
    bool all = true;
    for (int off : {0, 1, 2, 3, 10, 11, 12, 13, 20, 21}) all = all && port_free(static_cast<uint16_t>(b + off));
    if (all) base = b;
  }
  if (!base) die("no free block of ports");
  std::string tmpl = (fs::temp_directory_path() / "bench-gateway-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) die("mkdtemp failed");
  d.home = tmpl + "/net";
  const std::string log = tmpl + "/devnet.log";
  std::vector<std::string> argv = {self_dir() + "/infergridd", "devnet", "--home", d.home, "--model", model, "--port",
                                   std::to_string(base), "--p2p-port", std::to_string(base + 10), "--gateway-port",
                                   std::to_string(base + 20), "--tasks", "4", "--epochs", "1", "--keep"};
  const pid_t pid = spawn(argv, log, opt.password);
  int status = 0;
  const auto t0 = Clock::now();
  while (::waitpid(pid, &status, WNOHANG) != pid) {
    if (Clock::now() - t0 > 10min) {
      ::kill(pid, SIGTERM);
      die("the devnet did not finish in 10 minutes; see " + log);
    }
    std::this_thread::sleep_for(200ms);
  }
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    auto at = line.find("Stop it with: kill");
    if (at == std::string::npos) continue;
    std::istringstream ids(line.substr(at + 18));
    pid_t p;
    while (ids >> p) d.pids.push_back(p);
  }
  if (d.pids.empty()) die("the devnet failed; see " + log);
  opt.home = d.home;
  opt.node_port = base;
}

// The measured gateway: rate limit off, room for every concurrent client.
void start_gateway(Options& opt, Devnet& d, const std::string& model) {
  uint16_t port = 0;
  for (uint16_t p = static_cast<uint16_t>(opt.node_port + 21); p < opt.node_port + 200 && !port; ++p)
    if (port_free(p)) port = p;
  if (!port) die("no free port for the gateway");
  const std::string log = fs::path(opt.home).parent_path().string() + "/bench-gateway.log";
  d.pids.push_back(spawn({self_dir() + "/infergridd", "gateway", "--node", node_ws(opt), "--account", "dev", "--wallet-dir",
                          opt.home + "/node0/wallet", "--model", model, "--listen", "127.0.0.1:" + std::to_string(port),
                          "--rate-limit", "0", "--max-in-flight", "10000", "--log-level", "warn"},
                         log, opt.password));
  opt.gateway_port = port;
  for (int i = 0; i < 100; ++i) {
    auto r = ig::rpc::http_request("GET", gateway_url(opt) + "/health", "", 2s);
    if (r && r->status == 200) return;
    std::this_thread::sleep_for(200ms);
  }
  die("the bench's gateway did not start; see " + log);
}

// --- the HTTP layer alone ------------------------------------------------------------------
void bench_http(const Options& opt) {
  const std::string models = gateway_url(opt) + "/v1/models", completions = gateway_url(opt) + "/v1/completions";
  const std::string refused = R"({"model":"stories260K","prompt":"x","max_tokens":0})";
  for (const char* what : {"models", "refused_completion"}) {
    for (unsigned threads : {1u, 8u}) {
      std::atomic<uint64_t> done{0}, errors{0};
      const auto t0 = Clock::now();
      std::vector<std::thread> ts;
      for (unsigned t = 0; t < threads; ++t)
        ts.emplace_back([&] {
          while (Clock::now() - t0 < 3s) {
            auto r = std::string(what) == "models" ? ig::rpc::http_request("GET", models, "", 5s)
                                                   : ig::rpc::http_request("POST", completions, refused, 5s);
            const int want = std::string(what) == "models" ? 200 : 400;
            (r && r->status == want ? done : errors)++;
          }
        });
      for (auto& t : ts) t.join();
      const double s = secs(Clock::now() - t0);
      print({{"bench", "gateway_http_requests_per_second"}, {"request", what}, {"clients", threads},
             {"requests", done.load()}, {"errors", errors.load()}, {"requests_per_second", double(done) / s}});
    }
  }
}

// --- one completion, both ways -----------------------------------------------------------------
struct Direct {
  std::unique_ptr<ig::workers::TxSender> sender;
  std::string address;
  ig::Hash32 model{};
};

// SubmitTask from the client's own key, followed to the end over a subscription, then read.
// What an application without the gateway does. Seconds, or a negative value on failure.
double direct_completion(Direct& d, const Options& opt, const std::string& prompt) {
  const auto t0 = Clock::now();
  ig::workers::NodeLink link(node_ws(opt));
  if (!link.subscribe("events", json{{"accounts", d.address}})) return -1;
  ig::chain::SubmitTask t;
  t.model_id = d.model;
  t.prompt = prompt;
  t.params.max_tokens = 16;
  t.max_fee = 1600;
  auto sent = d.sender->send(t);
  if (!sent) return -1;
  uint64_t task = 0;
  while (Clock::now() - t0 < 120s) {
    auto in = link.next(200ms);
    if (!in) return -1;
    if (in->kind != ig::workers::Incoming::Notification) continue;
    const json& e = in->result;
    const json attrs = e.value("attributes", json::object());
    if (!task && e.value("type", "") == "task_submitted" && e.value("tx_hash", json()) == sent->hash) {
      if (auto id = json_uint(attrs, "task", "task_submitted")) task = *id;
    } else if (task && json_uint(attrs, "task", "event").value_or(0) == task) {
      const std::string type = e.value("type", "");
      if (type == "task_settled" || type == "task_rejected" || type == "task_expired") {
        auto full = link.call("task_get", json::array({task}));
        if (!full) return -1;
        return type == "task_settled" ? secs(Clock::now() - t0) : -1;
      }
    }
  }
  return -1;
}

double gateway_completion(const Options& opt, const std::string& prompt) {
  const auto t0 = Clock::now();
  json body = {{"model", "stories260K"}, {"prompt", prompt}, {"max_tokens", 16}, {"temperature", 0}};
  auto r = ig::rpc::http_request("POST", gateway_url(opt) + "/v1/completions", body.dump(), 180s);
  if (!r || r->status != 200) return -1;
  return secs(Clock::now() - t0);
}

void bench_latency(const Options& opt, Direct& d) {
  std::vector<double> direct, gateway;
  unsigned failed_direct = 0, failed_gateway = 0;
  for (unsigned i = 0; i < opt.runs; ++i) {
    const std::string prompt = kPrompts[i % std::size(kPrompts)];
    if (const double a = direct_completion(d, opt, prompt); a >= 0) direct.push_back(a);
    else ++failed_direct;
    if (const double b = gateway_completion(opt, prompt); b >= 0) gateway.push_back(b);
    else ++failed_gateway;
  }
  print({{"bench", "task_latency"}, {"max_tokens", 16}, {"runs", opt.runs}, {"direct_median_seconds", median(direct)},
         {"gateway_median_seconds", median(gateway)}, {"added_latency_seconds", median(gateway) - median(direct)},
         {"direct_not_settled", failed_direct}, {"gateway_failed", failed_gateway},
         {"note", "a result rejected by the validators makes the gateway submit again, so its tail includes retries"}});
}

void bench_throughput(const Options& opt, Direct& d) {
  for (const char* way : {"gateway", "direct"}) {
    std::atomic<unsigned> ok{0}, failed{0};
    const auto t0 = Clock::now();
    std::vector<std::thread> ts;
    for (unsigned c = 0; c < opt.clients; ++c)
      ts.emplace_back([&, c] {
        for (unsigned i = 0; i < opt.per_client; ++i) {
          const std::string prompt = kPrompts[(c + i) % std::size(kPrompts)];
          const double s = std::string(way) == "gateway" ? gateway_completion(opt, prompt) : direct_completion(d, opt, prompt);
          (s >= 0 ? ok : failed)++;
        }
      });
    for (auto& t : ts) t.join();
    const double s = secs(Clock::now() - t0);
    print({{"bench", "completions_per_second"}, {"way", way}, {"clients", opt.clients}, {"requests", opt.clients * opt.per_client},
           {"answered", ok.load()}, {"failed", failed.load()}, {"seconds", s}, {"completions_per_second", double(ok) / s}});
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    auto number = [&](unsigned lo, unsigned hi) {
      const std::string v = value();
      unsigned n = 0;
      if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos || (n = std::stoul(v)) < lo || n > hi)
        die(a + " must be a number within " + std::to_string(lo) + ".." + std::to_string(hi));
      return n;
    };
    if (a == "--runs") opt.runs = number(1, 1000);
    else if (a == "--clients") opt.clients = number(1, 64);
    else if (a == "--per-client") opt.per_client = number(1, 100);
    else if (a == "--home") opt.home = value();
    else if (a == "--node-port") opt.node_port = static_cast<uint16_t>(number(1, 65535));
    else die("unknown argument " + a + " (see the comment at the top of bench/gateway/bench_gateway.cpp)");
  }
  if (const char* pw = std::getenv("INFERGRID_PASSWORD"); pw && *pw) opt.password = pw;
  const std::string model = std::string(INFERGRID_SHARED_DATA) + "/models/stories260K.gguf";
  Devnet devnet;
  if (opt.home.empty()) start_devnet(opt, devnet, model);
  if (!opt.node_port) die("--home needs --node-port");
  start_gateway(opt, devnet, model);

  // The direct client signs with the devnet's funded "user" key (the gateway pays with its own).
  Direct d;
  auto w = ig::wallet::Wallet::open(opt.home + "/wallet");
  if (!w) die(w.error().message);
  auto entry = w->find("user");
  if (!entry) die(entry.error().message);
  auto key = w->unlock(*entry, opt.password);
  if (!key) die(key.error().message);
  d.address = ig::chain::address_to_string(key->public_key());
  d.sender = std::make_unique<ig::workers::TxSender>(node_ws(opt), *key);
  auto id = ig::workers::file_sha256(model);
  if (!id) die(id.error().message);
  d.model = *id;

  bench_http(opt);
  bench_latency(opt, d);
  bench_throughput(opt, d);
  return 0;
}
