// State shared by the server and all of its sessions. Sessions hold it by
// shared_ptr, so it outlives every session however the server shuts down.
#pragma once

#include <atomic>
#include <memory>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "rpc/detail/dispatch.hpp"
#include "rpc/detail/subscriptions.hpp"
#include "rpc/server.hpp"

namespace ig::rpc::detail {

// Something stop() can ask to close (posts the close to the session's strand).
class Session {
 public:
  virtual ~Session() = default;
  virtual void shutdown() = 0;
};

// The GET routes beside JSON-RPC (Server::add_get): exact paths, and prefixes (stored without
// their trailing '/') that match themselves and everything below them.
struct Routes {
  std::map<std::string, GetHandler, std::less<>> exact;
  std::map<std::string, GetHandler, std::less<>> prefix;

  const GetHandler* find(std::string_view path) const {
    if (auto it = exact.find(path); it != exact.end()) return &it->second;
    for (const auto& [p, handler] : prefix) {
      if (path == p || (path.size() > p.size() && path.substr(0, p.size()) == p && path[p.size()] == '/')) return &handler;
    }
    return nullptr;
  }
};

struct ServerState {
  ServerState(ServerConfig cfg, std::map<std::string, Handler> methods, Routes get_routes = {})
      : config(std::move(cfg)),
        routes(std::move(get_routes)),
        dispatcher(std::move(methods), config.topics,
                   DispatchLimits{config.max_batch, /*max_depth=*/64,
                                  FilterLimits{config.max_filter_keys, 64, config.max_filter_value_bytes}}),
        registry(config.topics, config.max_subscriptions_per_conn) {}

  const ServerConfig config;
  const Routes routes;
  const Dispatcher dispatcher;
  SubscriptionRegistry registry;

  std::atomic<size_t> connections{0};
  std::atomic<size_t> rejecting{0};  // connections being answered 503/429
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> refused_requests{0};  // 403 for a foreign Origin or Host
  std::atomic<uint64_t> idle_closed{0};

  enum class Admission { admitted, server_full, address_full };

  // Takes a connection slot for a client at `address` (its text form) or says why not.
  // Trusted addresses skip the per-address cap and may use the reserved slots.
  Admission admit(const std::string& address) {
    const bool trusted = is_trusted(address);
    std::lock_guard lock(slots_mu);
    const size_t total = connections.load();
    const size_t limit = config.max_connections + (trusted ? config.reserved_connections : 0);
    if (total >= limit) return Admission::server_full;
    if (!trusted && per_address[address] >= config.max_connections_per_ip) return Admission::address_full;
    ++per_address[address];
    connections.fetch_add(1);
    return Admission::admitted;
  }
  void release(const std::string& address) {
    std::lock_guard lock(slots_mu);
    auto it = per_address.find(address);
    if (it != per_address.end() && --it->second == 0) per_address.erase(it);
    connections.fetch_sub(1);
  }
  bool is_trusted(const std::string& address) const {
    for (const auto& t : config.trusted_addresses)
      if (t == address) return true;
    return false;
  }
  std::atomic<bool> stopping{false};
  std::atomic<int> publishing{0};  // publish() calls in progress; stop() waits for them

  void track(const void* key, std::weak_ptr<Session> session) {
    std::lock_guard lock(sessions_mu);
    sessions[key] = std::move(session);
  }
  void untrack(const void* key) {
    std::lock_guard lock(sessions_mu);
    sessions.erase(key);
  }
  void shutdown_all() {
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard lock(sessions_mu);
      for (auto& [key, weak] : sessions)
        if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->shutdown();
  }

 private:
  std::mutex slots_mu;
  std::map<std::string, size_t> per_address;  // open connections by remote address (all, trusted too)
  std::mutex sessions_mu;
  std::unordered_map<const void*, std::weak_ptr<Session>> sessions;
};

// One counted connection (see ServerState::admit); released when the session holding it
// ends. Moves from the HTTP session to the WebSocket session on upgrade.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  ConnectionSlot(std::shared_ptr<ServerState> state, std::string address)
      : state_(std::move(state)), address_(std::move(address)) {}
  ConnectionSlot(ConnectionSlot&& o) noexcept : state_(std::move(o.state_)), address_(std::move(o.address_)) {}
  ConnectionSlot& operator=(ConnectionSlot&& o) noexcept {
    release();
    state_ = std::move(o.state_);
    address_ = std::move(o.address_);
    return *this;
  }
  ~ConnectionSlot() { release(); }

 private:
  void release() {
    if (state_) state_->release(address_);
    state_.reset();
  }
  std::shared_ptr<ServerState> state_;
  std::string address_;
};

}  // namespace ig::rpc::detail
