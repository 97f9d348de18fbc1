#include "workers/node_link.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace ig::workers {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

bool is_transport_error(const Error& e) { return e.code == "rpc.transport" || e.code == "rpc.timeout"; }

}  // namespace

NodeLink::NodeLink(std::string url, const std::atomic<bool>* stop, std::chrono::milliseconds call_timeout)
    : url_(std::move(url)), stop_(stop), call_timeout_(call_timeout) {}

Status NodeLink::connect_once() {
  auto c = rpc::Client::connect(url_, std::min<std::chrono::milliseconds>(call_timeout_, 10s));
  if (!c) return fail(c.error());
  c->set_timeout(call_timeout_);
  for (const auto& [topic, filter] : subscriptions_) {
    auto id = c->subscribe(topic, filter);
    if (!id) return fail(id.error());
  }
  client_ = std::move(*c);
  if (ever_connected_) announce_reconnect_ = true;
  ever_connected_ = true;
  return {};
}

Status NodeLink::ensure_connected() {
  if (client_ && client_->is_open()) return {};
  client_.reset();
  const auto deadline = Clock::now() + budget_;
  auto backoff = 100ms;
  Error last{"link.down", "not connected"};
  for (;;) {
    if (stop_ && stop_->load()) return fail("link.stopped", "stopping");
    auto st = connect_once();
    if (st) return {};
    last = st.error();
    if (!is_transport_error(last)) return fail(last);  // e.g. a subscription the node refuses
    if (Clock::now() + backoff > deadline) {
      return fail("link.down", "node at " + url_ + " unreachable: " + last.message);
    }
    spdlog::debug("worker: node at {} unreachable ({}); retrying in {} ms", url_, last.message, backoff.count());
    for (auto waited = 0ms; waited < backoff && !(stop_ && stop_->load()); waited += 50ms) std::this_thread::sleep_for(50ms);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
  }
}

Expected<json> NodeLink::call(const std::string& method, const json& params) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    IG_TRY(ensure_connected());
    auto r = client_->call(method, params);
    if (r || !is_transport_error(r.error())) return r;
    client_.reset();  // the connection is gone: reconnect and try once more
  }
  return fail("link.down", "node at " + url_ + " dropped the connection during " + method);
}

Status NodeLink::subscribe(const std::string& topic, const json& filter) {
  subscriptions_.emplace_back(topic, filter);
  if (!client_ || !client_->is_open()) return ensure_connected();
  auto id = client_->subscribe(topic, filter);
  if (!id) return fail(id.error());
  return {};
}

Expected<Incoming> NodeLink::next(std::chrono::milliseconds timeout) {
  IG_TRY(ensure_connected());
  if (announce_reconnect_) {
    announce_reconnect_ = false;
    return Incoming{Incoming::Reconnected, "", nullptr};
  }
  auto n = client_->next_notification(timeout);
  if (n) {
    Incoming in{Incoming::Notification, "", nullptr};
    if (n->contains("topic") && (*n)["topic"].is_string()) in.topic = (*n)["topic"].get<std::string>();
    if (n->contains("result")) in.result = (*n)["result"];
    return in;
  }
  if (n.error().code == "rpc.timeout") return Incoming{};
  client_.reset();  // dropped: the next call reconnects and announces it
  IG_TRY(ensure_connected());
  announce_reconnect_ = false;
  return Incoming{Incoming::Reconnected, "", nullptr};
}

}  // namespace ig::workers
