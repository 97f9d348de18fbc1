// What one client, or a web page, can make the server do: browser origins and Host names,
// connection slots (per address, the trusted reserve, idle and slow clients) and the bytes
// queued for one connection. Clients connect from several loopback addresses (127.0.0.2, ...)
// so that per-address limits can be exercised on one machine.
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "fixture.hpp"
#include "rpc/detail/http_policy.hpp"

using namespace rpc_test;
using namespace ig::rpc;
using namespace ig::rpc::detail;

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

void set_timeouts(tcp::socket& s, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// A TCP connection to the server from `source` (any 127.x.y.z address works on Linux).
std::unique_ptr<tcp::socket> dial_from(net::io_context& ioc, const std::string& source, uint16_t port) {
  auto s = std::make_unique<tcp::socket>(ioc);
  s->open(tcp::v4());
  s->bind(tcp::endpoint(net::ip::make_address(source), 0));
  s->connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  set_timeouts(*s, 5000);
  return s;
}

struct Upgrade {
  std::unique_ptr<websocket::stream<tcp::socket>> ws;
  int status = 0;  // 101 when upgraded
  std::string body;
};

// The status and body a refused upgrade gets, read as plain HTTP (Beast's client handshake
// reports a refusal only as an error).
std::pair<int, std::string> raw_upgrade(net::io_context& ioc, const std::string& source, uint16_t port,
                                        const std::string& host, const std::string& origin) {
  auto s = dial_from(ioc, source, port);
  http::request<http::empty_body> req{http::verb::get, "/", 11};
  req.set(http::field::host, host);
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  if (!origin.empty()) req.set(http::field::origin, origin);
  beast::error_code ec;
  http::write(*s, req, ec);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  if (!ec) http::read(*s, buf, res, ec);
  return {ec ? 0 : static_cast<int>(res.result_int()), res.body()};
}

Upgrade upgrade(net::io_context& ioc, const std::string& source, uint16_t port, const std::string& host,
                const std::string& origin = "") {
  Upgrade u;
  u.ws = std::make_unique<websocket::stream<tcp::socket>>(std::move(*dial_from(ioc, source, port)));
  u.ws->set_option(websocket::stream_base::decorator([origin](websocket::request_type& req) {
    if (!origin.empty()) req.set(http::field::origin, origin);
  }));
  beast::error_code ec;
  u.ws->handshake(host, "/", ec);
  if (!ec) {
    u.status = 101;
  } else {
    std::tie(u.status, u.body) = raw_upgrade(ioc, source, port, host, origin);
  }
  return u;
}

struct HttpReply {
  int status = 0;
  std::string body;
};

HttpReply post(net::io_context& ioc, const std::string& source, uint16_t port, const std::string& host,
               const std::string& origin = "", const std::string& content_type = "application/json") {
  auto s = dial_from(ioc, source, port);
  http::request<http::string_body> req{http::verb::post, "/", 11};
  if (!host.empty()) req.set(http::field::host, host);
  if (!origin.empty()) req.set(http::field::origin, origin);
  req.set(http::field::content_type, content_type);
  req.body() = R"({"jsonrpc":"2.0","id":1,"method":"echo","params":[1]})";
  req.prepare_payload();
  beast::error_code ec;
  http::write(*s, req, ec);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  if (!ec) http::read(*s, buf, res, ec);
  return {ec ? 0 : static_cast<int>(res.result_int()), res.body()};
}

class RpcLimits : public ServerFixture {
 protected:
  void SetUp() override {}
  std::string self(const std::string& name = "127.0.0.1") const { return name + ":" + std::to_string(server_->port()); }
  net::io_context ioc_;
};

}  // namespace

TEST(RpcHttpPolicy, MediaTypes) {
  for (const char* ok : {"application/json", "Application/JSON", "application/json; charset=utf-8",
                         " application/json ;charset=UTF-8", "application/json;"})
    EXPECT_TRUE(is_json_media_type(ok)) << ok;
  for (const char* bad : {"application/jsonfoo", "application/json-patch+json", "text/json", "", "json",
                          "application/x-www-form-urlencoded", "text/plain; application/json"})
    EXPECT_FALSE(is_json_media_type(bad)) << bad;
}

TEST(RpcHttpPolicy, HostNames) {
  EXPECT_EQ(host_name_of("127.0.0.1:8546"), "127.0.0.1");
  EXPECT_EQ(host_name_of("[::1]:8546"), "::1");
  EXPECT_EQ(host_name_of("LocalHost"), "localhost");
  EXPECT_EQ(host_name_of("a.example:80"), "a.example");
  for (const char* bad : {"", "::1", "a:b", "host:99999x", "[::1", "[::1]x", "a b", "a/b:1"})
    EXPECT_EQ(host_name_of(bad), "") << bad;
}

