// The JSON-RPC layer without a network: parsing, validation, batches, error
// codes, built-ins, filters and URL parsing.
#include <gtest/gtest.h>

#include "rpc/detail/dispatch.hpp"
#include "rpc/detail/subscriptions.hpp"
#include "rpc/detail/url.hpp"

using namespace ig::rpc;
using namespace ig::rpc::detail;

namespace {

std::map<std::string, Handler> test_methods() {
  std::map<std::string, Handler> m;
  m["echo"] = [](const json& p) -> MethodResult { return p; };
  m["add"] = [](const json& p) -> MethodResult {
    if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() || !p[1].is_number_integer())
      return invalid_params("expected [a, b] integers");
    return p[0].get<int64_t>() + p[1].get<int64_t>();
  };
  m["throws"] = [](const json&) -> MethodResult { throw std::runtime_error("secret /etc/passwd detail"); };
  m["missing"] = [](const json&) -> MethodResult { return not_found("no such block", json{{"height", 7}}); };
  m["bad_utf8"] = [](const json&) -> MethodResult { return std::string("ok\xff\xfe"); };
  return m;
}

class RpcProtocol : public ::testing::Test {
 protected:
  Dispatcher d{test_methods(), {"newHeads", "events"}, DispatchLimits{3, 64, FilterLimits{}}};

  json call(const std::string& text, SubscriptionHost* host = nullptr) {
    auto out = d.handle(text, host);
    if (!out) return json("no reply");
    return json::parse(*out);
  }
};

// Records what the dispatcher asks of a connection.
class FakeHost : public SubscriptionHost {
 public:
  MethodResult subscribe(const std::string& topic, const json& filter) override {
    topics.push_back(topic);
    filters.push_back(filter);
    return "0x1";
  }
  bool unsubscribe(const std::string& id) override { return id == "0x1"; }
  std::vector<std::string> topics;
  std::vector<json> filters;
};

}  // namespace

TEST_F(RpcProtocol, ResultRoundTripKeepsIdAndParams) {
  json r = call(R"({"jsonrpc":"2.0","id":"abc","method":"echo","params":{"x":[1,2]}})");
  EXPECT_EQ(r["jsonrpc"], "2.0");
  EXPECT_EQ(r["id"], "abc");
  EXPECT_EQ(r["result"], json({{"x", {1, 2}}}));
  EXPECT_FALSE(r.contains("error"));

  r = call(R"({"jsonrpc":"2.0","id":-7,"method":"add","params":[2,40]})");
  EXPECT_EQ(r["id"], -7);
  EXPECT_EQ(r["result"], 42);
}

// Fault found by outside testing: a number beyond the range of a double anywhere in a message
// made the JSON library throw out_of_range, which nothing caught, and the node died.
TEST_F(RpcProtocol, NumbersOutOfRangeAreAnsweredNotFatal) {
  for (std::string text : {R"({"jsonrpc":"2.0","id":1e400,"method":"echo"})",
                           R"({"jsonrpc":"2.0","id":1,"method":"echo","params":[1e999]})",
                           R"({"jsonrpc":"2.0","method":"echo","params":{"x":-1e400}})",  // a notification
                           R"([{"jsonrpc":"2.0","id":1,"method":"echo"},{"jsonrpc":"2.0","id":2,"params":[1E+99999]}])"}) {
    std::optional<std::string> out;
    ASSERT_NO_THROW(out = d.handle(text, nullptr)) << text;
    ASSERT_TRUE(out) << text;
    json r = json::parse(*out);
    EXPECT_EQ(r["error"]["code"], kInvalidRequest) << text;
    EXPECT_TRUE(r["id"].is_null()) << text;
    EXPECT_NE(r["error"]["message"].get<std::string>().find("out of range"), std::string::npos);
  }
  // and the dispatcher still serves
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]})")["result"], 3);
}

