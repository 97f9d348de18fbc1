// The HTTP side added for the node's /metrics and /explorer: GET routes beside JSON-RPC,
// per-method request counters, and the Prometheus text format writer.
#include <stdexcept>

#include "fixture.hpp"
#include "rpc/metrics.hpp"

using namespace rpc_test;
using namespace ig::rpc;

namespace {

class RoutedServer : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Server>(small_config());
    add_test_methods(*server_);
    ASSERT_TRUE(server_->add_get("/metrics", [](const HttpGet& g) {
      return HttpReply{200, MetricsText::kContentType, "up 1\n# query=" + g.query + "\n", {}};
    }));
    ASSERT_TRUE(server_->add_get("/explorer/", [](const HttpGet& g) {
      return HttpReply{200, "text/html; charset=utf-8", "page " + g.path, {{"Cache-Control", "no-cache"}}};
    }));
    ASSERT_TRUE(server_->add_get("/fail", [](const HttpGet&) -> HttpReply { throw std::runtime_error("secret detail"); }));
    ASSERT_TRUE(server_->start());
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server_->port()) + path; }
  std::unique_ptr<Server> server_;
};

}  // namespace

TEST_F(RoutedServer, ExactAndPrefixRoutes) {
  auto m = http_request("GET", url("/metrics?x=1"), "", 5s);
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->content_type, MetricsText::kContentType);
  EXPECT_NE(m->body.find("# query=x=1"), std::string::npos);

  for (const char* path : {"/explorer", "/explorer/", "/explorer/app.js"}) {
    auto r = http_request("GET", url(path), "", 5s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->body, std::string("page ") + path);
  }
  // A prefix matches whole path segments only.
  auto other = http_request("GET", url("/explorerx"), "", 5s);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  auto metrics_sub = http_request("GET", url("/metrics/x"), "", 5s);
  ASSERT_TRUE(metrics_sub);
  EXPECT_EQ(metrics_sub->status, 404);
  // The health answer and JSON-RPC are unchanged.
  auto health = http_request("GET", url("/health"), "", 5s);
  ASSERT_TRUE(health);
  EXPECT_EQ(json::parse(health->body)["status"], "ok");
  auto rpc = http_post(url("/"), R"({"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]})", 5s);
  ASSERT_TRUE(rpc);
  EXPECT_EQ((*rpc)["result"], 3.0);
}

TEST_F(RoutedServer, HandlerExceptionIs500AndServerGoesOn) {
  auto r = http_request("GET", url("/fail"), "", 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body.find("secret"), std::string::npos);
  auto again = http_request("GET", url("/metrics"), "", 5s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_F(RoutedServer, MethodStatsCountRequestsAndErrors) {
  auto c = Client::connect("ws://127.0.0.1:" + std::to_string(server_->port()), 5s);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->call("add", json::array({1, 2})));
  ASSERT_TRUE(c->call("add", json::array({3, 4})));
  EXPECT_FALSE(c->call("add", json::array({1})));
  EXPECT_FALSE(c->call("no_such_method_1", json::array()));
  EXPECT_FALSE(c->call("no_such_method_2", json::array()));
  auto stats = server_->method_stats();
  auto find = [&](const std::string& name) {
    for (const auto& s : stats)
      if (s.method == name) return s;
    return MethodStats{name, 999, 999};
  };
  EXPECT_EQ(find("add").requests, 3u);
  EXPECT_EQ(find("add").errors, 1u);
  // Unknown names share one entry: a client cannot grow the table.
  EXPECT_EQ(find("other").requests, 2u);
  EXPECT_EQ(find("other").errors, 2u);
  EXPECT_EQ(find("echo").requests, 0u);
  for (const auto& s : stats) EXPECT_EQ(s.method.find("no_such"), std::string::npos);
}

TEST(RouteRegistration, RefusesReservedDuplicateAndLateRoutes) {
  Server s(small_config());
  auto ok = [](const HttpGet&) { return HttpReply{}; };
  EXPECT_FALSE(s.add_get("/", ok));
  EXPECT_FALSE(s.add_get("/health", ok));
  EXPECT_FALSE(s.add_get("metrics", ok));
  EXPECT_FALSE(s.add_get("/a b", ok));
  EXPECT_FALSE(s.add_get("/a?b", ok));
  EXPECT_TRUE(s.add_get("/metrics", ok));
  EXPECT_FALSE(s.add_get("/metrics", ok));
  ASSERT_TRUE(s.start());
  auto late = s.add_get("/late", ok);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, "rpc.started");
}

TEST(MetricsText, FormatsFamiliesSamplesAndHistograms) {
  MetricsText m;
  m.single("ig_up", "gauge", "Whether it is up.", 1);
  m.family("ig_requests_total", "counter", "Requests.\nSecond line with a \\ backslash.");
  m.sample("ig_requests_total", 3, {{"method", "a\"b\\c\nd"}});
  m.family("ig_requests_total", "counter", "declared twice: ignored");
  Histogram h({0.1, 1, 10});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  h.observe(50);
  m.histogram("ig_latency_seconds", "Latency.", h.snapshot(), {{"route", "x"}});
  const std::string& t = m.text();
  EXPECT_NE(t.find("# HELP ig_up Whether it is up.\n# TYPE ig_up gauge\nig_up 1\n"), std::string::npos);
  EXPECT_NE(t.find("# HELP ig_requests_total Requests.\\nSecond line with a \\\\ backslash.\n"), std::string::npos);
  EXPECT_NE(t.find("ig_requests_total{method=\"a\\\"b\\\\c\\nd\"} 3\n"), std::string::npos);
  EXPECT_EQ(t.find("declared twice"), std::string::npos);
  EXPECT_NE(t.find("ig_latency_seconds_bucket{route=\"x\",le=\"0.1\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("ig_latency_seconds_bucket{route=\"x\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("ig_latency_seconds_bucket{route=\"x\",le=\"10\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("ig_latency_seconds_bucket{route=\"x\",le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(t.find("ig_latency_seconds_sum{route=\"x\"} 55.55\n"), std::string::npos);
  EXPECT_NE(t.find("ig_latency_seconds_count{route=\"x\"} 4\n"), std::string::npos);
}

TEST(MetricsText, NumbersAndNames) {
  EXPECT_EQ(format_metric_value(0), "0");
  EXPECT_EQ(format_metric_value(1234567890123), "1234567890123");
  EXPECT_EQ(format_metric_value(0.25), "0.25");
  EXPECT_EQ(format_metric_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_metric_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_metric_value(0.0 / 0.0), "NaN");
  EXPECT_EQ(std::stod(format_metric_value(0.1 + 0.2)), 0.1 + 0.2);
  EXPECT_TRUE(is_metric_name("infergrid_chain_height"));
  EXPECT_TRUE(is_metric_name("a:b_c9"));
  EXPECT_FALSE(is_metric_name("9abc"));
  EXPECT_FALSE(is_metric_name("a-b"));
  EXPECT_FALSE(is_metric_name(""));
  EXPECT_EQ(exponential_buckets(0.5, 2, 3), (std::vector<double>{0.5, 1, 2}));
}
