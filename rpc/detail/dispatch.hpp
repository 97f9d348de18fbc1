// JSON-RPC 2.0 message handling, independent of the transport: parse one
// incoming text (a request or a batch), validate it, call the methods and
// build the reply text. The WebSocket and HTTP sessions both use it.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rpc/detail/subscriptions.hpp"
#include "rpc/types.hpp"

namespace ig::rpc::detail {

// What a connection offers to the built-in subscribe/unsubscribe methods.
// HTTP has none: those methods then answer kMethodNotSupported.
class SubscriptionHost {
 public:
  virtual ~SubscriptionHost() = default;
  virtual MethodResult subscribe(const std::string& topic, const json& filter) = 0;
  virtual bool unsubscribe(const std::string& id) = 0;
};

struct DispatchLimits {
  size_t max_batch = 100;
  size_t max_depth = 64;  // JSON nesting; deeper input is refused before it is built
  FilterLimits filter;    // size and shape of a subscription filter
};

class Dispatcher {
 public:
  Dispatcher(std::map<std::string, Handler> methods, std::vector<std::string> topics,
             DispatchLimits limits);

  // Handles one message. Returns the reply text, or nullopt when the message
  // held only notifications (requests without an id), which get no reply.
  // Never throws: whatever the input or a handler does, the result is a reply
  // (an internal error at worst) or nullopt.
  std::optional<std::string> handle(std::string_view text, SubscriptionHost* host) const noexcept;

  uint64_t requests_handled() const { return requests_.load(std::memory_order_relaxed); }
  // Requests and errors per method (docs/metrics.md); unknown names count as "other".
  std::vector<MethodStats> method_stats() const;
  bool has_method(const std::string& name) const { return methods_.count(name) != 0; }

 private:
  std::optional<std::string> handle_message(std::string_view text, SubscriptionHost* host) const;
  std::optional<json> handle_one(const json& request, SubscriptionHost* host) const;
  MethodResult invoke(const std::string& method, const json& params, SubscriptionHost* host) const;
  MethodResult invoke_subscription(const std::string& method, const json& params,
                                   SubscriptionHost* host) const;
  MethodResult list_methods() const;

  struct MethodCounter {
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> errors{0};
  };
  void count(const std::string& method, bool ok) const;

  std::map<std::string, Handler> methods_;
  // Built once in the constructor (registered methods, built-ins, "other") and never resized,
  // so the I/O threads count without a lock.
  std::map<std::string, std::unique_ptr<MethodCounter>> counters_;
  std::vector<std::string> topics_;
  DispatchLimits limits_;
  mutable std::atomic<uint64_t> requests_{0};
};

// Names the dispatcher answers itself; add_method refuses them.
bool is_reserved_method(const std::string& name);

// Serialization that never throws on invalid UTF-8 in handler output.
std::string to_text(const json& value);
json error_object(const RpcError& e);
std::string error_reply_text(const RpcError& e);  // with "id": null

}  // namespace ig::rpc::detail