// JSON-RPC 2.0: the reply's id is the request's id. Integers within 64 bits and strings come
// back exactly; numbers the JSON library would round (beyond 64 bits, fractions, exponents)
// are refused rather than changed, so two ids of a batch can never come back equal.
TEST_F(RpcProtocol, IdsComeBackExactlyOrAreRefused) {
  for (std::string id : {"0", "-1", "9223372036854775807", "-9223372036854775808", "18446744073709551615",
                         R"("18446744073709551616")", R"("")", R"("a\"b")", "null"}) {
    std::string text = R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"echo"})";
    auto out = d.handle(text, nullptr);
    ASSERT_TRUE(out) << id;
    // The reply's id must be the same JSON text the request carried.
    EXPECT_NE(out->find(R"("id":)" + id), std::string::npos) << id << " -> " << *out;
    EXPECT_TRUE(json::parse(*out).contains("result")) << id;
  }
  for (std::string id : {"18446744073709551616", "-9223372036854775809", "1.5", "1e2", "1.0", "0.1",
                         "100000000000000000000000000000"}) {
    json r = call(R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"echo"})");
    EXPECT_EQ(r["error"]["code"], kInvalidRequest) << id;
    EXPECT_TRUE(r["id"].is_null()) << id;
  }
  // The batch from the report: two ids that used to come back as the same double.
  json r = call(R"([{"jsonrpc":"2.0","id":18446744073709551616,"method":"echo"},
                    {"jsonrpc":"2.0","id":18446744073709551617,"method":"echo"},
                    {"jsonrpc":"2.0","id":18446744073709551615,"method":"echo"}])");
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0]["error"]["code"], kInvalidRequest);
  EXPECT_EQ(r[1]["error"]["code"], kInvalidRequest);
  EXPECT_EQ(r[2]["id"].get<uint64_t>(), 18446744073709551615ull);
}

TEST_F(RpcProtocol, SubscriptionFiltersAreBounded) {
  FakeHost host;
  const std::string head = R"({"jsonrpc":"2.0","id":1,"method":"subscribe","params":["events",)";
  json big = json::object();
  for (int i = 0; i < 9; ++i) big["k" + std::to_string(i)] = "v";
  std::vector<std::string> refused = {
      json(big).dump(),                                                   // 9 keys, limit 8
      json({{"type", std::string(257, 'x')}}).dump(),                     // value too long
      json({{std::string(65, 'k'), "v"}}).dump(),                         // key too long
      R"({"type":["a","b"]})", R"({"type":{"a":1}})", R"({"type":null})",  // not scalars
  };
  for (const auto& f : refused) {
    json r = call(head + f + "]}", &host);
    EXPECT_EQ(r["error"]["code"], kInvalidParams) << f.substr(0, 80);
  }
  EXPECT_TRUE(host.topics.empty());
  big.erase("k8");
  big["type"] = std::string(256, 'x');
  big.erase("k7");
  big["n"] = 5;
  big.erase("k6");
  big["b"] = true;
  big.erase("k5");
  json r = call(head + big.dump() + "]}", &host);
  EXPECT_EQ(r["result"], "0x1") << r.dump().substr(0, 200);
}

TEST(RpcFilterCheck, ShapesAndLimits) {
  FilterLimits lim{2, 4, 3};
  EXPECT_FALSE(check_filter(nullptr, lim));
  EXPECT_FALSE(check_filter(json::object(), lim));
  EXPECT_FALSE(check_filter(json({{"abcd", "xyz"}, {"b", 1}}), lim));
  EXPECT_TRUE(check_filter(json({{"abcde", "x"}}), lim));
  EXPECT_TRUE(check_filter(json({{"a", "wxyz"}}), lim));
  EXPECT_TRUE(check_filter(json({{"a", 1}, {"b", 2}, {"c", 3}}), lim));
  EXPECT_TRUE(check_filter(json::array(), lim));
  EXPECT_TRUE(check_filter(json({{"a", json::array()}}), lim));
}

TEST_F(RpcProtocol, MissingParamsBecomeEmptyArray) {
  json r = call(R"({"jsonrpc":"2.0","id":1,"method":"echo"})");
  EXPECT_EQ(r["result"], json::array());
}

TEST_F(RpcProtocol, NullIdIsAnsweredWithNullId) {
  json r = call(R"({"jsonrpc":"2.0","id":null,"method":"add","params":[1,1]})");
  EXPECT_TRUE(r["id"].is_null());
  EXPECT_EQ(r["result"], 2);
}

