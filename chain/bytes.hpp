// Byte strings, fixed-size hashes and hex: the vocabulary of everything hashed or signed.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"

namespace ig::chain {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using Hash = std::array<uint8_t, 32>;

std::string to_hex(ByteView data);
template <size_t N>
std::string to_hex(const std::array<uint8_t, N>& a) { return to_hex(ByteView(a.data(), N)); }

// Accepts an optional "0x" prefix; rejects odd length and non-hex characters.
Expected<Bytes> from_hex(std::string_view hex);

template <size_t N>
Expected<std::array<uint8_t, N>> from_hex_fixed(std::string_view hex) {
  IG_TRY_ASSIGN(b, from_hex(hex));
  if (b.size() != N)
    return fail("hex.length", "expected " + std::to_string(N) + " bytes, got " + std::to_string(b.size()));
  std::array<uint8_t, N> out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

// Appends `tail` to `out`. Written as resize + copy rather than `out.insert(out.end(), ...)`:
// GCC 12 cannot see that insert's step "move the elements after the insertion point" is empty
// at end(), and warned -Wstringop-overflow / -Warray-bounds at every inlined call (a false
// positive: nothing is written past the new size).
inline void append(Bytes& out, ByteView tail) {
  if (tail.empty()) return;
  const size_t old = out.size();
  out.resize(old + tail.size());
  std::memcpy(out.data() + old, tail.data(), tail.size());
}

inline ByteView view(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace ig::chain
