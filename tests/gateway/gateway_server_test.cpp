// The gateway over real sockets with a scripted chain: routing, every error status, a verified
// answer, a stream, a rejected result submitted again, an expired task, the timeout (and that
// the task is abandoned), a lost node, the in-flight limit, the open-on-loopback rule, hostile
// HTTP and the connection limit.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <mutex>
#include <random>
#include <thread>

#include "gateway/gateway.hpp"
#include "rpc/client.hpp"
#include "workers/model_catalog.hpp"
#include "chain/bytes.hpp"

using namespace ig::gateway;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

const std::string kModelPath = std::string(INFERGRID_SHARED_DATA) + "/models/stories260K.gguf";

// Answers each submission with the next scripted outcome: "settled", "rejected", "expired",
// "result" (status submitted), "never" (no report at all), or "pending" (submitted and assigned,
// then nothing more).
class ScriptedChain : public Chain {
 public:
  explicit ScriptedChain(std::string model_id) : model_id_(std::move(model_id)) {}
  std::vector<ModelEntry> models() const override {
    ModelEntry m{model_id_, "stories260K", "llama", 100, 512, "ig1registrar", 3, 1700000000, miners};
    ModelEntry orphan{std::string(64, 'e'), "orphan", "llama", 100, 512, "ig1registrar", 4, 1700000001, 0};
    return {m, orphan};
  }
  bool connected() const override { return up; }
  uint64_t submit(const ig::chain::SubmitTask& task, bool, TaskObserver observer) override {
    std::lock_guard l(mu);
    tasks.push_back(task);
    const uint64_t id = tasks.size();
    const std::string outcome = script.empty() ? "settled" : script.front();
    if (!script.empty()) script.erase(script.begin());
    if (outcome == "never") return id;
    TaskUpdate s;
    s.kind = TaskUpdate::Submitted;
    s.task_id = id;
    s.submit_tx = std::string(64, 'a');
    observer(s);
    TaskUpdate p;
    p.kind = TaskUpdate::Progress;
    p.task_id = id;
    p.stage = "assigned";
    p.detail = "assigned to ig1miner";
    observer(p);
    if (outcome == "pending") return id;
    TaskUpdate f;
    f.kind = TaskUpdate::Final;
    f.task_id = id;
    const std::string status = outcome == "result" ? "submitted" : outcome;
    f.stage = status;
    f.task = {{"id", id}, {"status", status}, {"miner", "ig1miner"}, {"max_fee", "2400"}, {"fee_paid", "2400"}, {"refunded", "0"},
              {"verdicts", json::array({{{"account", "ig1val"}, {"accept", status != "rejected"}, {"height", 9}}})}};
    if (status == "settled" || status == "submitted")
      f.task["result"] = {{"text", ", there was a little girl"}, {"output_tokens", json::array({11, 12, 13, 14, 15, 16})},
                          {"tx_hash", std::string(64, 'b')}, {"height", 8},
                          {"receipt", {{"receipt_id", std::string(64, 'c')}, {"steps", 6}}}};
    observer(f);
    return id;
  }
  void abandon(uint64_t handle) override {
    std::lock_guard l(mu);
    abandoned.push_back(handle);
  }
  std::string account() const override { return "ig1gateway"; }
  ChainStats stats() const override { return {}; }

  std::string model_id_;
  size_t miners = 2;
  bool up = true;
  std::mutex mu;
  std::vector<std::string> script;
  std::vector<ig::chain::SubmitTask> tasks;
  std::vector<uint64_t> abandoned;
};

class GatewayServer : public ::testing::Test {
 protected:
  void SetUp() override {
    auto id = ig::workers::file_sha256(kModelPath);
    ASSERT_TRUE(id);
    model_id_ = ig::chain::to_hex(*id);
    chain_ = std::make_shared<ScriptedChain>(model_id_);
  }
  void start(GatewayConfig c = {}) {
    c.http.port = 0;
    auto files = ModelFiles::load({kModelPath});
    ASSERT_TRUE(files) << files.error().message;
    gw_ = std::make_unique<Gateway>(c, chain_, std::make_shared<const ModelFiles>(std::move(*files)));
    auto st = gw_->start();
    ASSERT_TRUE(st) << st.error().message;
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(gw_->port()) + path; }
  ig::rpc::HttpResponse post(const std::string& path, const json& body) {
    auto r = ig::rpc::http_request("POST", url(path), body.dump(), 10s);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : ig::rpc::HttpResponse{};
  }
  static std::string code_of(const ig::rpc::HttpResponse& r) {
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") && j["error"]["code"].is_string() ? j["error"]["code"].get<std::string>() : "";
  }

