// Real processes for integration tests: temp homes, infergridd nodes on loopback, and the
// wallet CLI, driven exactly as a person would drive them.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chain/address.hpp"
#include "chain/keys.hpp"
#include "rpc/client.hpp"

namespace ig::itest {

std::string bin_dir();                 // where infergridd and infergrid-wallet were built
std::string make_temp_dir(const std::string& tag);
void remove_dir(const std::string& path);
std::string read_file(const std::string& path);
// `count` consecutive TCP ports on 127.0.0.1 that are free now, below the kernel's ephemeral
// range (so an outgoing connection is unlikely to take one before a node binds it).
uint16_t free_port_block(unsigned count);

inline constexpr const char* kPassword = "integration-test-password";

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a program to completion with INFERGRID_PASSWORD set; stdin is /dev/null.
RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra_env = {},
              std::chrono::seconds timeout = std::chrono::seconds(60));

class NodeProcess {
 public:
  explicit NodeProcess(std::string home) : home_(std::move(home)) {}
  ~NodeProcess();

  // `infergridd init` with a development genesis.
  void init(uint64_t block_time_ms = 200);
  // Starts `infergridd start` on an ephemeral port and waits until it serves RPC.
  void start(const std::vector<std::string>& extra_args = {});
  void stop();    // SIGTERM and wait; returns after a clean exit
  void kill9();   // SIGKILL, no chance to clean up
  int wait_exit(std::chrono::seconds timeout);
  bool running() const { return pid_ > 0; }
  int pid() const { return pid_; }
  // Resident memory of the running node (VmRSS), in KiB; 0 when it is not running.
  uint64_t rss_kib() const;
  // Merges `rpc` into the "rpc" object of HOME/config.json (before start()).
  void configure_rpc(const rpc::json& rpc);

  uint16_t port() const { return port_; }
  std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(port_); }
  std::string http_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  const std::string& home() const { return home_; }
  std::string log() const { return read_file(log_path_); }
  rpc::Client client() const;

  chain::SecretKey dev_key() const;  // decrypts HOME/wallet/dev.json
  uint64_t head_height() const;
  // Polls until the head reaches `height` (fails the test after the timeout).
  void wait_for_height(uint64_t height, std::chrono::seconds timeout = std::chrono::seconds(30)) const;

 private:
  std::string home_;
  std::string log_path_;
  int pid_ = -1;
  uint16_t port_ = 0;
  int starts_ = 0;
};

// Signed transfers (1 unit each, minimum fee) from `key` to `recipients` in turn, one after
// another on one connection, as fast as the node takes them; a refused one (mempool full, a
// nonce raced by a recheck) waits `retry_pause` and re-reads the nonce. It ends on stop() or
// when the node goes away (killed).
struct LoadOptions {
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds retry_pause{50};
  uint64_t pause_every = 0;  // > 0: a 10 ms pause after every this many accepted (a load, not a flood)
};
class TransferLoad {
 public:
  TransferLoad(const NodeProcess& node, chain::SecretKey key, std::vector<chain::Address> recipients,
               LoadOptions options = {});
  ~TransferLoad() { stop(); }
  void start();
  void stop();
  uint64_t accepted() const { return accepted_; }

 private:
  void loop();

  const NodeProcess& node_;
  chain::SecretKey key_;
  std::vector<chain::Address> recipients_;
  LoadOptions opt_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0};
  std::thread thread_;
};

}  // namespace ig::itest
