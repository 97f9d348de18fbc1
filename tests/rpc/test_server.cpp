// Server and client on real sockets: round trips over WebSocket and HTTP,
// batches, every error code, size and connection limits, robustness after bad
// input, concurrency, port conflicts and stopping with clients connected.
#include <thread>
#include <vector>

#include "fixture.hpp"

using namespace rpc_test;
using namespace ig::rpc;

namespace {

std::string request(int id, const std::string& method, const json& params = json::array()) {
  return json({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}).dump();
}

class RpcServer : public ServerFixture {};

}  // namespace

TEST_F(RpcServer, WebSocketRoundTrip) {
  auto c = connect();
  auto r = c.call("add", json::array({2, 40}));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(*r, 42.0);
  r = c.call("echo", json{{"k", "v"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, json({{"k", "v"}}));
}

TEST_F(RpcServer, HttpRoundTrip) {
  auto r = http_post(http_url(), request(7, "add", {1, 2}), 5s);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ((*r)["id"], 7);
  EXPECT_EQ((*r)["result"], 3.0);

  auto raw = http_request("POST", http_url(), request(8, "echo", {1}), 5s);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 200);
  EXPECT_EQ(raw->content_type, "application/json");
}

TEST_F(RpcServer, HttpHealthAndVerbs) {
  auto get = http_request("GET", http_url(), "", 5s);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(json::parse(get->body)["status"], "ok");

  auto put = http_request("PUT", http_url(), "{}", 5s);
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  auto del = http_request("DELETE", http_url(), "", 5s);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
  auto missing = http_request("GET", "http://127.0.0.1:" + std::to_string(server_->port()) + "/x", "", 5s);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(RpcServer, HttpRejectsOtherContentTypes) {
  auto form = http_request("POST", http_url(), request(1, "echo"), 5s, "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 415);
  auto charset = http_request("POST", http_url(), request(1, "echo"), 5s, "application/json; charset=utf-8");
  ASSERT_TRUE(charset);
  EXPECT_EQ(charset->status, 200);
}

TEST_F(RpcServer, HttpNotificationGets204) {
  auto r = http_request("POST", http_url(), R"({"jsonrpc":"2.0","method":"echo"})", 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_TRUE(r->body.empty());
  auto j = http_post(http_url(), R"([{"jsonrpc":"2.0","method":"echo"}])", 5s);
  ASSERT_TRUE(j);
  EXPECT_TRUE(j->is_null());
}

TEST_F(RpcServer, BatchOverWebSocketAndHttp) {
  std::string batch = "[" + request(1, "add", {1, 1}) + R"(,{"jsonrpc":"2.0","method":"echo"},)" +
                      request(3, "nope") + ",5]";
  auto c = connect();
  for (int transport = 0; transport < 2; ++transport) {
    auto r = transport == 0 ? c.call_raw(batch) : http_post(http_url(), batch, 5s);
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_TRUE(r->is_array());
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0]["result"], 2.0);
    EXPECT_EQ((*r)[1]["error"]["code"], kMethodNotFound);
    EXPECT_EQ((*r)[2]["error"]["code"], kInvalidRequest);
  }
  auto empty = c.call_raw("[]");
  ASSERT_TRUE(empty);
  EXPECT_EQ((*empty)["error"]["code"], kInvalidRequest);

  json big = json::array();
  for (int i = 0; i < 11; ++i) big.push_back(json::parse(request(i, "echo")));
  auto over = c.call_raw(big.dump());
  ASSERT_TRUE(over);
  EXPECT_EQ((*over)["error"]["code"], kLimitExceeded);
}

TEST_F(RpcServer, AllNotificationBatchGetsNoReplyOverWebSocket) {
  auto c = connect();
  c.set_timeout(300ms);
  auto r = c.call_raw(R"([{"jsonrpc":"2.0","method":"echo"},{"jsonrpc":"2.0","method":"add","params":[1,2]}])");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "rpc.timeout");
  c.set_timeout(5s);
  EXPECT_TRUE(c.call("echo", json::array()));  // connection still fine
}

TEST_F(RpcServer, EveryErrorCodeOverWebSocket) {
  auto c = connect();
  auto parse = c.call_raw("{oops");
  ASSERT_TRUE(parse);
  EXPECT_EQ((*parse)["error"]["code"], kParseError);
  EXPECT_TRUE((*parse)["id"].is_null());

  auto invalid = c.call_raw(R"({"jsonrpc":"2.0","id":1})");
  ASSERT_TRUE(invalid);
  EXPECT_EQ((*invalid)["error"]["code"], kInvalidRequest);

  auto missing = c.call("nope", json::array());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "rpc.-32601");

  auto params = c.call("add", json::array({1}));
  ASSERT_FALSE(params);
  EXPECT_EQ(params.error().code, "rpc.-32602");
  EXPECT_NE(params.error().message.find("expected [a, b]"), std::string::npos);

  auto internal = c.call("boom", json::array());
  ASSERT_FALSE(internal);
  EXPECT_EQ(internal.error().code, "rpc.-32603");
  EXPECT_EQ(internal.error().message.find("detail"), std::string::npos);

  auto unknown_topic = c.subscribe("nope");
  ASSERT_FALSE(unknown_topic);
  EXPECT_EQ(unknown_topic.error().code, "rpc.-32602");

  EXPECT_TRUE(c.call("echo", json::array({"still serving"})));
}

