// Small helpers for contract state keys and values (all encodings use chain's canonical codec).
#pragma once

#include <initializer_list>
#include <optional>
#include <stdexcept>

#include "chain/codec.hpp"
#include "chain/state.hpp"

namespace ig::contracts::kv {

using chain::Bytes;
using chain::ByteView;

// Big-endian, so keys sort by number (queues ordered by height, ids).
inline std::array<uint8_t, 8> be64(uint64_t v) {
  std::array<uint8_t, 8> out{};
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return out;
}
inline uint64_t read_be64(ByteView b) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < b.size(); ++i) v = v << 8 | b[i];
  return v;
}

// prefix byte, a one-letter table tag, then the key parts concatenated.
inline Bytes key(chain::StatePrefix prefix, char table, std::initializer_list<ByteView> parts = {}) {
  Bytes k{static_cast<uint8_t>(prefix), static_cast<uint8_t>(table)};
  for (auto p : parts) chain::append(k, p);
  return k;
}

// Loads and decodes a value; state is only written by these contracts, so a value that does not
// decode is corrupted storage, which no transaction can fix: it throws (caught by the app).
template <typename T, typename ReadFn>
std::optional<T> load(const chain::State& s, const Bytes& k, ReadFn read) {
  auto raw = s.get(k);
  if (!raw) return std::nullopt;
  chain::Reader r(*raw);
  T value = read(r);
  if (!r.finish()) throw std::runtime_error("corrupted contract state entry");
  return value;
}

inline uint64_t load_u64(const chain::State& s, const Bytes& k) {
  return load<uint64_t>(s, k, [](chain::Reader& r) { return r.u64(); }).value_or(0);
}
inline void store_u64(chain::State& s, const Bytes& k, uint64_t v) {
  chain::Writer w;
  w.u64(v);
  s.put(k, w.data());
}

// Returns the current counter value and stores the next one.
inline uint64_t next_id(chain::State& s, const Bytes& counter_key, uint64_t first = 1) {
  uint64_t id = load_u64(s, counter_key);
  if (id == 0) id = first;
  store_u64(s, counter_key, id + 1);
  return id;
}

}  // namespace ig::contracts::kv