  std::string model_id_;
  std::shared_ptr<ScriptedChain> chain_;
  std::unique_ptr<Gateway> gw_;
};

const json kCompletion = {{"model", "stories260K"}, {"prompt", "Once upon a time"}, {"max_tokens", 6}, {"temperature", 0}};

}  // namespace

TEST_F(GatewayServer, ModelsHealthAndMetrics) {
  start();
  auto models = ig::rpc::http_request("GET", url("/v1/models"), "", 5s);
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 200);
  auto j = json::parse(models->body);
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 2u);
  EXPECT_EQ(j["data"][0]["id"], model_id_);
  EXPECT_EQ(j["data"][0]["infergrid"]["name"], "stories260K");
  auto one = ig::rpc::http_request("GET", url("/v1/models/stories260K"), "", 5s);
  ASSERT_TRUE(one);
  EXPECT_EQ(json::parse(one->body)["id"], model_id_);
  auto health = ig::rpc::http_request("GET", url("/health"), "", 5s);
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto metrics = ig::rpc::http_request("GET", url("/metrics"), "", 5s);
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("infergrid_gateway_requests_total{route=\"models\",code=\"200\"} 2"), std::string::npos);
}

TEST_F(GatewayServer, AVerifiedCompletion) {
  start();
  auto r = post("/v1/completions", kCompletion);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["choices"][0]["text"], ", there was a little girl");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");  // 6 tokens of max 6, the last not EOS
  EXPECT_EQ(j["usage"]["completion_tokens"], 6);
  EXPECT_EQ(j["usage"]["prompt_tokens"], 5);  // BOS + 4, counted by the model file's tokenizer
  EXPECT_EQ(j["id"], "cmpl-infergrid-1");
  EXPECT_EQ(j["infergrid"]["task_id"], 1);
  EXPECT_EQ(j["infergrid"]["verified"], true);
  EXPECT_EQ(j["infergrid"]["receipt_id"], std::string(64, 'c'));
  std::lock_guard l(chain_->mu);
  ASSERT_EQ(chain_->tasks.size(), 1u);
  const auto& t = chain_->tasks[0];
  EXPECT_EQ(t.prompt, "Once upon a time");
  EXPECT_EQ(t.params.max_tokens, 6u);
  EXPECT_EQ(t.params.temperature_milli, 0u);
  EXPECT_EQ(t.max_fee, 600u);  // 6 tokens at 100
  EXPECT_EQ(ig::chain::to_hex(t.model_id), model_id_);
}

TEST_F(GatewayServer, AStreamedChat) {
  start();
  json body = {{"model", model_id_}, {"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}}, {"max_tokens", 6},
               {"stream", true}, {"stream_options", {{"include_usage", true}}}, {"stop", "girl"}};
  auto r = post("/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/event-stream; charset=utf-8");
  EXPECT_NE(r.body.find("\"role\":\"assistant\""), std::string::npos);
  EXPECT_NE(r.body.find(": task 1: assigned to ig1miner"), std::string::npos);
  EXPECT_NE(r.body.find("\"content\":\" little\""), std::string::npos);
  EXPECT_EQ(r.body.find("girl"), std::string::npos);  // the stop sequence cut it
  EXPECT_NE(r.body.find("\"finish_reason\":\"stop\""), std::string::npos);
  EXPECT_NE(r.body.find("\"usage\":{"), std::string::npos);
  EXPECT_EQ(r.body.substr(r.body.size() - 14), "data: [DONE]\n\n");
  std::lock_guard l(chain_->mu);
  EXPECT_EQ(chain_->tasks[0].prompt, "Once upon a time");  // plain template, one message
}

TEST_F(GatewayServer, ARejectedResultIsSubmittedAgain) {
  start();
  chain_->script = {"rejected", "settled"};
  auto r = post("/v1/completions", kCompletion);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["infergrid"]["attempts"], 2);
  EXPECT_EQ(j["infergrid"]["rejected_tasks"], json::array({1}));
  EXPECT_EQ(j["infergrid"]["task_id"], 2);
  EXPECT_EQ(j["id"], "cmpl-infergrid-1");  // one id for the answer

  chain_->script = {"rejected", "rejected", "rejected"};
  r = post("/v1/completions", kCompletion);
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(code_of(r), "verification_failed");
}

