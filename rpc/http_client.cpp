// One-shot HTTP/1.1 requests for tests and HTTP users of the server.
#include <memory>

#include "rpc/client.hpp"
#include "rpc/detail/dial.hpp"

namespace ig::rpc {
namespace {

using namespace detail;

constexpr size_t kMaxResponseBytes = 64u << 20;
constexpr size_t kBodyInMessage = 200;

}  // namespace

ig::Expected<HttpResponse> http_request(std::string_view verb_text, const std::string& url_text,
                                        const std::string& body, std::chrono::milliseconds timeout,
                                        std::string_view content_type) {
  IG_TRY_ASSIGN(url, parse_url(url_text, "http"));
  http::verb verb = http::string_to_verb(verb_text);
  if (verb == http::verb::unknown) {
    return ig::fail("rpc.bad_request", "unknown HTTP method '" + std::string(verb_text) + "'");
  }
  const auto deadline = Clock::now() + timeout;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  IG_TRY(dial(ioc, stream, url, deadline));

  // Writing and reading at once: a server that refuses a large body answers
  // before it has read it, and the answer must still be seen.
  struct Exchange {
    http::request<http::string_body> request;
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    error_code read_ec;
    bool read_done = false;
  };
  auto ex = std::make_shared<Exchange>();
  ex->request = {verb, url.target, 11};
  ex->request.set(http::field::host, url.host + ":" + std::to_string(url.port));
  ex->request.set(http::field::user_agent, "infergrid-rpc-client");
  ex->request.keep_alive(false);
  if (!body.empty() || verb == http::verb::post) {
    ex->request.set(http::field::content_type, content_type);
    ex->request.body() = body;
  }
  ex->request.prepare_payload();
  ex->parser.body_limit(kMaxResponseBytes);

  http::async_write(stream, ex->request, [ex](error_code, size_t) {});
  http::async_read(stream, ex->buffer, ex->parser, [ex](error_code ec, size_t) {
    ex->read_ec = ec;
    ex->read_done = true;
  });
  auto st = pump(ioc, [&] { return ex->read_done; }, deadline, "connection closed");
  if (!st) return ig::fail(st.error().code, "HTTP " + std::string(verb_text) + " " + url_text + ": " + st.error().message);
  if (ex->read_ec) {
    return ig::fail("rpc.transport", "HTTP " + std::string(verb_text) + " " + url_text + ": " + ex->read_ec.message());
  }
  const auto& res = ex->parser.get();
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  if (auto it = res.find(http::field::content_type); it != res.end()) out.content_type = std::string(it->value());
  out.body = res.body();
  return out;
}

ig::Expected<json> http_post(const std::string& url, const std::string& body,
                             std::chrono::milliseconds timeout) {
  IG_TRY_ASSIGN(res, http_request("POST", url, body, timeout));
  if (res.body.empty()) return json(nullptr);
  json parsed = json::parse(res.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return ig::fail("rpc.http", "HTTP " + std::to_string(res.status) + ": " +
                                    res.body.substr(0, kBodyInMessage));
  }
  return parsed;
}

}  // namespace ig::rpc
