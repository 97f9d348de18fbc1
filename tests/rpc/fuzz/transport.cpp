#include "transport.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

namespace ig::rpc::fuzz {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::optional<std::string> response_problem(const json& r) {
  if (!r.is_object()) return "reply element is not an object";
  if (r.value("jsonrpc", json()) != "2.0") return "reply without jsonrpc 2.0";
  if (r.contains("method")) return std::nullopt;  // a notification
  if (r.contains("result") == r.contains("error")) return "reply must have exactly one of result, error";
  auto id = r.find("id");
  if (id == r.end()) return "reply without id";
  if (!id->is_null() && !id->is_string() && !id->is_number_integer()) return "reply id of a bad type";
  if (r.contains("error")) {
    const json& e = r["error"];
    if (!e.is_object() || !e.contains("code") || !e["code"].is_number_integer() || !e.contains("message") ||
        !e["message"].is_string())
      return "malformed error object";
  }
  return std::nullopt;
}

// Sockets block for at most `timeout`: a server that stops answering fails the run.
void set_timeouts(tcp::socket& s, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

ig::Status connect_tcp(tcp::socket& s, const Target& t) {
  boost::system::error_code ec;
  s.connect(tcp::endpoint(net::ip::make_address(t.host), t.port), ec);
  if (ec) return ig::fail("fuzz.crash", "cannot connect to the server: " + ec.message());
  set_timeouts(s, t.timeout);
  return {};
}

std::string host_header(const Target& t) { return t.host + ":" + std::to_string(t.port); }

struct WsConn {
  net::io_context ioc;
  std::unique_ptr<websocket::stream<tcp::socket>> ws;

  ig::Status open(const Target& t) {
    ws = std::make_unique<websocket::stream<tcp::socket>>(ioc);
    IG_TRY(connect_tcp(ws->next_layer(), t));
    boost::system::error_code ec;
    ws->read_message_max(64u << 20);
    ws->handshake(host_header(t), "/", ec);
    if (ec) return ig::fail("fuzz.crash", "WebSocket handshake failed: " + ec.message());
    return {};
  }
};

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

std::optional<std::string> reply_problem(const std::string& text) {
  json r = json::parse(text, nullptr, false);
  if (r.is_discarded()) return "reply is not JSON";
  if (r.is_array()) {
    if (r.empty()) return "empty batch reply";
    for (const auto& e : r)
      if (auto p = response_problem(e)) return p;
    return std::nullopt;
  }
  return response_problem(r);
}

ig::Expected<RunStats> run_websocket(const Target& target, MessageGen& gen, uint64_t count) {
  RunStats stats;
  auto start = Clock::now();
  WsConn conn;
  IG_TRY(conn.open(target));
  for (uint64_t i = 0; i < count; ++i) {
    std::string message = gen.next();
    const std::string sentinel_id = "sentinel-" + std::to_string(i);
    const std::string sentinel = R"({"jsonrpc":"2.0","id":")" + sentinel_id + R"(","method":"rpc_methods"})";
    boost::system::error_code ec;
    conn.ws->binary(gen.rand(4) == 0);  // the server treats binary frames like text
    conn.ws->write(net::buffer(message), ec);
    ++stats.messages;
    if (!ec) {
      conn.ws->text(true);
      conn.ws->write(net::buffer(sentinel), ec);
    }
    bool answered = false;
    while (!ec && !answered) {
      beast::flat_buffer buf;
      conn.ws->read(buf, ec);
      if (ec) break;
      std::string text = beast::buffers_to_string(buf.data());
      if (auto p = reply_problem(text)) {
        return ig::fail("fuzz.bad_reply", *p + " after message " + std::to_string(i) + ": " + text.substr(0, 200));
      }
      if (text.find("\"" + sentinel_id + "\"") != std::string::npos) {
        answered = true;
      } else {
        ++stats.replies;
      }
    }
    if (answered) continue;
    if (ec == net::error::would_block || ec == net::error::try_again) {
      return ig::fail("fuzz.hang", "no reply within " + std::to_string(target.timeout.count()) +
                                       " ms after message " + std::to_string(i));
    }
    // The server closed the connection (an oversized or invalid frame, say): it must take a new one.
    ++stats.reconnects;
    IG_TRY(conn.open(target));
  }
  stats.seconds = since(start);
  return stats;
}

ig::Expected<RunStats> run_http(const Target& target, MessageGen& gen, uint64_t count) {
  static const char* kTypes[] = {"application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
                                 "application/jsonfoo", "text/plain", "", "application/json;", "text/json"};
  RunStats stats;
  auto start = Clock::now();
  net::io_context ioc;
  auto sock = std::make_unique<tcp::socket>(ioc);
  IG_TRY(connect_tcp(*sock, target));
  beast::flat_buffer buf;
  for (uint64_t i = 0; i < count; ++i) {
    http::request<http::string_body> req{http::verb::post, "/", 11};
    req.set(http::field::host, gen.rand(20) == 0 ? std::string("evil.example:80") : host_header(target));
    std::string type = kTypes[gen.rand(4) == 0 ? gen.rand(std::size(kTypes)) : 0];
    if (!type.empty()) req.set(http::field::content_type, type);
    if (gen.rand(20) == 0) req.set(http::field::origin, "http://evil.example");
    req.body() = gen.next();
    req.prepare_payload();
    boost::system::error_code ec;
    http::write(*sock, req, ec);
    ++stats.messages;
    http::response<http::string_body> res;
    if (!ec) http::read(*sock, buf, res, ec);
    if (ec == net::error::would_block || ec == net::error::try_again) {
      return ig::fail("fuzz.hang", "no HTTP response within the timeout after message " + std::to_string(i));
    }
    if (!ec) {
      int status = static_cast<int>(res.result_int());
      ++stats.http_status[status];
      if (status == 200) {
        if (auto p = reply_problem(res.body()))
          return ig::fail("fuzz.bad_reply", *p + " after message " + std::to_string(i));
        ++stats.replies;
      } else if (status != 204 && status != 400 && status != 403 && status != 413 && status != 415) {
        return ig::fail("fuzz.bad_status", "unexpected HTTP status " + std::to_string(status));
      }
      if (res.keep_alive()) continue;
    }
    ++stats.reconnects;
    buf.clear();
    sock = std::make_unique<tcp::socket>(ioc);
    IG_TRY(connect_tcp(*sock, target));
  }
  stats.seconds = since(start);
  return stats;
}

ig::Expected<RunStats> run_raw_http(const Target& target, MessageGen& gen, uint64_t count) {
  RunStats stats;
  auto start = Clock::now();
  net::io_context ioc;
  for (uint64_t i = 0; i < count; ++i) {
    std::string body = R"({"jsonrpc":"2.0","id":1,"method":"rpc_methods"})";
    std::string request = "POST / HTTP/1.1\r\nHost: " + host_header(target) +
                          "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\n\r\n" + body;
    if (gen.rand(3) == 0) request = "GET /health HTTP/1.1\r\nHost: " + host_header(target) + "\r\n\r\n";
    request = gen.mutate(std::move(request));
    tcp::socket sock(ioc);
    IG_TRY(connect_tcp(sock, target));
    boost::system::error_code ec;
    net::write(sock, net::buffer(request), ec);
    sock.shutdown(tcp::socket::shutdown_send, ec);  // no more input: the server must answer or close
    ++stats.messages;
    std::string response;
    char chunk[4096];
    for (;;) {
      size_t n = sock.read_some(net::buffer(chunk), ec);
      response.append(chunk, n);
      if (ec) break;
    }
    if (ec == net::error::would_block || ec == net::error::try_again) {
      return ig::fail("fuzz.hang", "no answer or close within the timeout after raw request " + std::to_string(i));
    }
    if (!response.empty()) {
      // A request line saying HTTP/1.0 is answered in HTTP/1.0.
      if (response.rfind("HTTP/1.1 ", 0) != 0 && response.rfind("HTTP/1.0 ", 0) != 0)
        return ig::fail("fuzz.bad_reply", "not an HTTP response: " + response.substr(0, 80));
      ++stats.http_status[std::atoi(response.c_str() + 9)];
    }
  }
  stats.seconds = since(start);
  return stats;
}

}  // namespace ig::rpc::fuzz