TEST_F(GatewayServer, AnswerAtResultTime) {
  GatewayConfig c;
  c.answer_at_result = true;
  start(c);
  chain_->script = {"result"};
  auto r = post("/v1/completions", kCompletion);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["infergrid"]["status"], "submitted");
  EXPECT_EQ(j["infergrid"]["verified"], false);
  EXPECT_EQ(j["infergrid"]["answered_at"], "result");
  EXPECT_EQ(j["choices"][0]["text"], ", there was a little girl");
}

TEST_F(GatewayServer, ExpiredIs503AndTimeoutIs504) {
  GatewayConfig c;
  c.timeout = 300ms;
  start(c);
  chain_->script = {"expired"};
  auto r = post("/v1/completions", kCompletion);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(code_of(r), "no_miner");
  chain_->script = {"never"};
  r = post("/v1/completions", kCompletion);
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(code_of(r), "timeout");
  std::lock_guard l(chain_->mu);
  EXPECT_EQ(chain_->abandoned.size(), 1u);
}

TEST_F(GatewayServer, ErrorStatuses) {
  GatewayConfig c;
  c.keys = {{"key-0123456789abcdef", "k"}};
  c.fee_limit = 1000;
  c.rate_per_minute = 600;
  start(c);
  // http_request sends no Authorization header (tests/gateway/errors_test.sh covers a wrong key).
  auto r = post("/v1/completions", kCompletion);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(code_of(r), "invalid_api_key");
  auto models = ig::rpc::http_request("GET", url("/v1/models"), "", 5s);
  EXPECT_EQ(models->status, 401);
  auto other = ig::rpc::http_request("GET", url("/v2/anything"), "", 5s);
  EXPECT_EQ(other->status, 404);
  auto verb = ig::rpc::http_request("GET", url("/v1/completions"), "", 5s);
  EXPECT_EQ(verb->status, 405);
  auto type = ig::rpc::http_request("POST", url("/v1/completions"), kCompletion.dump(), 5s, "text/plain");
  EXPECT_EQ(type->status, 415);
}

