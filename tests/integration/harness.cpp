#include "tests/integration/harness.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "chain/address.hpp"
#include "chain/codec.hpp"
#include "chain/genesis.hpp"
#include "wallet/keystore.hpp"
#include "wallet/transfer.hpp"

extern char** environ;

namespace ig::itest {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string bin_dir() {
  const char* dir = std::getenv("INFERGRID_BIN_DIR");
  return dir ? dir : INFERGRID_BIN_DIR_DEFAULT;
}

std::string make_temp_dir(const std::string& tag) {
  std::string tmpl = (fs::temp_directory_path() / ("infergrid-" + tag + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

void remove_dir(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

static bool port_free(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

uint16_t free_port_block(unsigned count) {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<unsigned> pick(20000, 32000 - count);
  for (int attempt = 0; attempt < 500; ++attempt) {
    const unsigned base = pick(rng);
    bool all = true;
    for (unsigned i = 0; i < count && all; ++i) all = port_free(static_cast<uint16_t>(base + i));
    if (all) return static_cast<uint16_t>(base);
  }
  throw std::runtime_error("no block of free ports");
}

static std::vector<char*> to_cargv(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

static std::vector<std::string> environment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  env["INFERGRID_PASSWORD"] = kPassword;
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

static pid_t spawn(std::vector<std::string> argv, const std::map<std::string, std::string>& extra_env,
                   const std::string& out_path, const std::string& err_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  auto envs = environment(extra_env);
  auto cargv = to_cargv(argv);
  auto cenv = to_cargv(envs);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot spawn " + argv[0]);
  return pid;
}

static int wait_pid(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(10ms);
  }
}

RunResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra_env,
              std::chrono::seconds timeout) {
  std::string dir = make_temp_dir("run");
  pid_t pid = spawn(argv, extra_env, dir + "/out", dir + "/err");
  RunResult r;
  r.exit_code = wait_pid(pid, timeout);
  r.out = read_file(dir + "/out");
  r.err = read_file(dir + "/err");
  remove_dir(dir);
  return r;
}

NodeProcess::~NodeProcess() {
  if (pid_ > 0) kill9();
}

void NodeProcess::init(uint64_t block_time_ms) {
  auto r = run({bin_dir() + "/infergridd", "init", "--home", home_, "--block-time-ms", std::to_string(block_time_ms)});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
}

uint64_t NodeProcess::rss_kib() const {
  if (pid_ <= 0) return 0;
  std::string status = read_file("/proc/" + std::to_string(pid_) + "/status");
  auto at = status.find("VmRSS:");
  if (at == std::string::npos) return 0;
  return std::strtoull(status.c_str() + at + 6, nullptr, 10);
}

void NodeProcess::configure_rpc(const rpc::json& rpc) {
  const std::string path = home_ + "/config.json";
  auto config = rpc::json::parse(read_file(path));
  for (const auto& [key, value] : rpc.items()) config["rpc"][key] = value;
  std::ofstream(path, std::ios::trunc) << config.dump(2);
}

void NodeProcess::start(const std::vector<std::string>& extra_args) {
  log_path_ = home_ + "/node-" + std::to_string(++starts_) + ".log";
  std::vector<std::string> argv = {bin_dir() + "/infergridd", "start", "--home", home_, "--rpc-port", "0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  pid_ = spawn(argv, {}, log_path_, log_path_ + ".err");
  // The node logs the bound port once RPC is up.
  static const std::regex port_re("JSON-RPC on ws://127\\.0\\.0\\.1:([0-9]+)");
  auto deadline = std::chrono::steady_clock::now() + 20s;
  std::smatch m;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = read_file(log_path_);
    if (std::regex_search(text, m, port_re)) {
      port_ = static_cast<uint16_t>(std::stoi(m[1].str()));
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL() << "node exited during start: " << text << read_file(log_path_ + ".err");
    }
    std::this_thread::sleep_for(20ms);
  }
  FAIL() << "node did not start serving RPC: " << read_file(log_path_);
}

int NodeProcess::wait_exit(std::chrono::seconds timeout) {
  int code = wait_pid(pid_, timeout);
  pid_ = -1;
  return code;
}

void NodeProcess::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int code = wait_exit(20s);
  EXPECT_EQ(code, 0) << "node did not exit cleanly on SIGTERM: " << log();
}

void NodeProcess::kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  wait_exit(10s);
}

rpc::Client NodeProcess::client() const {
  auto c = rpc::Client::connect(ws_url(), 5s);
  if (!c) throw std::runtime_error("connect: " + c.error().to_string());
  return std::move(*c);
}

chain::SecretKey NodeProcess::dev_key() const {
  auto k = wallet::read_keystore(home_ + "/wallet/dev.json", kPassword);
  if (!k) throw std::runtime_error("dev key: " + k.error().to_string());
  return *k;
}

uint64_t NodeProcess::head_height() const {
  auto c = client();
  auto head = c.call("chain_head", rpc::json::array());
  if (!head) throw std::runtime_error("chain_head: " + head.error().to_string());
  return (*head)["height"].get<uint64_t>();
}

void NodeProcess::wait_for_height(uint64_t height, std::chrono::seconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (head_height() < height) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "head did not reach " << height;
    std::this_thread::sleep_for(50ms);
  }
}

TransferLoad::TransferLoad(const NodeProcess& node, chain::SecretKey key, std::vector<chain::Address> recipients,
                           LoadOptions options)
    : node_(node), key_(key), recipients_(std::move(recipients)), opt_(options) {}

void TransferLoad::start() {
  stop_ = false;
  thread_ = std::thread([this] { loop(); });
}

void TransferLoad::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void TransferLoad::loop() {
  using json = rpc::json;
  auto client = rpc::Client::connect(node_.ws_url(), opt_.connect_timeout);
  if (!client) return;
  const std::string sender = chain::address_to_string(key_.public_key());
  auto info = client->call("node_info", json::array());
  auto acct = client->call("state_getAccount", json::array({sender}));
  if (!info || !acct) return;
  uint64_t nonce = (*acct)["next_nonce"];
  const std::string chain_id = (*info)["chain_id"];
  chain::FeeSchedule fees;  // the development and test genesis use the default schedule
  for (size_t i = 0; !stop_; ++i) {
    wallet::TransferSpec spec{chain_id, recipients_[i % recipients_.size()], 1, 0, nonce, 0, ""};
    spec.fee = wallet::minimum_fee(fees, spec, key_.public_key());
    auto tx = wallet::sign_transfer(spec, key_);
    if (!tx) return;
    auto sent = client->call("tx_send", json::array({chain::to_hex(chain::encode_tx(*tx))}));
    if (sent) {
      ++nonce;
      ++accepted_;
      if (opt_.pause_every && accepted_ % opt_.pause_every == 0) std::this_thread::sleep_for(10ms);
    } else if (sent.error().code == "rpc.transport" || sent.error().code == "rpc.timeout") {
      return;  // the node was killed
    } else {
      std::this_thread::sleep_for(opt_.retry_pause);
      if (auto a = client->call("state_getAccount", json::array({sender}))) nonce = (*a)["next_nonce"];
    }
  }
}

}  // namespace ig::itest
