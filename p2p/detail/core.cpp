#include "p2p/detail/core.hpp"

#include <algorithm>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "p2p/detail/conn.hpp"

namespace ig::p2p::detail {
namespace {

using namespace std::chrono_literals;

constexpr auto kStopWait = 2s;          // connections get this long to close before threads stop
constexpr auto kAcceptRetry = 100ms;    // after an accept error (out of descriptors, say)

// Runs an I/O thread. Handlers catch what they can; anything that still escapes one is logged
// and the thread goes on serving, rather than terminating the process (as rpc/server.cpp).
void run_io_thread(net::io_context& ioc) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("p2p: an I/O handler failed: {}", e.what());
    } catch (...) {
      spdlog::error("p2p: an I/O handler failed with an unknown exception");
    }
  }
}

std::string endpoint_text(const tcp::endpoint& ep) {
  auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

}  // namespace

struct Core::DialOp {
  explicit DialOp(net::io_context& ioc)
      : strand(net::make_strand(ioc)), resolver(strand), socket(strand), timer(strand) {}
  net::strand<net::io_context::executor_type> strand;
  tcp::resolver resolver;
  tcp::socket socket;
  net::steady_timer timer;
  bool timed_out = false;
};

Core::Core(NetworkConfig config, NodeKey key, std::unique_ptr<ssl::context> tls)
    : ioc_(std::make_unique<net::io_context>(static_cast<int>(config.threads))),
      config_(std::move(config)),
      key_(std::move(key)),
      tls_(std::move(tls)),
      scores_(config_.ban_threshold, config_.score_recovery_per_minute, config_.ban_duration),
      persistent_list_(config_.persistent),
      rng_(std::random_device{}()) {
  limits_[kControlChannel] = kMaxControlPayload;
  for (const auto& c : config_.channels) {
    limits_[c.id] = static_cast<uint32_t>(c.max_message_bytes);
    if (c.dedup_entries > 0) dedup_[c.id] = std::make_unique<DedupCache>(c.dedup_entries);
  }
}

Core::~Core() { stop(); }

ig::Status Core::start() {
  std::lock_guard start_lock(start_mu_);
  if (started_) return ig::fail("p2p.started", "the network was already started");
  if (!config_.listen.empty()) {
    auto hp = parse_host_port(config_.listen);
    if (!hp) return ig::fail(hp.error());
    error_code ec;
    auto address = net::ip::make_address(hp->host == "localhost" ? "127.0.0.1" : hp->host, ec);
    if (ec) return ig::fail("p2p.bind", "listen host must be an IP address, got '" + hp->host + "'");
    tcp::endpoint endpoint(address, hp->port);
    acceptor_ = std::make_unique<tcp::acceptor>(net::make_strand(*ioc_));
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
    if (ec) return ig::fail("p2p.bind", "cannot listen on " + config_.listen + ": " + ec.message());
    listen_port_ = acceptor_->local_endpoint(ec).port();
  }
  started_ = true;
  work_.emplace(net::make_work_guard(*ioc_));
  if (acceptor_) {
    net::post(acceptor_->get_executor(), [this] { do_accept(); });
  }
  size_t persistent_count = 0;
  {
    std::lock_guard lock(mu_);
    dialing_ = true;
    for (const auto& a : persistent_list_) start_persistent_locked(a);
    persistent_count = persistent_list_.size();
  }
  for (unsigned i = 0; i < config_.threads; ++i) threads_.emplace_back([this] { run_io_thread(*ioc_); });
  spdlog::info("p2p: node {} on network '{}'{}; {} persistent peers", key_.id().to_string(), config_.network,
               acceptor_ ? ", listening on port " + std::to_string(listen_port_.load()) : ", not listening",
               persistent_count);
  return {};
}