TEST_F(RpcServer, EveryErrorCodeOverHttp) {
  auto parse = http_post(http_url(), "{oops", 5s);
  ASSERT_TRUE(parse);
  EXPECT_EQ((*parse)["error"]["code"], kParseError);
  auto invalid = http_post(http_url(), R"({"jsonrpc":"2.0","id":1,"method":"echo","params":1})", 5s);
  ASSERT_TRUE(invalid);
  EXPECT_EQ((*invalid)["error"]["code"], kInvalidRequest);
  auto missing = http_post(http_url(), request(1, "nope"), 5s);
  ASSERT_TRUE(missing);
  EXPECT_EQ((*missing)["error"]["code"], kMethodNotFound);
  auto params = http_post(http_url(), request(1, "add", {"x", 1}), 5s);
  ASSERT_TRUE(params);
  EXPECT_EQ((*params)["error"]["code"], kInvalidParams);
  auto internal = http_post(http_url(), request(1, "boom"), 5s);
  ASSERT_TRUE(internal);
  EXPECT_EQ((*internal)["error"]["code"], kInternalError);
  auto sub = http_post(http_url(), request(1, "subscribe", {"newHeads"}), 5s);
  ASSERT_TRUE(sub);
  EXPECT_EQ((*sub)["error"]["code"], kMethodNotSupported);
  auto ok = http_post(http_url(), request(2, "add", {2, 2}), 5s);
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)["result"], 4.0);
}

TEST_F(RpcServer, RpcMethodsListsRegisteredMethods) {
  auto c = connect();
  auto r = c.call("rpc_methods", json::array());
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["methods"], json({"add", "boom", "echo", "rpc_methods", "subscribe", "unsubscribe"}));
  EXPECT_EQ((*r)["topics"], json({"newHeads", "events"}));
}

TEST_F(RpcServer, OversizedWebSocketMessageGetsErrorThenClose1009) {
  auto c = connect();
  std::string huge = request(1, "echo", json::array({std::string(config_.max_message_bytes, 'x')}));
  auto r = c.call_raw(huge);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ((*r)["error"]["code"], kLimitExceeded);
  EXPECT_NE((*r)["error"]["message"].get<std::string>().find("limit 65536 bytes"), std::string::npos);
  auto after = c.call("echo", json::array());
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, "rpc.transport");
  EXPECT_NE(after.error().message.find("1009"), std::string::npos) << after.error().message;
  EXPECT_NE(after.error().message.find("message too big"), std::string::npos) << after.error().message;

  // A message exactly at the limit is fine, and the server keeps serving others.
  auto c2 = connect();
  std::string prefix = R"({"jsonrpc":"2.0","id":1,"method":"echo","params":[")";
  std::string suffix = R"("]})";
  std::string exact = prefix + std::string(config_.max_message_bytes - prefix.size() - suffix.size(), 'y') + suffix;
  ASSERT_EQ(exact.size(), config_.max_message_bytes);
  auto ok = c2.call_raw(exact);
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_TRUE(ok->contains("result"));
}

