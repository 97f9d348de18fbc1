#include "rpc/detail/subscriptions.hpp"

#include <algorithm>
#include <cstdio>

#include "rpc/detail/dispatch.hpp"

namespace ig::rpc::detail {
namespace {

bool value_matches(const json& wanted, const json& actual) {
  if (actual == wanted) return true;
  return actual.is_array() && std::find(actual.begin(), actual.end(), wanted) != actual.end();
}

// The per-subscription envelope around the shared, already serialized result.
// Topic names are checked at server start (letters, digits, '_') and ids are
// hex, so neither needs JSON escaping.
Outbound envelope(const std::string& topic, const std::string& id,
                  const std::shared_ptr<const std::string>& body) {
  Outbound out;
  out.head = R"({"jsonrpc":"2.0","method":")" + topic + R"(_subscription","params":{"subscription":")" +
             id + R"(","result":)";
  out.body = body;
  out.tail = "}}";
  out.notification = true;
  return out;
}

}  // namespace

std::optional<std::string> check_filter(const json& filter, const FilterLimits& limits) {
  if (filter.is_null()) return std::nullopt;
  if (!filter.is_object()) return "filter must be an object";
  if (filter.size() > limits.max_keys) {
    return "filter has " + std::to_string(filter.size()) + " keys (limit " + std::to_string(limits.max_keys) + ")";
  }
  for (const auto& [key, value] : filter.items()) {
    if (key.size() > limits.max_key_bytes) {
      return "filter key longer than " + std::to_string(limits.max_key_bytes) + " bytes";
    }
    if (value.is_string()) {
      if (value.get_ref<const std::string&>().size() > limits.max_value_bytes) {
        return "filter value of '" + key + "' longer than " + std::to_string(limits.max_value_bytes) + " bytes";
      }
    } else if (!value.is_number() && !value.is_boolean()) {
      return "filter value of '" + key + "' must be a string, a number or a boolean";
    }
  }
  return std::nullopt;
}

bool filter_matches(const json& filter, const json& event) {
  if (filter.is_null()) return true;
  if (!filter.is_object() || !event.is_object()) return false;
  for (const auto& [key, wanted] : filter.items()) {
    auto it = event.find(key);
    if (it == event.end() || !value_matches(wanted, *it)) return false;
  }
  return true;
}

SubscriptionRegistry::SubscriptionRegistry(std::vector<std::string> topics, size_t max_per_subscriber)
    : topics_(std::move(topics)), max_per_subscriber_(max_per_subscriber), rng_(std::random_device{}()) {}

std::string SubscriptionRegistry::new_id() {
  char buf[35];
  std::snprintf(buf, sizeof buf, "0x%016llx%016llx", static_cast<unsigned long long>(rng_()),
                static_cast<unsigned long long>(rng_()));
  return buf;
}

MethodResult SubscriptionRegistry::add(const std::shared_ptr<Subscriber>& owner,
                                       const std::string& topic, const json& filter) {
  if (std::find(topics_.begin(), topics_.end(), topic) == topics_.end()) {
    return invalid_params("unknown topic '" + topic + "'");
  }
  std::lock_guard lock(mu_);
  auto& ids = ids_of_[owner.get()];
  if (ids.size() >= max_per_subscriber_) {
    return RpcError{kLimitExceeded, "subscription limit reached (" +
                                        std::to_string(max_per_subscriber_) + " per connection)"};
  }
  std::string id = new_id();
  while (topic_of_.count(id)) id = new_id();
  by_topic_[topic].emplace(id, Entry{topic, filter, owner, owner.get()});
  topic_of_.emplace(id, topic);
  ids.push_back(id);
  return id;
}

bool SubscriptionRegistry::remove(const Subscriber* owner, const std::string& id) {
  std::lock_guard lock(mu_);
  auto t = topic_of_.find(id);
  if (t == topic_of_.end()) return false;
  auto& entries = by_topic_[t->second];
  auto e = entries.find(id);
  if (e == entries.end() || e->second.key != owner) return false;  // not yours to cancel
  entries.erase(e);
  topic_of_.erase(t);
  auto& ids = ids_of_[owner];
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  return true;
}

void SubscriptionRegistry::remove_all(const Subscriber* owner) {
  std::lock_guard lock(mu_);
  erase_owner(owner);
}

void SubscriptionRegistry::erase_owner(const Subscriber* owner) {
  auto it = ids_of_.find(owner);
  if (it == ids_of_.end()) return;
  for (const auto& id : it->second) {
    auto t = topic_of_.find(id);
    if (t == topic_of_.end()) continue;
    by_topic_[t->second].erase(id);
    topic_of_.erase(t);
  }
  ids_of_.erase(it);
}

size_t SubscriptionRegistry::publish(const std::string& topic, const json& result) {
  std::vector<std::shared_ptr<Subscriber>> overflowed;
  // Every subscriber locked below, released only after mu_ is: the last reference to a session
  // that ended meanwhile may be ours, and its destructor takes mu_ (remove_all).
  std::vector<std::shared_ptr<Subscriber>> held;
  size_t queued = 0;
  {
    std::lock_guard lock(mu_);
    auto it = by_topic_.find(topic);
    if (it == by_topic_.end() || it->second.empty()) return 0;
    auto body = std::make_shared<const std::string>(to_text(result));
    held.reserve(it->second.size());
    for (auto& [id, entry] : it->second) {
      if (!filter_matches(entry.filter, result)) continue;
      auto owner = entry.owner.lock();
      if (!owner) continue;  // session ending; it removes its entries itself
      held.push_back(owner);
      if (std::find(overflowed.begin(), overflowed.end(), owner) != overflowed.end()) continue;
      switch (owner->push_notification(envelope(topic, id, body))) {
        case Subscriber::Push::queued: ++queued; break;
        case Subscriber::Push::overflow: overflowed.push_back(owner); break;
        case Subscriber::Push::closed: break;
      }
    }
    for (const auto& owner : overflowed) erase_owner(owner.get());
    dropped_ += overflowed.size();
  }
  for (const auto& owner : overflowed) owner->on_dropped();
  return queued;
}

bool SubscriptionRegistry::has_subscribers(const std::string& topic) const {
  std::lock_guard lock(mu_);
  auto it = by_topic_.find(topic);
  return it != by_topic_.end() && !it->second.empty();
}

size_t SubscriptionRegistry::size() const {
  std::lock_guard lock(mu_);
  return topic_of_.size();
}

size_t SubscriptionRegistry::count_of(const Subscriber* owner) const {
  std::lock_guard lock(mu_);
  auto it = ids_of_.find(owner);
  return it == ids_of_.end() ? 0 : it->second.size();
}

uint64_t SubscriptionRegistry::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace ig::rpc::detail
