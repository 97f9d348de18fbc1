#include "inference/receipt/sha256.hpp"

#include <openssl/evp.h>

#include <memory>
#include <vector>

namespace ig::receipt {

Digest token_hash(std::span<const int32_t> ids) {
  std::vector<uint8_t> buf;
  buf.reserve(ids.size() * 4);
  for (int32_t id : ids) {
    const uint32_t v = uint32_t(id);
    for (int i = 0; i < 4; ++i) buf.push_back(uint8_t(v >> (8 * i)));
  }
  return sha256(buf);
}

Digest model_id(const gguf::File& file) { return sha256(file.raw()); }

std::string to_hex(std::span<const uint8_t> bytes) {
  static const char* k = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    s.push_back(k[b >> 4]);
    s.push_back(k[b & 15]);
  }
  return s;
}

namespace {
int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Expected<Digest> digest_from_hex(std::string_view hex) {
  if (hex.size() != 64) return fail("receipt.bad_hex", "a digest must be 64 hex characters");
  Digest d{};
  for (size_t i = 0; i < 32; ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return fail("receipt.bad_hex", "not a hex digit in digest");
    d[i] = uint8_t(hi << 4 | lo);
  }
  return d;
}

}  // namespace ig::receipt