void Core::stop() {
  std::lock_guard start_lock(start_mu_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_ = true;
  if (acceptor_) {
    net::post(acceptor_->get_executor(), [this] {
      error_code ignored;
      acceptor_->close(ignored);
    });
  }
  std::vector<std::shared_ptr<Conn>> open;
  {
    std::lock_guard lock(mu_);
    for (auto& [ptr, conn] : conns_) open.push_back(conn);
    for (auto& [id, p] : persistent_) {
      p->removed = true;
      if (p->timer) p->timer->cancel();
    }
  }
  for (auto& c : open) c->close("node stopping");
  open.clear();
  auto deadline = Clock::now() + kStopWait;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (conns_.empty()) break;
    }
    if (Clock::now() >= deadline) {
      spdlog::warn("p2p: stopping with connections still closing");
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  work_.reset();
  ioc_->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  std::lock_guard lock(mu_);
  conns_.clear();
  peers_.clear();
  persistent_.clear();
}

// ---- listener ----

void Core::do_accept() {
  acceptor_->async_accept(net::make_strand(*ioc_), [this](error_code ec, tcp::socket socket) {
    try {
      on_accept(ec, std::move(socket));
    } catch (const std::exception& e) {
      spdlog::error("p2p: accept handler failed: {}", e.what());
      do_accept();
    }
  });
}

void Core::on_accept(error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
  if (ec) {
    spdlog::warn("p2p: accept failed: {}", ec.message());
    auto timer = std::make_shared<net::steady_timer>(acceptor_->get_executor(), kAcceptRetry);
    timer->async_wait([this, timer](error_code e) {
      if (!e && !stopping_ && acceptor_->is_open()) do_accept();
    });
    return;
  }
  do_accept();
  error_code rec;
  auto remote = socket.remote_endpoint(rec);
  if (rec) return;  // already gone
  std::string ip = remote.address().to_string();
  std::shared_ptr<Conn> conn;
  std::string refused;
  {
    std::lock_guard lock(mu_);
    size_t inbound = std::count_if(peers_.begin(), peers_.end(), [](auto& kv) { return kv.second->inbound(); });
    if (stopping_) {
      refused = "stopping";
    } else if (inbound >= config_.max_inbound) {
      refused = std::to_string(inbound) + " inbound peers already";
    } else if (pending_ >= config_.max_pending) {
      refused = std::to_string(pending_) + " handshakes already in progress";
    } else if (pending_by_ip_[ip] >= config_.max_pending_per_ip) {
      refused = std::to_string(pending_by_ip_[ip]) + " handshakes from " + ip + " already in progress";
    } else {
      conn = std::make_shared<Conn>(*this, std::move(socket), true, std::nullopt, endpoint_text(remote));
      conn->pending = true;
      ++pending_;
      ++pending_by_ip_[ip];
      conns_[conn.get()] = conn;
    }
    if (pending_by_ip_[ip] == 0) pending_by_ip_.erase(ip);
  }
  if (!conn) {
    counters_.refused++;
    spdlog::debug("p2p: connection from {} refused: {}", endpoint_text(remote), refused);
    error_code ignored;
    socket.close(ignored);
    return;
  }
  counters_.accepted++;
  conn->start();
}

// ---- policy ----

std::string Core::refusal(const NodeId& id, const std::optional<NodeId>& expected) {
  std::lock_guard lock(mu_);
  return refusal_locked(id, expected);
}

std::string Core::refusal_locked(const NodeId& id, const std::optional<NodeId>& expected) {
  if (id == self()) return "it is this node itself";
  if (expected && id != *expected)
    return "it presented node id " + id.to_string() + ", not the dialed " + expected->to_string();
  if (!allowed_.count(id)) return "node " + id.to_string() + " is not on the allow-list";
  if (scores_.banned(id, Clock::now())) return "node " + id.to_string() + " is banned";
  return {};
}

void Core::set_allowed(std::set<NodeId> ids) {
  std::vector<std::shared_ptr<Conn>> drop;
  {
    std::lock_guard lock(mu_);
    allowed_ = std::move(ids);
    for (auto& [id, conn] : peers_)
      if (!allowed_.count(id)) drop.push_back(conn);
  }
  for (auto& c : drop) c->close("removed from the allow-list");
}

void Core::penalize(const NodeId& id, int penalty, const std::string& why) {
  std::shared_ptr<Conn> drop;
  bool ban = false;
  int now_score = 0;
  {
    std::lock_guard lock(mu_);
    auto now = Clock::now();
    ban = scores_.penalize(id, penalty, now);
    now_score = scores_.score(id, now);
    if (ban) {
      counters_.bans++;
      if (auto it = peers_.find(id); it != peers_.end()) drop = it->second;
    }
  }
  if (ban) {
    spdlog::warn("p2p: banning peer {} for {} s: {}", id.to_string(),
                 std::chrono::duration_cast<std::chrono::seconds>(config_.ban_duration).count(), why);
    if (drop) drop->close("banned: " + why);
  } else {
    spdlog::info("p2p: peer {} scored down by {} to {}: {}", id.short_string(), penalty, now_score, why);
  }
}

bool Core::banned(const NodeId& id) {
  std::lock_guard lock(mu_);
  return scores_.banned(id, Clock::now());
}

int Core::score(const NodeId& id) {
  std::lock_guard lock(mu_);
  return scores_.score(id, Clock::now());
}

uint64_t Core::random_u64() {
  std::lock_guard lock(mu_);
  return rng_();
}

// ---- peers ----

// Two connections to one peer. Normally the newer wins: the peer dialed again, so it has given
// up on the older one (which may be half-open after a crash). But when both sides dial at once,
// each would keep its own; so while the older connection is younger than a handshake timeout and
// the two go in opposite directions, both sides keep the one dialed by the smaller node id.
bool Core::keep_new_locked(const Conn& existing, const Conn& fresh, Clock::time_point now) const {
  if (existing.inbound() == fresh.inbound()) return true;
  if (now - existing.registered_at >= config_.handshake_timeout) return true;
  bool we_are_smaller = self() < fresh.peer_id();
  return we_are_smaller ? !fresh.inbound() : fresh.inbound();
}

bool Core::register_conn(const std::shared_ptr<Conn>& conn) {
  std::lock_guard events(events_mu_);
  const NodeId& id = conn->peer_id();
  std::string why;
  std::shared_ptr<Conn> replaced;
  bool up = false;
  {
    // The allow-list and bans are read under the lock that set_allowed() and penalize() take to
    // list the peers they drop: either they see this connection registered, or it sees them.
    std::lock_guard lock(mu_);
    why = refusal_locked(id, conn->expected());
    auto now = Clock::now();
    if (conn->pending) {
      conn->pending = false;
      --pending_;
      std::string ip = conn->address().substr(0, conn->address().rfind(':'));
      if (!ip.empty() && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
      if (auto it = pending_by_ip_.find(ip); it != pending_by_ip_.end() && --it->second == 0) pending_by_ip_.erase(it);
    }
    if (stopping_) why = "node stopping";
    if (why.empty() && conn->inbound()) {
      size_t inbound = std::count_if(peers_.begin(), peers_.end(), [&](auto& kv) { return kv.second->inbound() && kv.first != id; });
      if (inbound >= config_.max_inbound) why = "too many inbound peers";
    }
    if (why.empty()) {
      auto it = peers_.find(id);
      if (it == peers_.end()) {
        peers_.emplace(id, conn);
        up = true;
      } else if (keep_new_locked(*it->second, *conn, now)) {
        replaced = it->second;
        it->second = conn;
      } else {
        why = "a connection to this peer exists already";
      }
    }
    if (why.empty()) {
      conn->registered = true;
      conn->registered_at = now;
      if (auto p = persistent_.find(id); p != persistent_.end() && !conn->inbound() &&
                                         p->second->state == Persistent::State::dialing)
        p->second->state = Persistent::State::idle;
    }
  }
  if (!why.empty()) {
    conn->close(why);
    return false;
  }
  if (replaced) replaced->close("replaced by a newer connection to the same peer");
  spdlog::info("p2p: peer {} connected ({} {})", id.short_string(), conn->inbound() ? "from" : "to", conn->address());
  if (up && peer_handler) {
    try {
      peer_handler(id, true);
    } catch (const std::exception& e) {
      spdlog::error("p2p: the peer handler threw: {}", e.what());
    }
  }
  return true;
}

void Core::conn_closed(const std::shared_ptr<Conn>& conn) {
  std::lock_guard events(events_mu_);
  bool down = false;
  NodeId id{};
  {
    std::lock_guard lock(mu_);
    auto now = Clock::now();
    conns_.erase(conn.get());
    if (conn->pending) {
      conn->pending = false;
      --pending_;
      std::string ip = conn->address().substr(0, conn->address().rfind(':'));
      if (!ip.empty() && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
      if (auto it = pending_by_ip_.find(ip); it != pending_by_ip_.end() && --it->second == 0) pending_by_ip_.erase(it);
    }
    if (conn->registered) {
      id = conn->peer_id();
      if (auto it = peers_.find(id); it != peers_.end() && it->second == conn) {
        peers_.erase(it);
        down = true;
      }
    }
    std::optional<NodeId> pid = conn->expected();
    if (!pid && conn->registered) pid = id;
    auto pit = pid ? persistent_.find(*pid) : persistent_.end();
    if (!stopping_ && pit != persistent_.end() && !pit->second->removed) {
      auto& p = pit->second;
      bool connected = peers_.count(*pid) > 0;
      if (!conn->inbound() && p->state == Persistent::State::dialing) {
        if (!conn->registered && !connected) {
          ++p->attempts;
          counters_.dial_failures++;
        }
        p->state = Persistent::State::idle;
      }
      if (!connected && p->state == Persistent::State::idle) {
        if (conn->registered) p->attempts = (now - conn->registered_at >= config_.stable_after) ? 0 : p->attempts + 1;
        schedule_dial_locked(p, backoff_locked(p->attempts));
      }
    }
  }
  if (down && peer_handler) {
    try {
      peer_handler(id, false);
    } catch (const std::exception& e) {
      spdlog::error("p2p: the peer handler threw: {}", e.what());
    }
  }
}

std::shared_ptr<Conn> Core::peer(const NodeId& id) {
  std::lock_guard lock(mu_);
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Conn>> Core::connected() {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Conn>> out;
  out.reserve(peers_.size());
  for (auto& [id, c] : peers_) out.push_back(c);
  return out;
}

bool Core::first_sight(uint8_t channel, std::span<const uint8_t> payload) {
  if (!dedup_[channel]) return true;
  return dedup_[channel]->insert(ig::sha256(payload));
}

void Core::mark_seen(uint8_t channel, std::span<const uint8_t> payload) {
  if (dedup_[channel]) dedup_[channel]->insert(ig::sha256(payload));
}

void Core::deliver(const NodeId& from, uint8_t channel, std::vector<uint8_t>&& payload) {
  if (!message_handler) return;
  try {
    message_handler(from, channel, std::move(payload));
  } catch (const std::exception& e) {
    // The application's fault, not the peer's: log it and go on reading.
    spdlog::error("p2p: the message handler threw on channel {}: {}", channel, e.what());
  }
}

// ---- persistent peers ----

Clock::duration Core::backoff_locked(unsigned attempts) {
  double unit = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  return backoff_delay(attempts, config_.redial_initial, config_.redial_max, unit);
}

void Core::start_persistent_locked(const PeerAddress& a) {
  if (a.id == self()) {
    spdlog::warn("p2p: persistent peer {} is this node itself; not dialing it", a.to_string());
    return;
  }
  auto p = std::make_shared<Persistent>();
  p->address = a;
  p->timer = std::make_unique<net::steady_timer>(*ioc_);
  persistent_[a.id] = p;
  if (!peers_.count(a.id)) schedule_dial_locked(p, Clock::duration::zero());
}

// Under mu_ only (not start_mu_): an on_peer callback may call this while stop() holds start_mu_
// waiting for that very callback's connection to close.
void Core::set_persistent(std::vector<PeerAddress> list) {
  std::lock_guard lock(mu_);
  if (!dialing_) {
    persistent_list_ = std::move(list);  // dialed by start()
    return;
  }
  if (stopping_) return;
  for (auto it = persistent_.begin(); it != persistent_.end();) {
    bool keep = std::any_of(list.begin(), list.end(), [&](const PeerAddress& a) { return a == it->second->address; });
    if (keep) {
      ++it;
      continue;
    }
    it->second->removed = true;
    it->second->timer->cancel();
    it = persistent_.erase(it);
  }
  for (const auto& a : list)
    if (!persistent_.count(a.id)) start_persistent_locked(a);
}

void Core::schedule_dial_locked(const std::shared_ptr<Persistent>& p, Clock::duration delay) {
  p->state = Persistent::State::scheduled;
  p->timer->expires_after(delay);
  p->timer->async_wait([this, p](error_code ec) {
    if (ec) return;
    try {
      on_dial_timer(p);
    } catch (const std::exception& e) {
      spdlog::error("p2p: dial of {} failed: {}", p->address.to_string(), e.what());
    }
  });
}

void Core::on_dial_timer(const std::shared_ptr<Persistent>& p) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || p->removed || p->state != Persistent::State::scheduled) return;
    const NodeId& id = p->address.id;
    if (peers_.count(id)) {
      p->state = Persistent::State::idle;
      return;
    }
    auto now = Clock::now();
    if (auto until = scores_.banned_until(id, now); until > now) {
      schedule_dial_locked(p, until - now);
      return;
    }
    p->state = Persistent::State::dialing;
  }
  counters_.dials++;
  dial(p);
}

void Core::dial(const std::shared_ptr<Persistent>& p) {
  auto op = std::make_shared<DialOp>(*ioc_);
  net::post(op->strand, [this, op, p] {
    op->timer.expires_after(config_.dial_timeout);
    op->timer.async_wait([op](error_code ec) {
      if (ec) return;
      op->timed_out = true;
      op->resolver.cancel();
      error_code ignored;
      op->socket.close(ignored);
    });
    op->resolver.async_resolve(
        p->address.host, std::to_string(p->address.port), tcp::resolver::numeric_service,
        [this, op, p](error_code ec, tcp::resolver::results_type results) {
          if (ec) {
            op->timer.cancel();
            return dial_failed(p, op->timed_out ? "timed out" : "cannot resolve " + p->address.host + ": " + ec.message());
          }
          net::async_connect(op->socket, results, [this, op, p](error_code ec, const tcp::endpoint& ep) {
            op->timer.cancel();
            if (ec) return dial_failed(p, op->timed_out ? "timed out" : ec.message());
            try {
              auto conn = std::make_shared<Conn>(*this, std::move(op->socket), false, p->address.id, endpoint_text(ep));
              {
                // Under the lock that stop() takes to list the connections it closes: either
                // stop() sees this one, or this sees stopping_.
                std::lock_guard lock(mu_);
                if (stopping_) return;
                conns_[conn.get()] = conn;
              }
              conn->start();
            } catch (const std::exception& e) {
              dial_failed(p, e.what());
            }
          });
        });
  });
}

void Core::dial_failed(const std::shared_ptr<Persistent>& p, const std::string& why) {
  std::lock_guard lock(mu_);
  if (p->state != Persistent::State::dialing) return;
  ++p->attempts;
  counters_.dial_failures++;
  p->state = Persistent::State::idle;
  if (stopping_ || p->removed || peers_.count(p->address.id)) return;
  auto delay = backoff_locked(p->attempts);
  auto log_level = p->attempts == 1 ? spdlog::level::info : spdlog::level::debug;
  spdlog::log(log_level, "p2p: cannot reach {}: {}; retrying in {} ms (attempt {})", p->address.to_string(), why,
              std::chrono::duration_cast<std::chrono::milliseconds>(delay).count(), p->attempts);
  schedule_dial_locked(p, delay);
}

}  // namespace ig::p2p::detail
