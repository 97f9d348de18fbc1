// The live subscriptions of a server: which connection wants which topic,
// with which filter, and fan-out of published notifications to them.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "rpc/detail/outbound.hpp"
#include "rpc/types.hpp"

namespace ig::rpc::detail {

// A connection that can receive notifications (the WebSocket session).
class Subscriber {
 public:
  enum class Push { queued, overflow, closed };
  virtual ~Subscriber() = default;
  // Appends to the outbound queue without waiting on the network. `overflow`
  // means the queue limit was hit: the subscriber is now being dropped.
  virtual Push push_notification(Outbound message) = 0;
  // Called (outside the registry lock) after an overflow removed its subscriptions.
  virtual void on_dropped() = 0;
};

// The size and shape a subscription filter may have. A filter is held for as long as its
// subscription lives and is compared with every event, so an unbounded one would let one
// client take the node's memory and time (32 subscriptions with 3.8 MB filters held ~0.9 GiB).
struct FilterLimits {
  size_t max_keys = 8;            // keys in the filter object
  size_t max_key_bytes = 64;      // length of each key
  size_t max_value_bytes = 256;   // length of a string value (an address is 62 bytes)
};

// Why `filter` is not acceptable, or nullopt when it is: null, or an object of at most
// max_keys keys whose values are scalars (strings within max_value_bytes, numbers, booleans).
std::optional<std::string> check_filter(const json& filter, const FilterLimits& limits);

// An event matches when, for every key of the filter, event[key] equals the
// filter's value or event[key] is an array that contains it. A null filter
// matches everything; an event that is not an object matches only null.
bool filter_matches(const json& filter, const json& event);

class SubscriptionRegistry {
 public:
  SubscriptionRegistry(std::vector<std::string> topics, size_t max_per_subscriber);

  // Returns the new subscription id, or kLimitExceeded / kInvalidParams.
  MethodResult add(const std::shared_ptr<Subscriber>& owner, const std::string& topic,
                   const json& filter);
  bool remove(const Subscriber* owner, const std::string& id);
  void remove_all(const Subscriber* owner);

  // Queues `result` for every matching subscription; returns how many.
  size_t publish(const std::string& topic, const json& result);

  bool has_subscribers(const std::string& topic) const;
  size_t size() const;
  size_t count_of(const Subscriber* owner) const;  // live subscriptions of one connection
  uint64_t dropped() const;

 private:
  struct Entry {
    std::string topic;
    json filter;
    std::weak_ptr<Subscriber> owner;
    const Subscriber* key;
  };
  std::string new_id();  // caller holds mu_
  void erase_owner(const Subscriber* owner);  // caller holds mu_

  std::vector<std::string> topics_;
  size_t max_per_subscriber_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::unordered_map<std::string, Entry>> by_topic_;
  std::unordered_map<std::string, std::string> topic_of_;            // id -> topic
  std::unordered_map<const Subscriber*, std::vector<std::string>> ids_of_;  // owner -> ids
  std::mt19937_64 rng_;
  uint64_t dropped_ = 0;
};

}  // namespace ig::rpc::detail