TEST_F(RpcProtocol, ParseErrorHasNullId) {
  for (std::string bad : {"{", "not json", R"({"jsonrpc":"2.0","id":1,"method":"echo",})", "", "\xff"}) {
    json r = call(bad);
    EXPECT_EQ(r["error"]["code"], kParseError) << bad;
    EXPECT_TRUE(r["id"].is_null()) << bad;
    EXPECT_NE(r["error"]["message"].get<std::string>().find("parse error"), std::string::npos);
  }
}

TEST_F(RpcProtocol, InvalidRequests) {
  struct Case {
    std::string text;
    json id;
  };
  std::vector<Case> cases = {
      {R"(42)", nullptr},
      {R"("str")", nullptr},
      {R"({"jsonrpc":"2.0","id":{"a":1},"method":"echo"})", nullptr},   // id must be scalar
      {R"({"jsonrpc":"2.0","id":[1],"method":"echo"})", nullptr},
      {R"({"jsonrpc":"2.0","id":true,"method":"echo"})", nullptr},
      {R"({"jsonrpc":"1.0","id":3,"method":"echo"})", 3},             // wrong version
      {R"({"id":4,"method":"echo"})", 4},                              // missing version
      {R"({"jsonrpc":2.0,"id":5,"method":"echo"})", 5},                // version not a string
      {R"({"jsonrpc":"2.0","id":6})", 6},                              // missing method
      {R"({"jsonrpc":"2.0","id":7,"method":12})", 7},                  // method not a string
      {R"({"jsonrpc":"2.0","id":8,"method":"echo","params":"x"})", 8}, // params not structured
      {R"({"jsonrpc":"2.0","id":9,"method":"echo","params":3})", 9},
      {R"({"jsonrpc":"2.0","method":1,"params":"bar"})", nullptr},     // spec example: no id, still answered
  };
  for (const auto& c : cases) {
    json r = call(c.text);
    EXPECT_EQ(r["error"]["code"], kInvalidRequest) << c.text;
    EXPECT_EQ(r["id"], c.id) << c.text;
    EXPECT_FALSE(r.contains("result")) << c.text;
  }
}

TEST_F(RpcProtocol, MethodNotFoundNamesTheMethodButClipsIt) {
  json r = call(R"({"jsonrpc":"2.0","id":1,"method":"nope"})");
  EXPECT_EQ(r["error"]["code"], kMethodNotFound);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("'nope'"), std::string::npos);

  std::string long_name(10000, 'x');
  r = call(json({{"jsonrpc", "2.0"}, {"id", 1}, {"method", long_name}}).dump());
  EXPECT_EQ(r["error"]["code"], kMethodNotFound);
  EXPECT_LT(r["error"]["message"].get<std::string>().size(), 200u);
}

TEST_F(RpcProtocol, HandlerErrorsAndExceptions) {
  json r = call(R"({"jsonrpc":"2.0","id":1,"method":"add","params":["a"]})");
  EXPECT_EQ(r["error"]["code"], kInvalidParams);
  EXPECT_FALSE(r["error"].contains("data"));

  r = call(R"({"jsonrpc":"2.0","id":2,"method":"missing"})");
  EXPECT_EQ(r["error"]["code"], kNotFound);
  EXPECT_EQ(r["error"]["data"], json({{"height", 7}}));

  r = call(R"({"jsonrpc":"2.0","id":3,"method":"throws"})");
  EXPECT_EQ(r["error"]["code"], kInternalError);
  EXPECT_EQ(r["error"]["message"], "internal error");
  EXPECT_EQ(r.dump().find("secret"), std::string::npos);  // internals are not leaked
}

TEST_F(RpcProtocol, InvalidUtf8InResultIsReplacedNotFatal) {
  json r = call(R"({"jsonrpc":"2.0","id":1,"method":"bad_utf8"})");
  ASSERT_TRUE(r["result"].is_string());
  EXPECT_EQ(r["result"].get<std::string>().substr(0, 2), "ok");
}

