// bench_consensus: what the Tendermint engine achieves with real infergridd processes on
// loopback (docs/consensus.md "Measured"). One JSON object per line:
//
//   finality_latency     4 validators (`infergridd testnet`), consensus timeouts at the defaults
//                        and at the lowest this machine sustains; every node subscribes to
//                        newHeads and a block's latency at a node is the arrival of its header
//                        minus the header's time_ms (set by the proposer when it built the
//                        block, just before signing the proposal): proposal -> commit. p50/p99
//                        over --blocks blocks, per node ("any node") and for the last of the
//                        four ("all nodes"); plus how many blocks needed more than one round
//   transfers_per_second 4 validators; 5 funded accounts (the dev account and the 4 validator
//                        accounts) each submit pre-signed transfers as fast as the nodes take
//                        them, in JSON-RPC batches, each account to its own node; committed
//                        transfers per second over the blocks that carried them
//   block_sync           1 validator makes --sync-blocks empty blocks at a 10 ms block time,
//                        then restarts with a long block time (so its head stays put) and a
//                        follower started from genesis catches up by block sync: blocks/s
//
//   bench_consensus [--infergridd PATH] [--blocks N] [--sync-blocks N] [--tps-per-sender N]
//                   [--only latency_default,latency_lowest,tps,sync]
//                   [--lowest BLOCK_MS,PROPOSE_MS,PREVOTE_MS,PRECOMMIT_MS]   (default 10,60,30,30)
//
// The processes share this machine's cores with the benchmark (and whatever else runs): the
// figures are for the machine they were taken on.
#include <signal.h>
#include <spawn.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "chain/address.hpp"
#include "chain/tx.hpp"
#include "rpc/client.hpp"
#include "wallet/keystore.hpp"
#include "wallet/transfer.hpp"

extern char** environ;

namespace {

using namespace ig;
using json = nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kPassword = "bench-consensus";

[[noreturn]] void die(const std::string& why) {
  std::cerr << "bench_consensus: " << why << "\n";
  std::exit(1);
}

// The 1-minute load average when a measurement ends: the machine is shared.
double loadavg() {
  std::ifstream in("/proc/loadavg");
  double v = 0;
  in >> v;
  return v;
}

std::string self_dir() { return fs::canonical("/proc/self/exe").parent_path().string(); }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t wall_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

bool port_free(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

uint16_t free_port_block(unsigned n) {
  for (unsigned base = 21000 + static_cast<unsigned>(getpid() % 50) * 100; base < 32000; base += 10) {
    bool all = true;
    for (unsigned i = 0; i < n && all; ++i) all = port_free(static_cast<uint16_t>(base + i));
    if (all) return static_cast<uint16_t>(base);
  }
  die("no free ports");
}

struct Options {
  std::string infergridd;
  unsigned blocks = 100;
  unsigned sync_blocks = 10000;
  unsigned tps_per_sender = 8000;
  std::string only;
  // block time, propose, prevote, precommit (ms); each delta is a quarter of its timeout
  std::vector<uint64_t> lowest = {10, 60, 30, 30};
};

// --- processes ---------------------------------------------------------------------------------

std::vector<std::string> child_env() {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("INFERGRID_PASSWORD=", 0) != 0) env.emplace_back(*e);
  env.push_back(std::string("INFERGRID_PASSWORD=") + kPassword);
  return env;
}

pid_t spawn(std::vector<std::string> argv, const std::string& log) {
  auto env = child_env();
  std::vector<char*> cargv, cenv;
  for (auto& s : argv) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  for (auto& s : env) cenv.push_back(s.data());
  cenv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) die("cannot spawn " + argv[0]);
  return pid;
}

// Runs a command to completion (bounded); returns its output.
std::string run_tool(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = spawn(argv, log);
  const auto deadline = Clock::now() + 60s;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      die(argv[1] + " did not finish");
    }
    std::this_thread::sleep_for(10ms);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die(argv[1] + " failed: " + read_file(log));
  return read_file(log);
}