TEST_F(GatewayServer, ModelMinersNodeAndLoad) {
  GatewayConfig c;
  c.max_in_flight = 1;
  c.timeout = 2s;
  c.fee_limit = 1000;
  start(c);
  auto r = post("/v1/completions", {{"model", "nope"}, {"prompt", "x"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(code_of(r), "model_not_found");
  r = post("/v1/completions", {{"model", "orphan"}, {"prompt", "x"}});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(code_of(r), "no_miner");
  r = post("/v1/completions", {{"model", "stories260K"}, {"prompt", "x"}, {"max_tokens", 11}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(code_of(r), "fee_limit_exceeded");
  // Without max_tokens the chat default is lowered to what the fee limit pays for.
  r = post("/v1/chat/completions", {{"model", "stories260K"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  EXPECT_EQ(r.status, 200);
  {
    std::lock_guard l(chain_->mu);
    EXPECT_EQ(chain_->tasks.back().params.max_tokens, 10u);
  }
  chain_->up = false;
  r = post("/v1/completions", kCompletion);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(code_of(r), "node_unavailable");
  chain_->up = true;
  // One request waits (never answered); the next finds the gateway full.
  chain_->script = {"never"};
  std::thread waiting([&] { (void)post("/v1/completions", kCompletion); });
  std::this_thread::sleep_for(300ms);
  r = post("/v1/completions", kCompletion);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(code_of(r), "gateway_busy");
  waiting.join();
}

TEST(GatewayConfigRules, OpenOnlyOnLoopback) {
  auto chain = std::make_shared<ScriptedChain>(std::string(64, 'd'));
  GatewayConfig c;
  c.http.host = "0.0.0.0";
  c.http.port = 0;
  Gateway open(c, chain, nullptr);
  auto st = open.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "gateway.config");
  c.keys = {{"key-0123456789abcdef", "k"}};
  Gateway keyed(c, chain, nullptr);
  EXPECT_TRUE(keyed.start());
}

// Hostile HTTP at the socket level: the server answers or closes, never hangs or dies, and the
// next good request is served.
namespace {

// Sends `bytes` on a fresh connection and returns what comes back until the server closes (or
// `wait` passes).
// A TCP connection to 127.0.0.1:port; -1 when it fails.
int connect_local(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
  if (fd >= 0) ::close(fd);
  return -1;
}

std::string raw_exchange(uint16_t port, const std::string& bytes, std::chrono::milliseconds wait = 3s) {
  const int fd = connect_local(port);
  if (fd < 0) return "connect failed";
  timeval tv{static_cast<time_t>(wait.count() / 1000), static_cast<suseconds_t>((wait.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace

TEST_F(GatewayServer, HostileHttp) {
  GatewayConfig c;
  c.http.request_timeout_ms = 300;
  c.http.max_body_bytes = 4096;
  start(c);
  const uint16_t port = gw_->port();
  EXPECT_NE(raw_exchange(port, "GARBAGE\r\n\r\n").find("400"), std::string::npos);
  EXPECT_NE(raw_exchange(port, "GET /health HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n").find(" 400 "),
            std::string::npos);
  const std::string big(5000, 'x');
  EXPECT_NE(raw_exchange(port, "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                               "Content-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big)
                .find(" 413 "),
            std::string::npos);
  // A client that says nothing is closed after the request timeout.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(raw_exchange(port, "", 5s), "");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  // Two requests on one keep-alive connection, both answered.
  auto two = raw_exchange(port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Connection: close\r\n\r\n");
  size_t first = two.find("HTTP/1.1 200"), second = two.find("HTTP/1.1 200", first + 1);
  EXPECT_NE(first, std::string::npos);
  EXPECT_NE(second, std::string::npos);
  // HTTP/1.0 is answered in HTTP/1.0 and closed.
  EXPECT_EQ(raw_exchange(port, "GET /health HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 200", 0), 0u);
  // Random bytes never take it down.
  std::mt19937 rng(7);
  for (int i = 0; i < 60; ++i) {
    std::string junk(rng() % 600, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    if (i % 2) junk = "POST /v1/chat/completions HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(junk.size()) + "\r\n\r\n" + junk;
    (void)raw_exchange(port, junk, 500ms);
  }
  auto health = ig::rpc::http_request("GET", url("/health"), "", 5s);
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

// A client that closes its connection before its answer: the task is abandoned (cancelled on
// chain while pending) and its in-flight slot freed at once, not when the chain closes the task.
// With max_in_flight 1 the next request is then served, not refused 503. Once before anything
// was reported (nothing written yet), once with the stream open and quiet.
TEST_F(GatewayServer, AClientThatLeavesAbandonsItsTaskAndFreesItsSlot) {
  GatewayConfig c;
  c.max_in_flight = 1;
  c.timeout = 60s;  // far beyond the test: only the client's leaving can end these tasks
  start(c);
  auto wait_for = [](auto done) {
    for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;) {
      if (done()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return done();
  };
  size_t left = 0;
  for (const char* outcome : {"never", "pending"}) {
    const bool stream = std::string(outcome) == "pending";
    {
      std::lock_guard l(chain_->mu);
      chain_->script = {outcome};
    }
    json body = kCompletion;
    body["stream"] = stream;
    const std::string b = body.dump();
    const int fd = connect_local(gw_->port());
    ASSERT_GE(fd, 0);
    const std::string req = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                            "Content-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
    ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), ssize_t(req.size()));
    ASSERT_TRUE(wait_for([&] { return gw_->stats().in_flight == 1; })) << outcome;
    if (stream) {  // the stream's head and first comments are out before the client leaves
      char buf[512];
      ASSERT_GT(::recv(fd, buf, sizeof buf, 0), 0);
    }
    ::close(fd);
    ++left;
    ASSERT_TRUE(wait_for([&] { return gw_->stats().in_flight == 0; })) << outcome << ": the slot is still held";
    {
      std::lock_guard l(chain_->mu);
      EXPECT_EQ(chain_->abandoned.size(), left) << outcome;
    }
    EXPECT_EQ(gw_->stats().client_closed, left);
    auto r = post("/v1/completions", kCompletion);  // scripted "settled"
    EXPECT_EQ(r.status, 200) << outcome << ": " << r.body;
  }
}

TEST_F(GatewayServer, ConnectionLimits) {
  GatewayConfig c;
  c.http.max_connections = 2;
  c.http.reserved_connections = 0;
  start(c);
  std::vector<int> held;
  for (int i = 0; i < 2; ++i) {
    const int fd = connect_local(gw_->port());
    ASSERT_GE(fd, 0);
    held.push_back(fd);
  }
  std::this_thread::sleep_for(100ms);
  auto over = raw_exchange(gw_->port(), "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_NE(over.find(" 503 "), std::string::npos) << over;
  EXPECT_NE(over.find("too_many_connections"), std::string::npos);
  for (int fd : held) ::close(fd);
  std::this_thread::sleep_for(100ms);
  auto ok = ig::rpc::http_request("GET", url("/health"), "", 5s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}