TEST_F(RpcServer, OversizedHttpBodyGets413WithJsonRpcError) {
  std::string huge = request(1, "echo", json::array({std::string(config_.max_message_bytes, 'x')}));
  auto r = http_request("POST", http_url(), huge, 5s);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 413);
  json body = json::parse(r->body);
  EXPECT_EQ(body["error"]["code"], kLimitExceeded);
  EXPECT_TRUE(body["id"].is_null());
  // much larger than the limit, too (the server drains rather than resetting)
  std::string bigger(4 * config_.max_message_bytes, 'z');
  auto r2 = http_request("POST", http_url(), bigger, 5s);
  ASSERT_TRUE(r2) << r2.error().to_string();
  EXPECT_EQ(r2->status, 413);
  EXPECT_TRUE(http_post(http_url(), request(2, "echo"), 5s));
}

TEST_F(RpcServer, OversizedHttpHeaderGets400) {
  auto r = http_request("GET", http_url() + std::string(20000, 'a'), "", 5s);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(http_post(http_url(), request(1, "echo"), 5s));
}

TEST_F(RpcServer, KeepsServingAfterGarbage) {
  auto c = connect();
  for (std::string junk : {"", "\x01\x02\x03", "[[[[", "null", "true", "{}", "[{}]"}) {
    auto r = c.call_raw(junk);
    ASSERT_TRUE(r) << "junk " << junk << ": " << r.error().to_string();
    EXPECT_TRUE(r->is_object() || r->is_array());
  }
  auto ok = c.call("add", json::array({1, 2}));
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 3.0);
  EXPECT_TRUE(http_post(http_url(), "\x00\x01", 5s));
  EXPECT_TRUE(connect().call("echo", json::array()));
}

// RFC 6455 requires text frames to be UTF-8: the WebSocket layer closes with
// 1007. Over HTTP the same bytes are a JSON parse error.
TEST_F(RpcServer, InvalidUtf8) {
  std::string bad = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[\"\xff\"]}";
  auto c = connect();
  auto r = c.call_raw(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "rpc.transport");
  EXPECT_NE(r.error().message.find("1007"), std::string::npos) << r.error().message;
  auto h = http_post(http_url(), bad, 5s);
  ASSERT_TRUE(h);
  EXPECT_EQ((*h)["error"]["code"], kParseError);
  EXPECT_TRUE(connect().call("echo", json::array()));
}

TEST_F(RpcServer, ConcurrentClients) {
  constexpr int kClients = 8, kCalls = 200;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      auto c = Client::connect(ws_url(), 5s);
      if (!c) return;
      for (int i = 0; i < kCalls; ++i) {
        auto r = c->call("add", json::array({t, i}));
        if (r && *r == double(t + i)) good++;
      }
    });
  }
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto r = http_post(http_url(), request(i, "add", {t, i}), 5s);
        if (r && (*r)["result"] == double(t + i)) good++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good, kClients * kCalls + 4 * 25);
  EXPECT_GE(server_->stats().requests, uint64_t(kClients * kCalls + 100));
}

