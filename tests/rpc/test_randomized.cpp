// Randomized hostile input for the dispatcher and both transports of a real server. Every
// input must get a well-formed reply (or none, for notifications), and the server must answer
// a sentinel request after each one: no crash, no hang. CI runs a short count; set
// IG_FUZZ_ITERATIONS for a long run (docs/rpc.md, "Testing with hostile input").
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "fixture.hpp"
#include "messages.hpp"
#include "rpc/detail/dispatch.hpp"
#include "transport.hpp"

using namespace rpc_test;
using namespace ig::rpc;

namespace {

uint64_t iterations(uint64_t ci_default) {
  const char* env = std::getenv("IG_FUZZ_ITERATIONS");
  if (!env || !*env) return ci_default;
  return std::strtoull(env, nullptr, 10);
}

class Host : public detail::SubscriptionHost {
 public:
  MethodResult subscribe(const std::string& topic, const json&) override { return topic; }
  bool unsubscribe(const std::string&) override { return false; }
};

}  // namespace

// Thousands of handler exceptions and refused connections would each log a line.
const bool quiet_logs = [] {
  spdlog::set_level(spdlog::level::err);
  return true;
}();

TEST(RpcRandomized, DispatcherAnswersEveryInput) {
  std::map<std::string, Handler> m;
  m["echo"] = [](const json& p) -> MethodResult { return p; };
  // A careless handler: at() and get<>() throw on hostile params. The dispatcher must turn
  // that into -32603, never let it out.
  m["throws"] = [](const json& p) -> MethodResult { return p.at(0).get<std::string>() + p.at("k").dump(); };
  detail::Dispatcher d(std::move(m), {"newHeads", "events"}, detail::DispatchLimits{});
  Host host;
  fuzz::MessageGen gen(42, {"echo", "throws", "subscribe", "unsubscribe", "rpc_methods", "missing"});
  const uint64_t n = iterations(200000);
  uint64_t replies = 0;
  for (uint64_t i = 0; i < n; ++i) {
    std::string message = gen.next();
    auto reply = d.handle(message, (i % 2) ? &host : nullptr);
    if (!reply) continue;
    ++replies;
    auto problem = fuzz::reply_problem(*reply);
    ASSERT_FALSE(problem) << *problem << "\ninput: " << message.substr(0, 300) << "\nreply: " << reply->substr(0, 300);
  }
  std::cout << "dispatcher: " << n << " inputs, " << replies << " replies, 0 failures\n";
  RecordProperty("inputs", static_cast<int>(std::min<uint64_t>(n, INT32_MAX)));
  EXPECT_GT(replies, n / 4);  // most inputs are answered: the generator is not degenerate
}

class RpcRandomizedServer : public ServerFixture {
 protected:
  fuzz::Target target() const { return fuzz::Target{"127.0.0.1", server_->port(), std::chrono::milliseconds(10000)}; }
  void still_serves() {
    auto c = connect();
    auto r = c.call("add", json::array({20, 22}));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(*r, 42.0);
  }
};

TEST_F(RpcRandomizedServer, WebSocket) {
  fuzz::MessageGen gen(7, {"echo", "add", "boom", "subscribe", "unsubscribe", "rpc_methods"});
  const uint64_t n = iterations(20000) / 10 + 1;
  auto stats = fuzz::run_websocket(target(), gen, n);
  ASSERT_TRUE(stats) << stats.error().to_string();
  std::cout << "websocket: " << stats->messages << " messages, " << stats->replies << " replies, "
            << stats->reconnects << " reconnects\n";
  EXPECT_EQ(stats->messages, n);
  still_serves();
}

TEST_F(RpcRandomizedServer, Http) {
  fuzz::MessageGen gen(8, {"echo", "add", "boom", "subscribe", "rpc_methods"});
  const uint64_t n = iterations(20000) / 10 + 1;
  auto stats = fuzz::run_http(target(), gen, n);
  ASSERT_TRUE(stats) << stats.error().to_string();
  std::cout << "http: " << stats->messages << " messages, " << stats->replies << " replies\n";
  EXPECT_GT(stats->http_status[200], 0u);
  EXPECT_GT(stats->http_status[415], 0u);  // the generator also sends foreign content types
  EXPECT_GT(stats->http_status[403], 0u);  // and foreign origins and hosts
  still_serves();
}

TEST_F(RpcRandomizedServer, RawHttpRequests) {
  fuzz::MessageGen gen(9);
  const uint64_t n = iterations(20000) / 40 + 1;
  auto stats = fuzz::run_raw_http(target(), gen, n);
  ASSERT_TRUE(stats) << stats.error().to_string();
  std::cout << "raw http: " << stats->messages << " requests\n";
  still_serves();
  EXPECT_TRUE(eventually([&] { return server_->connection_count() == 0; }));  // every connection was closed
}
