// A running server on an ephemeral 127.0.0.1 port with a few test methods.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <chrono>
#include <thread>

#include "rpc/rpc.hpp"

namespace rpc_test {

using namespace std::chrono_literals;
using ig::rpc::json;

inline ig::rpc::ServerConfig small_config() {
  ig::rpc::ServerConfig c;
  c.port = 0;
  c.max_message_bytes = 64 * 1024;
  c.max_batch = 10;
  c.max_subscriptions_per_conn = 4;
  c.max_connections = 64;
  c.max_queued_notifications = 64;
  c.threads = 2;
  return c;
}

inline void add_test_methods(ig::rpc::Server& s) {
  using ig::rpc::MethodResult;
  ASSERT_TRUE(s.add_method("echo", [](const json& p) -> MethodResult { return p; }));
  ASSERT_TRUE(s.add_method("add", [](const json& p) -> MethodResult {
    if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number())
      return ig::rpc::invalid_params("expected [a, b]");
    return p[0].get<double>() + p[1].get<double>();
  }));
  ASSERT_TRUE(s.add_method("boom", [](const json&) -> MethodResult {
    throw std::runtime_error("internal detail that must not leak");
  }));
}

// Polls `cond` until it holds; a bounded wait for asynchronous effects, not a timing assertion.
template <typename Cond>
bool eventually(Cond cond, std::chrono::milliseconds limit = 10s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class ServerFixture : public ::testing::Test {
 protected:
  void start(ig::rpc::ServerConfig config = small_config()) {
    config_ = config;
    server_ = std::make_unique<ig::rpc::Server>(config);
    add_test_methods(*server_);
    auto st = server_->start();
    ASSERT_TRUE(st) << st.error().to_string();
    ASSERT_NE(server_->port(), 0);
  }
  void SetUp() override { start(); }

  std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(server_->port()); }
  std::string http_url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/"; }

  ig::rpc::Client connect() {
    auto c = ig::rpc::Client::connect(ws_url(), 5s);
    if (!c) throw std::runtime_error("connect: " + c.error().to_string());  // gtest reports it
    return std::move(*c);
  }

  ig::rpc::ServerConfig config_;
  std::unique_ptr<ig::rpc::Server> server_;
};

}  // namespace rpc_test