// A running `infergridd start`; killed (SIGTERM, then SIGKILL) when it goes out of scope.
class Node {
 public:
  Node(const Options& o, std::string home, std::vector<std::string> extra = {}) : home_(std::move(home)) {
    log_ = home_ + "/bench-" + std::to_string(++starts_[home_]) + ".log";
    std::vector<std::string> argv = {o.infergridd, "start", "--home", home_, "--rpc-port", "0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    pid_ = spawn(argv, log_);
    static const std::regex port_re("JSON-RPC on ws://127\\.0\\.0\\.1:([0-9]+)");
    const auto deadline = Clock::now() + 30s;
    std::smatch m;
    for (;;) {
      const std::string text = read_file(log_);
      if (std::regex_search(text, m, port_re)) {
        port_ = static_cast<uint16_t>(std::stoi(m[1].str()));
        return;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        die("infergridd exited at start: " + text);
      }
      if (Clock::now() > deadline) die("infergridd did not start: " + text);
      std::this_thread::sleep_for(20ms);
    }
  }
  ~Node() { stop(); }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + 20s;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) != pid_) {
      if (Clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    pid_ = -1;
  }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_); }
  rpc::Client client() const {
    auto c = rpc::Client::connect(url(), 10s);
    if (!c) die("connect " + url() + ": " + c.error().to_string());
    return std::move(*c);
  }
  uint64_t head() const {
    auto c = rpc::Client::connect(url(), 5s);
    if (!c) return 0;
    auto h = c->call("chain_head", json::array());
    return h ? (*h)["height"].get<uint64_t>() : 0;
  }
  const std::string& home() const { return home_; }

 private:
  static inline std::map<std::string, int> starts_;
  std::string home_, log_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

json load_json(const std::string& path) { return json::parse(read_file(path)); }
void save_json(const std::string& path, const json& j) { std::ofstream(path, std::ios::trunc) << j.dump(2); }

struct Timeouts {
  uint64_t propose, propose_delta, prevote, prevote_delta, precommit, precommit_delta;
};
constexpr Timeouts kDefaultTimeouts{3000, 500, 1000, 500, 1000, 500};

// `infergridd testnet` under `dir` with these timeouts in every config.json; returns the homes.
std::vector<std::string> make_testnet(const Options& o, const std::string& dir, unsigned n, uint64_t block_time_ms,
                                      const Timeouts& t) {
  const uint16_t base = free_port_block(n);
  run_tool({o.infergridd, "testnet", "--validators", std::to_string(n), "--out", dir + "/net", "--base-p2p-port",
            std::to_string(base), "--base-rpc-port", std::to_string(base), "--block-time-ms", std::to_string(block_time_ms)},
           dir + "/testnet.log");
  std::vector<std::string> homes;
  for (unsigned i = 0; i < n; ++i) {
    const std::string home = dir + "/net/node" + std::to_string(i);
    json c = load_json(home + "/config.json");
    c["consensus"] = {{"timeout_propose_ms", t.propose},     {"timeout_propose_delta_ms", t.propose_delta},
                      {"timeout_prevote_ms", t.prevote},     {"timeout_prevote_delta_ms", t.prevote_delta},
                      {"timeout_precommit_ms", t.precommit}, {"timeout_precommit_delta_ms", t.precommit_delta}};
    save_json(home + "/config.json", c);
    homes.push_back(home);
  }
  return homes;
}