TEST(RpcHttpPolicy, BrowserRefusals) {
  BrowserPolicy none;
  // Non-browser clients send no Origin; Host is an address or localhost.
  EXPECT_FALSE(browser_refusal(std::nullopt, std::nullopt, none));
  EXPECT_FALSE(browser_refusal("127.0.0.1:8546", std::nullopt, none));
  EXPECT_FALSE(browser_refusal("localhost:8546", std::nullopt, none));
  EXPECT_FALSE(browser_refusal("[::1]:8546", std::nullopt, none));
  EXPECT_FALSE(browser_refusal("192.0.2.7:8546", std::nullopt, none));
  // DNS rebinding: a name that is not ours.
  EXPECT_TRUE(browser_refusal("evil.example:8546", std::nullopt, none));
  EXPECT_TRUE(browser_refusal("localhost.evil.example", std::nullopt, none));
  // Any page's origin is foreign, except the node's own pages.
  EXPECT_TRUE(browser_refusal("127.0.0.1:8546", "http://evil.example", none));
  EXPECT_TRUE(browser_refusal("127.0.0.1:8546", "null", none));
  EXPECT_TRUE(browser_refusal("127.0.0.1:8546", "http://127.0.0.1:9999", none));
  EXPECT_FALSE(browser_refusal("127.0.0.1:8546", "http://127.0.0.1:8546", none));
  EXPECT_TRUE(browser_refusal(std::nullopt, "http://127.0.0.1:8546", none));

  BrowserPolicy listed{{"node.example"}, {"https://app.example"}};
  EXPECT_FALSE(browser_refusal("node.example:443", std::nullopt, listed));
  EXPECT_FALSE(browser_refusal("127.0.0.1:8546", "https://app.example", listed));
  EXPECT_FALSE(browser_refusal("127.0.0.1:8546", "HTTPS://APP.EXAMPLE", listed));
  EXPECT_TRUE(browser_refusal("127.0.0.1:8546", "https://app.example.evil", listed));
  BrowserPolicy any{{"*"}, {"*"}};
  EXPECT_FALSE(browser_refusal("whatever.example", "http://anything", any));
}

TEST_F(RpcLimits, ForeignOriginIsRefusedOnUpgradeAndPost) {
  start();
  auto bad = upgrade(ioc_, "127.0.0.1", server_->port(), self(), "http://evil.example");
  EXPECT_EQ(bad.status, 403);
  EXPECT_NE(bad.body.find("Origin"), std::string::npos);
  EXPECT_EQ(post(ioc_, "127.0.0.1", server_->port(), self(), "http://evil.example").status, 403);
  // The node's own pages, and clients that are not browsers, get in.
  EXPECT_EQ(upgrade(ioc_, "127.0.0.1", server_->port(), self(), "http://" + self()).status, 101);
  EXPECT_EQ(upgrade(ioc_, "127.0.0.1", server_->port(), self()).status, 101);
  EXPECT_EQ(post(ioc_, "127.0.0.1", server_->port(), self()).status, 200);
  EXPECT_GE(server_->stats().refused_requests, 2u);

  server_.reset();
  auto cfg = small_config();
  cfg.allowed_origins = {"https://app.example"};
  start(cfg);
  EXPECT_EQ(upgrade(ioc_, "127.0.0.1", server_->port(), self(), "https://app.example").status, 101);
  EXPECT_EQ(upgrade(ioc_, "127.0.0.1", server_->port(), self(), "http://evil.example").status, 403);
}

TEST_F(RpcLimits, ForeignHostIsRefused) {
  start();
  EXPECT_EQ(post(ioc_, "127.0.0.1", server_->port(), "evil.example:" + std::to_string(server_->port())).status, 403);
  EXPECT_EQ(upgrade(ioc_, "127.0.0.1", server_->port(), "evil.example").status, 403);
  EXPECT_EQ(post(ioc_, "127.0.0.1", server_->port(), self("localhost")).status, 200);
  EXPECT_EQ(post(ioc_, "127.0.0.1", server_->port(), "").status, 200);  // HTTP/1.0-style clients
}

TEST_F(RpcLimits, LaxContentTypesAreRefused) {
  start();
  EXPECT_EQ(post(ioc_, "127.0.0.1", server_->port(), self(), "", "application/jsonfoo").status, 415);
  EXPECT_EQ(post(ioc_, "127.0.0.1", server_->port(), self(), "", "text/plain").status, 415);
  EXPECT_EQ(post(ioc_, "127.0.0.1", server_->port(), self(), "", "").status, 415);
  EXPECT_EQ(post(ioc_, "127.0.0.1", server_->port(), self(), "", "application/json;charset=utf-8").status, 200);
}