TEST_F(RpcServer, ConnectionLimit) {
  server_.reset();
  auto cfg = small_config();
  cfg.max_connections = 2;
  cfg.reserved_connections = 0;  // these clients are on 127.0.0.1, which may use the reserve
  start(cfg);
  auto a = connect();
  auto b = connect();
  ASSERT_TRUE(eventually([&] { return server_->connection_count() == 2; }));
  auto third = Client::connect(ws_url(), 5s);
  ASSERT_FALSE(third);
  auto http = http_request("GET", http_url(), "", 5s);
  ASSERT_TRUE(http) << http.error().to_string();
  EXPECT_EQ(http->status, 503);
  EXPECT_EQ(json::parse(http->body)["error"]["code"], kLimitExceeded);
  EXPECT_GE(server_->stats().rejected_connections, 2u);

  a.close();
  ASSERT_TRUE(eventually([&] { return server_->connection_count() == 1; }));
  auto c = connect();
  EXPECT_TRUE(c.call("echo", json::array()));
  EXPECT_TRUE(b.call("echo", json::array()));
}

TEST_F(RpcServer, ConnectionCountFollowsClients) {
  {
    auto a = connect();
    auto b = connect();
    ASSERT_TRUE(eventually([&] { return server_->connection_count() == 2; }));
  }
  EXPECT_TRUE(eventually([&] { return server_->connection_count() == 0; }));
}

TEST_F(RpcServer, PortInUseIsAnError) {
  ServerConfig cfg = small_config();
  cfg.port = server_->port();
  Server second(cfg);
  auto st = second.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "rpc.bind");
  EXPECT_NE(st.error().message.find(std::to_string(cfg.port)), std::string::npos);
}

TEST_F(RpcServer, BadConfigAndMethodRegistration) {
  ServerConfig cfg = small_config();
  cfg.host = "not an address";
  EXPECT_EQ(Server(cfg).start().error().code, "rpc.bind");
  cfg = small_config();
  cfg.threads = 0;
  EXPECT_EQ(Server(cfg).start().error().code, "rpc.config");
  cfg = small_config();
  cfg.topics = {"new heads"};
  EXPECT_EQ(Server(cfg).start().error().code, "rpc.config");
  cfg = small_config();
  cfg.max_message_bytes = 0;
  EXPECT_EQ(Server(cfg).start().error().code, "rpc.config");

  Server s(small_config());
  auto h = [](const json&) -> MethodResult { return 1; };
  EXPECT_TRUE(s.add_method("a", h));
  EXPECT_EQ(s.add_method("a", h).error().code, "rpc.bad_method");
  EXPECT_EQ(s.add_method("subscribe", h).error().code, "rpc.bad_method");
  EXPECT_EQ(s.add_method("rpc.x", h).error().code, "rpc.bad_method");
  EXPECT_EQ(s.add_method("", h).error().code, "rpc.bad_method");
  EXPECT_EQ(s.add_method("b", Handler{}).error().code, "rpc.bad_method");
  ASSERT_TRUE(s.start());
  EXPECT_EQ(s.add_method("late", h).error().code, "rpc.started");
  EXPECT_EQ(s.start().error().code, "rpc.started");
}

TEST_F(RpcServer, StopWithClientsConnected) {
  auto a = connect();
  auto b = connect();
  ASSERT_TRUE(b.subscribe("newHeads"));
  ASSERT_TRUE(a.call("echo", json::array()));
  server_->stop();
  EXPECT_EQ(server_->connection_count(), 0u);
  auto r = a.call("echo", json::array());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "rpc.transport");
  auto n = b.next_notification(2s);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, "rpc.transport");
  EXPECT_NE(n.error().message.find("1001"), std::string::npos) << n.error().message;
  EXPECT_FALSE(Client::connect(ws_url(), 1s));
  server_->stop();  // idempotent
}

TEST(RpcClient, ConnectErrors) {
  auto bad = Client::connect("http://127.0.0.1:1", 1s);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "rpc.bad_url");
  // A port nobody listens on: bind one, note it, close it.
  uint16_t port;
  {
    Server s(small_config());
    ASSERT_TRUE(s.start());
    port = s.port();
  }
  auto refused = Client::connect("ws://127.0.0.1:" + std::to_string(port), 2s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "rpc.transport");
  auto http = http_post("http://127.0.0.1:" + std::to_string(port), "{}", 2s);
  ASSERT_FALSE(http);
  EXPECT_EQ(http.error().code, "rpc.transport");
}
