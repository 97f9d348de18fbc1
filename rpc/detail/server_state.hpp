// State shared by the server and all of its sessions. Sessions hold it by
// shared_ptr, so it outlives every session however the server shuts down.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
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

struct ServerState {
  ServerState(ServerConfig cfg, std::map<std::string, Handler> methods)
      : config(std::move(cfg)),
        dispatcher(std::move(methods), config.topics,
                   DispatchLimits{config.max_batch, /*max_depth=*/64}),
        registry(config.topics, config.max_subscriptions_per_conn) {}

  const ServerConfig config;
  const Dispatcher dispatcher;
  SubscriptionRegistry registry;

  std::atomic<size_t> connections{0};
  std::atomic<size_t> rejecting{0};  // connections being answered 503
  std::atomic<uint64_t> rejected{0};
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
  std::mutex sessions_mu;
  std::unordered_map<const void*, std::weak_ptr<Session>> sessions;
};

// One counted connection; released when the session holding it ends. Moves
// from the HTTP session to the WebSocket session on upgrade.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  explicit ConnectionSlot(std::shared_ptr<ServerState> state) : state_(std::move(state)) {}
  ConnectionSlot(ConnectionSlot&& o) noexcept : state_(std::move(o.state_)) {}
  ConnectionSlot& operator=(ConnectionSlot&& o) noexcept {
    release();
    state_ = std::move(o.state_);
    return *this;
  }
  ~ConnectionSlot() { release(); }

 private:
  void release() {
    if (state_) state_->connections.fetch_sub(1);
    state_.reset();
  }
  std::shared_ptr<ServerState> state_;
};

}  // namespace ig::rpc::detail