TEST_F(RpcProtocol, NotificationsGetNoReply) {
  EXPECT_FALSE(d.handle(R"({"jsonrpc":"2.0","method":"echo","params":[1]})", nullptr));
  // even when the method fails or does not exist
  EXPECT_FALSE(d.handle(R"({"jsonrpc":"2.0","method":"nope"})", nullptr));
  EXPECT_FALSE(d.handle(R"({"jsonrpc":"2.0","method":"throws"})", nullptr));
}

TEST_F(RpcProtocol, BatchRepliesInOrderAndSkipsNotifications) {
  json r = call(R"([
    {"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]},
    {"jsonrpc":"2.0","method":"echo","params":[0]},
    {"jsonrpc":"2.0","id":"b","method":"nope"}
  ])");
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0]["id"], 1);
  EXPECT_EQ(r[0]["result"], 3);
  EXPECT_EQ(r[1]["id"], "b");
  EXPECT_EQ(r[1]["error"]["code"], kMethodNotFound);
}

TEST_F(RpcProtocol, BatchOfInvalidElementsAnswersEach) {
  json r = call("[1,2,3]");
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.size(), 3u);
  for (const auto& e : r) {
    EXPECT_EQ(e["error"]["code"], kInvalidRequest);
    EXPECT_TRUE(e["id"].is_null());
  }
}

TEST_F(RpcProtocol, BatchLimits) {
  json r = call("[]");
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["error"]["code"], kInvalidRequest);
  EXPECT_TRUE(r["id"].is_null());

  json big = json::array();
  for (int i = 0; i < 4; ++i) big.push_back({{"jsonrpc", "2.0"}, {"id", i}, {"method", "echo"}});
  r = call(big.dump());  // limit is 3
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["error"]["code"], kLimitExceeded);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("limit of 3"), std::string::npos);
}

TEST_F(RpcProtocol, AllNotificationBatchGetsNoReply) {
  EXPECT_FALSE(d.handle(R"([{"jsonrpc":"2.0","method":"echo"},{"jsonrpc":"2.0","method":"add","params":[1,2]}])",
                        nullptr));
}

TEST_F(RpcProtocol, DeepNestingIsRefusedWithoutCrashing) {
  std::string deep(200000, '[');
  deep += std::string(200000, ']');
  json r = call(deep);
  EXPECT_EQ(r["error"]["code"], kInvalidRequest);
  std::string deep_params = R"({"jsonrpc":"2.0","id":1,"method":"echo","params":)" +
                            std::string(100, '[') + std::string(100, ']') + "}";
  r = call(deep_params);
  EXPECT_EQ(r["error"]["code"], kInvalidRequest);
  // moderate nesting is fine
  std::string ok = R"({"jsonrpc":"2.0","id":1,"method":"echo","params":)" + std::string(20, '[') +
                   std::string(20, ']') + "}";
  EXPECT_TRUE(call(ok).contains("result"));
}

TEST_F(RpcProtocol, CountsRequests) {
  uint64_t before = d.requests_handled();
  (void)call(R"([{"jsonrpc":"2.0","id":1,"method":"echo"},{"jsonrpc":"2.0","id":2,"method":"echo"}])");
  EXPECT_EQ(d.requests_handled(), before + 2);
}

TEST_F(RpcProtocol, RpcMethodsListsEverything) {
  json r = call(R"({"jsonrpc":"2.0","id":1,"method":"rpc_methods"})");
  auto methods = r["result"]["methods"];
  for (const char* m : {"add", "echo", "rpc_methods", "subscribe", "unsubscribe"})
    EXPECT_NE(std::find(methods.begin(), methods.end(), m), methods.end()) << m;
  EXPECT_TRUE(std::is_sorted(methods.begin(), methods.end()));
  EXPECT_EQ(r["result"]["topics"], json({"newHeads", "events"}));
}

TEST_F(RpcProtocol, SubscribeWithoutConnectionIsNotSupported) {
  json r = call(R"({"jsonrpc":"2.0","id":1,"method":"subscribe","params":["newHeads"]})");
  EXPECT_EQ(r["error"]["code"], kMethodNotSupported);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("WebSocket"), std::string::npos);
}

