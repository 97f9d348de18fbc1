#include "chain/state.hpp"

#include <algorithm>

#include "chain/codec.hpp"
#include "chain/hash.hpp"

namespace ig::chain {

Bytes state_key(StatePrefix prefix, ByteView suffix) {
  Bytes k;
  k.reserve(1 + suffix.size());
  k.push_back(static_cast<uint8_t>(prefix));
  append(k, suffix);
  return k;
}

std::optional<Bytes> State::get(ByteView key) const {
  auto it = writes_.find(Bytes(key.begin(), key.end()));
  if (it != writes_.end()) return it->second;
  return base_->get(key);
}

void State::record(const Bytes& key) {
  auto it = writes_.find(key);
  if (it == writes_.end()) journal_.emplace_back(key, std::nullopt);
  else journal_.emplace_back(key, it->second);
}

void State::put(ByteView key, ByteView value) {
  Bytes k(key.begin(), key.end());
  record(k);
  writes_[std::move(k)] = Bytes(value.begin(), value.end());
}

void State::erase(ByteView key) {
  Bytes k(key.begin(), key.end());
  record(k);
  writes_[std::move(k)] = std::nullopt;
}

void State::revert_to(size_t checkpoint) {
  while (journal_.size() > checkpoint) {
    auto& [key, previous] = journal_.back();
    if (previous) writes_[key] = *previous;
    else writes_.erase(key);
    journal_.pop_back();
  }
}

static bool has_prefix(ByteView key, ByteView prefix) {
  return key.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), key.begin());
}

void State::scan(ByteView prefix, const std::function<bool(ByteView, ByteView)>& fn) const {
  // Merge the committed entries with the overlay, the overlay winning on equal keys.
  std::map<Bytes, Bytes> merged;
  base_->scan(prefix, [&](ByteView k, ByteView v) {
    merged.emplace(Bytes(k.begin(), k.end()), Bytes(v.begin(), v.end()));
    return true;
  });
  for (auto it = writes_.lower_bound(Bytes(prefix.begin(), prefix.end())); it != writes_.end() && has_prefix(it->first, prefix); ++it) {
    if (it->second) merged[it->first] = *it->second;
    else merged.erase(it->first);
  }
  for (const auto& [k, v] : merged)
    if (!fn(k, v)) return;
}

Hash next_state_root(const Hash& prev_root, const WriteSet& writes) {
  // The whole set is encoded into one buffer and hashed once: the same digest as hashing
  // entry by entry, without a fresh Writer (and its regrowth) and a digest call per entry.
  Writer w;
  for (const auto& [k, v] : writes) {
    w.bytes(k);
    w.boolean(v.has_value());
    if (v) w.bytes(*v);
  }
  return sha256(prev_root, sha256(w.data()));
}

std::optional<Bytes> MapStateReader::get(ByteView key) const {
  auto it = entries.find(Bytes(key.begin(), key.end()));
  if (it == entries.end()) return std::nullopt;
  return it->second;
}

void MapStateReader::scan(ByteView prefix, const std::function<bool(ByteView, ByteView)>& fn) const {
  for (auto it = entries.lower_bound(Bytes(prefix.begin(), prefix.end())); it != entries.end() && has_prefix(it->first, prefix); ++it)
    if (!fn(it->first, it->second)) return;
}

}  // namespace ig::chain