std::string temp_dir(const std::string& tag) {
  std::string tmpl = (fs::temp_directory_path() / ("bench-consensus-" + tag + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) die("mkdtemp");
  return tmpl;
}

// Headers as one node announces them: (height, header time_ms, arrival ms, tx_count).
struct Seen {
  uint64_t height, time_ms, arrived_ms, txs;
};

class HeadWatcher {
 public:
  explicit HeadWatcher(const Node& n) : client_(n.client()) {
    auto sub = client_.subscribe("newHeads");
    if (!sub) die("subscribe: " + sub.error().to_string());
    thread_ = std::thread([this] {
      while (!stop_) {
        auto note = client_.next_notification(200ms);
        if (!note) {
          if (note.error().code == "rpc.timeout") continue;
          return;
        }
        const uint64_t now = wall_ms();
        const json& h = (*note)["result"];
        std::lock_guard l(mu_);
        seen_.push_back({h["height"].get<uint64_t>(), h["time_ms"].get<uint64_t>(), now, h.value("tx_count", uint64_t{0})});
      }
    });
  }
  ~HeadWatcher() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Seen> seen() const {
    std::lock_guard l(mu_);
    return seen_;
  }
  uint64_t last_height() const {
    std::lock_guard l(mu_);
    return seen_.empty() ? 0 : seen_.back().height;
  }

 private:
  rpc::Client client_;
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// --- finality latency --------------------------------------------------------------------------

void bench_latency(const Options& o, const std::string& label, uint64_t block_time_ms, const Timeouts& t) {
  const std::string dir = temp_dir("latency");
  auto homes = make_testnet(o, dir, 4, block_time_ms, t);
  std::vector<std::unique_ptr<Node>> nodes;
  for (const auto& h : homes) nodes.push_back(std::make_unique<Node>(o, h));
  std::vector<std::unique_ptr<HeadWatcher>> watchers;
  for (const auto& n : nodes) watchers.push_back(std::make_unique<HeadWatcher>(*n));
  // Skip the first blocks: the nodes were still connecting to each other.
  const uint64_t first = 6, last = first + o.blocks - 1;
  const auto deadline = Clock::now() + std::chrono::seconds(60 + o.blocks * (block_time_ms + 4000) / 1000);
  for (;;) {
    bool done = std::all_of(watchers.begin(), watchers.end(), [&](const auto& w) { return w->last_height() >= last; });
    if (done) break;
    if (Clock::now() > deadline) die(label + ": the network did not reach height " + std::to_string(last));
    std::this_thread::sleep_for(200ms);
  }
  std::map<uint64_t, std::vector<double>> per_block;
  std::map<uint64_t, uint64_t> block_time;
  std::vector<double> any;
  for (const auto& w : watchers)
    for (const auto& s : w->seen()) {
      if (s.height < first || s.height > last) continue;
      const double lat = static_cast<double>(s.arrived_ms) - static_cast<double>(s.time_ms);
      per_block[s.height].push_back(lat);
      block_time[s.height] = s.time_ms;
      any.push_back(lat);
    }
  std::vector<double> all_nodes, intervals;
  for (const auto& [h, v] : per_block)
    if (v.size() == 4) all_nodes.push_back(*std::max_element(v.begin(), v.end()));
  for (uint64_t h = first + 1; h <= last; ++h)
    if (block_time.count(h) && block_time.count(h - 1))
      intervals.push_back(static_cast<double>(block_time[h] - block_time[h - 1]));
  // Rounds: the commit's round of each block (> 0: the first round failed).
  unsigned later_rounds = 0;
  {
    auto c = nodes[0]->client();
    for (uint64_t h = first; h <= last; ++h) {
      auto b = c.call("chain_getBlock", json::array({h, false}));
      if (b && (*b)["commit"]["round"].get<uint64_t>() > 0) ++later_rounds;
    }
  }
  json out = {{"bench", "finality_latency"},
              {"config", label},
              {"validators", 4},
              {"block_time_ms", block_time_ms},
              {"timeouts_ms",
               {{"propose", t.propose}, {"propose_delta", t.propose_delta}, {"prevote", t.prevote},
                {"prevote_delta", t.prevote_delta}, {"precommit", t.precommit}, {"precommit_delta", t.precommit_delta}}},
              {"blocks", per_block.size()},
              {"any_node_p50_ms", percentile(any, 0.5)},
              {"any_node_p99_ms", percentile(any, 0.99)},
              {"all_nodes_p50_ms", percentile(all_nodes, 0.5)},
              {"all_nodes_p99_ms", percentile(all_nodes, 0.99)},
              {"all_nodes_max_ms", percentile(all_nodes, 1.0)},
              {"block_interval_p50_ms", percentile(intervals, 0.5)},
              {"block_interval_p99_ms", percentile(intervals, 0.99)},
              {"blocks_after_round_0", later_rounds},
              {"loadavg_1m", loadavg()}};
  std::cout << out.dump() << std::endl;
  watchers.clear();
  nodes.clear();
  fs::remove_all(dir);
}

// --- transfers per second ----------------------------------------------------------------------

void bench_tps(const Options& o) {
  const std::string dir = temp_dir("tps");
  const uint64_t block_time_ms = 500;
  auto homes = make_testnet(o, dir, 4, block_time_ms, kDefaultTimeouts);
  std::vector<std::unique_ptr<Node>> nodes;
  for (const auto& h : homes) nodes.push_back(std::make_unique<Node>(o, h));
  const std::string chain_id = "infergrid-testnet";

  struct Sender {
    chain::SecretKey key;
    size_t node;
    std::vector<std::string> txs;  // hex, nonces 0..n-1
  };
  std::vector<Sender> senders;
  auto add_sender = [&](const std::string& path, size_t node) {
    auto k = wallet::read_keystore(path, kPassword);
    if (!k) die("keystore " + path + ": " + k.error().to_string());
    senders.push_back(Sender{*k, node, {}});
  };
  add_sender(homes[0] + "/wallet/dev.json", 0);
  for (size_t i = 0; i < 4; ++i) add_sender(homes[i] + "/wallet/validator.json", i);
  // Pre-signed, so that signing does not compete with the nodes while they are measured.
  chain::FeeSchedule fees;
  const chain::Address to = chain::SecretKey::generate().public_key();
  for (auto& s : senders)
    for (uint64_t nonce = 0; nonce < o.tps_per_sender; ++nonce) {
      wallet::TransferSpec spec{chain_id, to, 1, 0, nonce, 0, ""};
      spec.fee = wallet::minimum_fee(fees, spec, s.key.public_key());
      auto tx = wallet::sign_transfer(spec, s.key);
      if (!tx) die("sign: " + tx.error().to_string());
      s.txs.push_back(chain::to_hex(chain::encode_tx(*tx)));
    }
  HeadWatcher watch(*nodes[0]);
  const uint64_t total = o.tps_per_sender * senders.size();
  const auto started = Clock::now();
  std::atomic<uint64_t> rejected{0};
  std::vector<std::thread> threads;
  for (auto& s : senders) {
    threads.emplace_back([&, sp = &s] {
      auto c = nodes[sp->node]->client();
      size_t next = 0;
      while (next < sp->txs.size() && Clock::now() - started < 300s) {
        json batch = json::array();
        const size_t end = std::min(sp->txs.size(), next + 100);
        for (size_t i = next; i < end; ++i)
          batch.push_back({{"jsonrpc", "2.0"}, {"id", i}, {"method", "tx_send"}, {"params", json::array({sp->txs[i]})}});
        auto reply = c.call_raw(batch.dump());
        if (!reply || !reply->is_array()) die("tx_send batch failed");
        // Replies may come in any order; resume from the first refused nonce (a full mempool).
        size_t first_refused = end;
        for (const auto& r : *reply)
          if (r.contains("error")) first_refused = std::min<size_t>(first_refused, r["id"].get<size_t>());
        if (first_refused < end) {
          ++rejected;
          std::this_thread::sleep_for(50ms);
        }
        next = first_refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double submit_s = std::chrono::duration<double>(Clock::now() - started).count();
  // Wait until every transfer is in a block.
  const auto deadline = Clock::now() + 300s;
  uint64_t committed = 0;
  std::vector<Seen> seen;
  while (Clock::now() < deadline) {
    seen = watch.seen();
    committed = 0;
    for (const auto& s : seen) committed += s.txs;
    if (committed >= total) break;
    std::this_thread::sleep_for(200ms);
  }
  // Throughput over the blocks that carried transfers: from the block before the first one
  // (the load began after it) to the last.
  uint64_t t0 = 0, t1 = 0, in_blocks = 0, max_block = 0, blocks = 0;
  for (size_t i = 0; i < seen.size(); ++i) {
    if (seen[i].txs == 0) continue;
    if (t0 == 0) t0 = i > 0 ? seen[i - 1].arrived_ms : seen[i].arrived_ms - block_time_ms;
    t1 = seen[i].arrived_ms;
    in_blocks += seen[i].txs;
    max_block = std::max(max_block, seen[i].txs);
    ++blocks;
  }
  const double secs = static_cast<double>(t1 - t0) / 1000.0;
  unsigned later_rounds = 0;
  {
    auto c = nodes[0]->client();
    for (const auto& s : seen) {
      auto b = c.call("chain_getBlock", json::array({s.height, false}));
      if (s.txs > 0 && b && (*b)["commit"]["round"].get<uint64_t>() > 0) ++later_rounds;
    }
  }
  json out = {{"bench", "transfers_per_second"},
              {"validators", 4},
              {"block_time_ms", block_time_ms},
              {"senders", senders.size()},
              {"submitted", total},
              {"committed", in_blocks},
              {"seconds", secs},
              {"transfers_per_second", secs > 0 ? static_cast<double>(in_blocks) / secs : 0},
              {"submit_seconds", submit_s},
              {"blocks_with_transfers", blocks},
              {"max_transfers_per_block", max_block},
              {"blocks_after_round_0", later_rounds},
              {"mempool_full_retries", rejected.load()},
              {"loadavg_1m", loadavg()}};
  std::cout << out.dump() << std::endl;
  nodes.clear();
  fs::remove_all(dir);
}

// --- block sync --------------------------------------------------------------------------------

void bench_sync(const Options& o) {
  const std::string dir = temp_dir("sync");
  const std::string vhome = dir + "/validator", fhome = dir + "/follower";
  run_tool({o.infergridd, "init", "--home", vhome, "--block-time-ms", "10"}, dir + "/init-v.log");
  const std::string fout = run_tool({o.infergridd, "init", "--home", fhome, "--genesis", vhome + "/genesis.json",
                                     "--p2p-listen", "127.0.0.1:0", "--moniker", "follower"},
                                    dir + "/init-f.log");
  std::smatch m;
  const std::string vout = read_file(dir + "/init-v.log");
  if (!std::regex_search(fout, m, std::regex("node id: +([0-9a-f]{64})"))) die("no follower node id");
  const std::string follower_id = m[1];
  if (!std::regex_search(vout, m, std::regex("node id: +([0-9a-f]{64})"))) die("no validator node id");
  const std::string validator_id = m[1];
  const uint16_t vport = free_port_block(1);
  {
    json c = load_json(vhome + "/config.json");
    c["p2p"]["listen"] = "127.0.0.1:" + std::to_string(vport);
    c["p2p"]["allowed_peers"] = json::array({follower_id});
    save_json(vhome + "/config.json", c);
    json f = load_json(fhome + "/config.json");
    f["p2p"]["persistent_peers"] = json::array({validator_id + "@127.0.0.1:" + std::to_string(vport)});
    save_json(fhome + "/config.json", f);
  }
  const auto make_started = Clock::now();
  uint64_t made = 0;
  {
    Node v(o, vhome);
    const auto deadline = Clock::now() + 1800s;
    while ((made = v.head()) < o.sync_blocks) {
      if (Clock::now() > deadline) die("the validator did not make enough blocks");
      std::this_thread::sleep_for(500ms);
    }
  }
  const double make_s = std::chrono::duration<double>(Clock::now() - make_started).count();
  // A block time of 10 minutes: the head stays where it is while the follower syncs.
  Node v(o, vhome, {"--block-time-ms", "600000"});
  const uint64_t target = v.head();
  const auto started = Clock::now();
  Node f(o, fhome);
  const auto rpc_up = Clock::now();
  const auto deadline = Clock::now() + 1800s;
  uint64_t got = 0;
  while ((got = f.head()) < target) {
    if (Clock::now() > deadline) die("the follower did not catch up");
    std::this_thread::sleep_for(100ms);
  }
  const double secs = std::chrono::duration<double>(Clock::now() - started).count();
  const double after_rpc = std::chrono::duration<double>(Clock::now() - rpc_up).count();
  json out = {{"bench", "block_sync"},
              {"blocks", target},
              {"seconds", secs},
              {"blocks_per_second", static_cast<double>(target) / secs},
              {"seconds_after_rpc_up", after_rpc},
              {"producing_blocks_per_second", static_cast<double>(made) / make_s},
              {"block_time_ms_while_producing", 10},
              {"loadavg_1m", loadavg()}};
  std::cout << out.dump() << std::endl;
  f.stop();
  v.stop();
  fs::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--infergridd") o.infergridd = value();
    else if (a == "--blocks") o.blocks = static_cast<unsigned>(std::stoul(value()));
    else if (a == "--sync-blocks") o.sync_blocks = static_cast<unsigned>(std::stoul(value()));
    else if (a == "--tps-per-sender") o.tps_per_sender = static_cast<unsigned>(std::stoul(value()));
    else if (a == "--only") o.only = value();
    else if (a == "--lowest") {
      std::stringstream ss(value());
      std::string part;
      o.lowest.clear();
      while (std::getline(ss, part, ',')) o.lowest.push_back(std::stoull(part));
      if (o.lowest.size() != 4) die("--lowest takes BLOCK_MS,PROPOSE_MS,PREVOTE_MS,PRECOMMIT_MS");
    }
    else die("unknown argument " + a + " (see the comment at the top of bench_consensus.cpp)");
  }
  if (o.infergridd.empty()) o.infergridd = self_dir() + "/infergridd";
  if (!fs::exists(o.infergridd)) die(o.infergridd + " not found (build infergridd or give --infergridd)");
  signal(SIGPIPE, SIG_IGN);
  auto wanted = [&](const std::string& name) { return o.only.empty() || ("," + o.only + ",").find("," + name + ",") != std::string::npos; };
  if (wanted("latency_default")) bench_latency(o, "default_timeouts", 1000, kDefaultTimeouts);
  // The lowest this machine sustains without failed rounds (found by trying: propose 40 ms lost
  // a sixth of the rounds, 50 ms none): a round is a block execution, a proposal and two vote
  // exchanges, each behind an fsync of the WAL and the signer state; the commit wait is the
  // CLI's minimum block time.
  if (wanted("latency_lowest")) {
    const auto& l = o.lowest;
    bench_latency(o, "lowest_timeouts", l[0], Timeouts{l[1], l[1] / 4, l[2], l[2] / 4, l[3], l[3] / 4});
  }
  if (wanted("tps")) bench_tps(o);
  if (wanted("sync")) bench_sync(o);
  return 0;
}