TEST_F(RpcProtocol, SubscribeParamsAreValidated) {
  FakeHost host;
  json r = call(R"({"jsonrpc":"2.0","id":1,"method":"subscribe","params":["events",{"type":"Transfer"}]})", &host);
  EXPECT_EQ(r["result"], "0x1");
  ASSERT_EQ(host.topics.size(), 1u);
  EXPECT_EQ(host.filters[0], json({{"type", "Transfer"}}));

  for (std::string params : {R"([])", R"([1])", R"(["newHeads", 5])", R"(["nope"])",
                             R"(["events", {}, 3])", R"({"x":1})"}) {
    r = call(R"({"jsonrpc":"2.0","id":2,"method":"subscribe","params":)" + params + "}", &host);
    EXPECT_EQ(r["error"]["code"], kInvalidParams) << params;
  }
  EXPECT_EQ(host.topics.size(), 1u);

  r = call(R"({"jsonrpc":"2.0","id":3,"method":"unsubscribe","params":["0x1"]})", &host);
  EXPECT_EQ(r["result"], true);
  r = call(R"({"jsonrpc":"2.0","id":4,"method":"unsubscribe","params":["0x2"]})", &host);
  EXPECT_EQ(r["result"], false);
  r = call(R"({"jsonrpc":"2.0","id":5,"method":"unsubscribe","params":[1]})", &host);
  EXPECT_EQ(r["error"]["code"], kInvalidParams);
}

TEST(RpcMethodResult, ConvertsFromValuesAndErrors) {
  MethodResult a = 5;
  EXPECT_TRUE(a.ok());
  EXPECT_EQ(a.value(), 5);
  MethodResult b = std::string("x");
  EXPECT_EQ(b.value(), "x");
  MethodResult c = RpcError{kTxRejected, "bad nonce"};
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, -32010);
}

TEST(RpcReservedNames, Builtins) {
  EXPECT_TRUE(is_reserved_method("subscribe"));
  EXPECT_TRUE(is_reserved_method("rpc.anything"));
  EXPECT_FALSE(is_reserved_method("chain_head"));
}

TEST(RpcFilter, Matching) {
  json event = {{"type", "Transfer"}, {"from", "ig1a"}, {"accounts", {"ig1a", "ig1b"}}, {"amount", 5}};
  EXPECT_TRUE(filter_matches(nullptr, event));
  EXPECT_TRUE(filter_matches(json::object(), event));
  EXPECT_TRUE(filter_matches({{"type", "Transfer"}}, event));
  EXPECT_TRUE(filter_matches({{"type", "Transfer"}, {"amount", 5}}, event));
  EXPECT_TRUE(filter_matches({{"accounts", "ig1b"}}, event));  // array membership
  EXPECT_FALSE(filter_matches({{"accounts", "ig1c"}}, event));
  EXPECT_FALSE(filter_matches({{"type", "Stake"}}, event));
  EXPECT_FALSE(filter_matches({{"type", "Transfer"}, {"missing", 1}}, event));
  EXPECT_FALSE(filter_matches({{"amount", "5"}}, event));  // types matter
  EXPECT_FALSE(filter_matches({{"type", "Transfer"}}, json(3)));
  EXPECT_TRUE(filter_matches({{"accounts", {"ig1a", "ig1b"}}}, event));  // whole-array equality
}

TEST(RpcUrl, Parses) {
  auto u = parse_url("ws://127.0.0.1:8546", "ws");
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8546);
  EXPECT_EQ(u->target, "/");

  u = parse_url("HTTP://localhost/rpc?x=1", "http");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/rpc?x=1");

  u = parse_url("ws://[::1]:9000/", "ws");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 9000);
}

TEST(RpcUrl, Rejects) {
  for (std::string bad : {"127.0.0.1:8546", "http://127.0.0.1:8546", "ws://", "ws://:80",
                          "ws://host:0", "ws://host:65536", "ws://host:12a", "ws://u@host:1",
                          "ws://ho st:1", "ws://[::1", "ws://[::1]x", "ws://host:123456"}) {
    auto u = parse_url(bad, "ws");
    ASSERT_FALSE(u) << bad;
    EXPECT_EQ(u.error().code, "rpc.bad_url");
  }
}
