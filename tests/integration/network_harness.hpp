// The harness of the network tests (network_test.cpp, network_peers_test.cpp): networks of real
// infergridd validators on loopback, a load generator of signed transfers, TCP proxies that
// partition them, and the NetworkTest fixture that starts, kills and restarts them.
//
// Every wait is bounded; the assertions are about behaviour (agreement, progress, who signed),
// never about how fast. Block time 250 ms and shortened consensus timeouts keep the suites short.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include <boost/asio.hpp>

#include "chain/block.hpp"
#include "chain/codec.hpp"
#include "chain/consensus/messages.hpp"
#include "chain/consensus/proposer.hpp"
#include "p2p/network.hpp"
#include "tests/integration/harness.hpp"
#include "wallet/transfer.hpp"


namespace ig::itest {


using json = rpc::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr uint64_t kBlockTimeMs = 250;

template <typename Pred>
inline bool eventually(Pred pred, std::chrono::milliseconds timeout, std::chrono::milliseconds every = 100ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

inline json load_json(const std::string& path) { return json::parse(read_file(path)); }
inline void save_json(const std::string& path, const json& j) { std::ofstream(path, std::ios::trunc) << j.dump(2); }

// One RPC call on a fresh connection; a node that is down is an error value, not an exception.
inline Expected<json> call(const NodeProcess& n, const std::string& method, const json& params = json::array()) {
  if (!n.running()) return fail("test.down", "node is not running");
  auto c = rpc::Client::connect(n.ws_url(), 3s);
  if (!c) return fail(c.error());
  return c->call(method, params);
}

inline uint64_t head_of(const NodeProcess& n) {
  auto h = call(n, "chain_head");
  return h ? (*h)["height"].get<uint64_t>() : 0;
}

// The committed block at `height` (null when the node does not have it).
inline json block_at(rpc::Client& c, uint64_t height) {
  auto b = c.call("chain_getBlock", json::array({height, false}));
  return b ? *b : json();
}

inline std::set<std::string> signers(const json& commit) {
  std::set<std::string> out;
  if (commit.is_object())
    for (const auto& s : commit["signatures"]) out.insert(s["validator"].get<std::string>());
  return out;
}

// Compares the block hash at every height up to the lowest head among `nodes`; returns that
// height. Every block must also carry a commit of more than 2/3 of `validator_count`.
inline uint64_t expect_agreement(const std::vector<const NodeProcess*>& nodes, size_t validator_count) {
  std::vector<rpc::Client> clients;
  uint64_t common = UINT64_MAX;
  for (const auto* n : nodes) {
    auto c = rpc::Client::connect(n->ws_url(), 3s);
    EXPECT_TRUE(c) << n->home();
    if (!c) return 0;
    auto head = c->call("chain_head", json::array());
    EXPECT_TRUE(head);
    if (!head) return 0;
    common = std::min(common, (*head)["height"].get<uint64_t>());
    clients.push_back(std::move(*c));
  }
  for (uint64_t h = 1; h <= common; ++h) {
    std::string first;
    for (size_t i = 0; i < clients.size(); ++i) {
      json b = block_at(clients[i], h);
      EXPECT_TRUE(b.is_object()) << nodes[i]->home() << " lacks block " << h;
      if (!b.is_object()) return 0;
      const std::string hash = b["hash"];
      if (i == 0) first = hash;
      EXPECT_EQ(hash, first) << "fork at height " << h << " between " << nodes[0]->home() << " and " << nodes[i]->home();
      EXPECT_GT(signers(b["commit"]).size() * 3, validator_count * 2) << "block " << h << " lacks a 2/3 commit";
    }
  }
  return common;
}

// Polls until every node's head reaches `height`.
inline bool all_reach(const std::vector<const NodeProcess*>& nodes, uint64_t height, std::chrono::seconds timeout) {
  return eventually([&] { return std::all_of(nodes.begin(), nodes.end(), [&](auto* n) { return head_of(*n) >= height; }); },
                    timeout);
}

// Heads that stay where they are for `window` after settling (a block in flight when the quorum
// broke may still land): the chain is halted. Returns the settled heads, or nothing if the
// heads kept moving.
inline std::optional<std::vector<uint64_t>> halted_heads(const std::vector<const NodeProcess*>& nodes, std::chrono::milliseconds window) {
  auto heads = [&] {
    std::vector<uint64_t> out;
    for (auto* n : nodes) out.push_back(head_of(*n));
    return out;
  };
  std::vector<uint64_t> settled = heads();
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::this_thread::sleep_for(window);
    auto now = heads();
    if (now == settled) return settled;
    settled = now;
  }
  return std::nullopt;
}

// A TCP forwarder on 127.0.0.1 in front of one node's P2P port. A proxy cannot tell which node
// dialled it (every dialer comes from 127.0.0.1 and an ephemeral port), so the partition test
// gives each ordered pair (i, j) its own proxy: node i reaches node j only through proxy (i, j).
// Blocking a proxy closes its open connections and refuses new ones: what a cut link looks like
// to the nodes (their dials fail and they keep redialling with backoff).
class ProxyHub {
 public:
  ProxyHub() : guard_(asio::make_work_guard(io_)) {
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ProxyHub() {
    asio::post(io_, [this] {
      for (auto& p : proxies_) p->shutdown();
    });
    guard_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // A proxy to 127.0.0.1:target; returns its index.
  size_t add(uint16_t target) {
    proxies_.push_back(std::make_shared<Proxy>(io_, target));
    proxies_.back()->accept();
    return proxies_.size() - 1;
  }
  uint16_t port(size_t i) const { return proxies_[i]->port; }
  uint64_t connections(size_t i) const { return proxies_[i]->forwarded; }
  void set_blocked(size_t i, bool blocked) {
    auto p = proxies_[i];
    std::promise<void> done;
    asio::post(io_, [p, blocked, &done] {
      p->blocked = blocked;
      if (blocked) p->close_all();
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    explicit Session(asio::io_context& io) : a(io), b(io) {}
    tcp::socket a, b;  // a: the dialling node; b: the target node
    std::array<char, 64 * 1024> ab{}, ba{};
    void close() {
      boost::system::error_code ec;
      a.close(ec);
      b.close(ec);
    }
    void pump(tcp::socket& from, tcp::socket& to, std::array<char, 64 * 1024>& buf) {
      auto self = shared_from_this();
      from.async_read_some(asio::buffer(buf), [self, &from, &to, &buf](boost::system::error_code ec, size_t n) {
        if (ec) return self->close();
        asio::async_write(to, asio::buffer(buf.data(), n), [self, &from, &to, &buf](boost::system::error_code ec2, size_t) {
          if (ec2) return self->close();
          self->pump(from, to, buf);
        });
      });
    }
  };
  struct Proxy : std::enable_shared_from_this<Proxy> {
    Proxy(asio::io_context& io_ctx, uint16_t target_port)
        : io(io_ctx), acceptor(io_ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), target(target_port) {
      port = acceptor.local_endpoint().port();
    }
    asio::io_context& io;
    tcp::acceptor acceptor;
    uint16_t target;
    uint16_t port = 0;
    bool blocked = false;
    std::atomic<uint64_t> forwarded{0};
    std::vector<std::weak_ptr<Session>> sessions;
    void accept() {
      auto self = shared_from_this();
      auto s = std::make_shared<Session>(io);
      acceptor.async_accept(s->a, [self, s](boost::system::error_code ec) {
        if (ec) return;  // the acceptor closed
        if (self->blocked) {
          s->close();
        } else {
          self->sessions.push_back(s);
          s->b.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), self->target), [self, s](boost::system::error_code ec2) {
            if (ec2 || self->blocked) return s->close();
            ++self->forwarded;
            s->pump(s->a, s->b, s->ab);
            s->pump(s->b, s->a, s->ba);
          });
        }
        self->accept();
      });
    }
    void close_all() {
      for (auto& w : sessions)
        if (auto s = w.lock()) s->close();
      sessions.clear();
    }
    void shutdown() {
      boost::system::error_code ec;
      acceptor.close(ec);
      close_all();
    }
  };

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::shared_ptr<Proxy>> proxies_;
  std::thread thread_;
};

struct ValidatorHome {
  std::string name, home, node_id, consensus_key, account;
  uint16_t p2p_port = 0;
};

class NetworkTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& n : nodes_) n->kill9();
    proxies_.reset();
    if (HasFailure() || std::getenv("INFERGRID_KEEP_TEST_DIRS")) {
      std::cerr << "node homes and logs kept in " << dir_ << "\n";
    } else if (!dir_.empty()) {
      remove_dir(dir_);
    }
  }

  // `infergridd testnet` on a free block of P2P ports, with test-speed consensus timeouts.
  // `patch_genesis` may change the shared genesis (the same bytes go to every home).
  void make_testnet(unsigned n, const std::function<void(json&)>& patch_genesis = {}, uint64_t block_time_ms = kBlockTimeMs) {
    dir_ = make_temp_dir("net");
    const uint16_t base = free_port_block(n);
    auto r = run({bin_dir() + "/infergridd", "testnet", "--validators", std::to_string(n), "--out", dir_ + "/net",
                  "--base-p2p-port", std::to_string(base), "--base-rpc-port", std::to_string(base),
                  "--block-time-ms", std::to_string(block_time_ms)});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    json genesis = load_json(dir_ + "/net/node0/genesis.json");
    if (patch_genesis) patch_genesis(genesis);
    for (unsigned i = 0; i < n; ++i) {
      ValidatorHome v;
      const json& g = genesis["validators"][i];
      v.name = g["name"];
      v.home = dir_ + "/net/" + v.name;
      v.node_id = g["node_id"];
      v.consensus_key = g["consensus_key"];
      v.account = g["account"];
      const std::string addr = g["p2p_address"];
      v.p2p_port = static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
      save_json(v.home + "/genesis.json", genesis);
      edit_config(v.home, [](json& c) {
        // Rounds that fail (a proposer that is down) move on within about a second.
        c["consensus"]["timeout_propose_ms"] = 1000;
        c["consensus"]["timeout_propose_delta_ms"] = 200;
        c["consensus"]["timeout_prevote_ms"] = 400;
        c["consensus"]["timeout_prevote_delta_ms"] = 200;
        c["consensus"]["timeout_precommit_ms"] = 400;
        c["consensus"]["timeout_precommit_delta_ms"] = 200;
      });
      vals_.push_back(v);
      nodes_.push_back(std::make_unique<NodeProcess>(v.home));
    }
  }

  static void edit_config(const std::string& home, const std::function<void(json&)>& fn) {
    json c = load_json(home + "/config.json");
    fn(c);
    save_json(home + "/config.json", c);
  }
  void allow_peer(const std::string& node_id) {
    for (const auto& v : vals_) edit_config(v.home, [&](json& c) { c["p2p"]["allowed_peers"].push_back(node_id); });
  }

  // A home that is not a validator, on the testnet's genesis, allowed by every validator and
  // dialling node0 (it dials the other genesis validators by itself). Call before starting them.
  void make_follower(const std::string& name, std::string* home) {
    *home = dir_ + "/" + name;
    auto r = run({bin_dir() + "/infergridd", "init", "--home", *home, "--genesis", vals_[0].home + "/genesis.json",
                  "--p2p-listen", "127.0.0.1:0", "--moniker", name});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex("node id: +([0-9a-f]{64})")));
    allow_peer(m[1]);
    edit_config(*home, [&](json& c) {
      c["p2p"]["persistent_peers"].push_back(vals_[0].node_id + "@127.0.0.1:" + std::to_string(vals_[0].p2p_port));
    });
  }

  void start(size_t i, const std::vector<std::string>& extra = {}) { nodes_[i]->start(extra); }
  void start_all() {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      start(i);
      if (HasFatalFailure()) return;
    }
  }
  std::vector<const NodeProcess*> group(std::initializer_list<size_t> idx) const {
    std::vector<const NodeProcess*> out;
    for (size_t i : idx) out.push_back(nodes_[i].get());
    return out;
  }
  std::vector<const NodeProcess*> all() const {
    std::vector<const NodeProcess*> out;
    for (const auto& n : nodes_) out.push_back(n.get());
    return out;
  }

  std::string dir_;
  std::vector<ValidatorHome> vals_;
  std::vector<std::unique_ptr<NodeProcess>> nodes_;
  std::unique_ptr<ProxyHub> proxies_;
};


}  // namespace ig::itest
