// What the worker tests' stand-in nodes share: an rpc::Server on 127.0.0.1 with the methods
// every worker asks first (node_info, chain_params, chain_head), a way to add the rest, a
// temporary state directory, and waiting for a condition with a deadline.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "rpc/rpc.hpp"

namespace ig::workers::testing {

using json = rpc::json;

// Polls `cond` every 2 ms until it holds (true) or `limit` passes (false).
template <typename Cond>
bool eventually(Cond cond, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// A fresh directory under the system's temp dir, removed with everything in it at the end.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    // mkdtemp's template: it replaces the six trailing characters with a unique name.
    path_ = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    EXPECT_NE(mkdtemp(path_.data()), nullptr);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The server side of a stand-in node: construct, add() the methods a test needs, start().
class StandInServer {
 public:
  // threads: the server's; a tx_send a test holds back occupies one. max_queued_notifications:
  // a subscriber further behind is dropped (0: the server's default).
  explicit StandInServer(unsigned threads, size_t max_queued_notifications = 0) {
    rpc::ServerConfig c;
    c.port = 0;
    c.threads = threads;
    if (max_queued_notifications) c.max_queued_notifications = max_queued_notifications;
    server_ = std::make_unique<rpc::Server>(c);
    add("node_info", [](const json&) { return json{{"chain_id", "stand-in"}}; });
    add("chain_params", [](const json&) { return json{{"fee", {{"base", 0}, {"per_byte", 0}}}}; });
    add("chain_head", [](const json&) { return json{{"height", 5}}; });
  }
  ~StandInServer() { server_->stop(); }

  void add(const std::string& name, std::function<json(const json&)> f) {
    ASSERT_TRUE(server_->add_method(name, [f = std::move(f)](const json& p) -> rpc::MethodResult { return f(p); }));
  }
  void start() {
    auto st = server_->start();
    EXPECT_TRUE(st) << st.error().to_string();
  }
  // Stops serving; a stand-in calls it first in its destructor, before the state its handlers
  // read goes away.
  void stop() { server_->stop(); }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(server_->port()); }
  rpc::Server& server() { return *server_; }

 private:
  std::unique_ptr<rpc::Server> server_;
};

}  // namespace ig::workers::testing