TEST_F(RpcLimits, OneAddressCannotTakeEverySlot) {
  auto cfg = small_config();
  cfg.max_connections = 16;
  cfg.max_connections_per_ip = 3;
  cfg.reserved_connections = 0;
  start(cfg);
  std::vector<Upgrade> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(upgrade(ioc_, "127.0.0.2", server_->port(), self()));
    ASSERT_EQ(held.back().status, 101);
  }
  ASSERT_TRUE(eventually([&] { return server_->connection_count() == 3; }));
  auto fourth = post(ioc_, "127.0.0.2", server_->port(), self());
  EXPECT_EQ(fourth.status, 429);
  EXPECT_EQ(json::parse(fourth.body)["error"]["code"], kLimitExceeded);
  EXPECT_EQ(post(ioc_, "127.0.0.3", server_->port(), self()).status, 200);  // another address is fine
}

// The attack from the report: others hold every ordinary slot with idle WebSockets and slow
// HTTP senders; a client on the operator's own machine still gets in through the reserve.
TEST_F(RpcLimits, TrustedClientsGetInWhileOthersHoldEverySlot) {
  auto cfg = small_config();
  cfg.max_connections = 8;
  cfg.max_connections_per_ip = 4;
  cfg.reserved_connections = 2;
  cfg.request_timeout_ms = 60000;
  start(cfg);
  std::vector<Upgrade> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(upgrade(ioc_, "127.0.0.2", server_->port(), self()));
  std::vector<std::unique_ptr<tcp::socket>> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(dial_from(ioc_, "127.0.0.3", server_->port()));
    net::write(*slow.back(), net::buffer(std::string("POST / HTTP/1.1\r\nHost: 127")));  // and then nothing
  }
  ASSERT_TRUE(eventually([&] { return server_->connection_count() == 8; }));
  EXPECT_EQ(post(ioc_, "127.0.0.4", server_->port(), self()).status, 503);
  auto c = connect();  // from 127.0.0.1, a trusted address
  auto r = c.call("add", json::array({1, 2}));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(*r, 3.0);
  EXPECT_EQ(server_->connection_count(), 9u);
}

TEST_F(RpcLimits, IdleWebSocketsAreClosedButSubscribersAreNot) {
  auto cfg = small_config();
  cfg.idle_timeout_ms = 300;
  start(cfg);
  auto idle = upgrade(ioc_, "127.0.0.1", server_->port(), self());
  ASSERT_EQ(idle.status, 101);
  auto subscriber = connect();
  ASSERT_TRUE(subscriber.subscribe("newHeads"));
  beast::flat_buffer buf;
  beast::error_code ec;
  idle.ws->read(buf, ec);  // the server closes it: the read ends with `closed`
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(idle.ws->reason().reason, "idle timeout");
  EXPECT_GE(server_->stats().idle_closed, 1u);
  // Three idle periods later the subscriber still has its connection.
  std::this_thread::sleep_for(1s);
  server_->publish("newHeads", json{{"height", 1}});
  auto note = subscriber.next_notification(5s);
  ASSERT_TRUE(note) << note.error().to_string();
  EXPECT_EQ(note->at("result")["height"], 1);
}

TEST_F(RpcLimits, SlowHttpSendersAreCut) {
  auto cfg = small_config();
  cfg.request_timeout_ms = 300;
  start(cfg);
  auto s = dial_from(ioc_, "127.0.0.2", server_->port());
  net::write(*s, net::buffer(std::string("POST / HTTP/1.1\r\n")));
  ASSERT_TRUE(eventually([&] { return server_->connection_count() == 1; }));
  EXPECT_TRUE(eventually([&] { return server_->connection_count() == 0; }, 10s));
}

TEST_F(RpcLimits, QueuedBytesPerConnectionAreBounded) {
  auto cfg = small_config();
  cfg.max_queued_notifications = 1'000'000;  // only the byte bound applies here
  cfg.max_queued_bytes = cfg.max_message_bytes;  // 64 KiB
  start(cfg);
  // A subscriber that never reads.
  auto sub = upgrade(ioc_, "127.0.0.1", server_->port(), self());
  ASSERT_EQ(sub.status, 101);
  sub.ws->write(net::buffer(std::string(R"({"jsonrpc":"2.0","id":1,"method":"subscribe","params":["newHeads"]})")));
  ASSERT_TRUE(eventually([&] { return server_->stats().subscriptions == 1; }));
  ::setsockopt(sub.ws->next_layer().native_handle(), SOL_SOCKET, SO_RCVBUF, "\0\x10\0\0", 4);
  const json big = {{"blob", std::string(16 * 1024, 'x')}};
  for (int i = 0; i < 2000 && server_->stats().dropped_subscribers == 0; ++i) server_->publish("newHeads", big);
  EXPECT_EQ(server_->stats().dropped_subscribers, 1u);  // 2000 x 16 KiB would have been 32 MiB
  EXPECT_TRUE(eventually([&] { return server_->stats().subscriptions == 0; }));
}
