#include "inference/receipt/ids.hpp"

namespace ig::receipt {

ig::Hash32 model_id(const gguf::File& file) { return file.image_sha256(); }

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

Expected<std::vector<uint8_t>> bytes_from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return fail("result.bad_hex", "odd-length hex string");
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return fail("result.bad_hex", "not a hex digit");
    out[i] = uint8_t(hi << 4 | lo);
  }
  return out;
}

Expected<ig::Hash32> hash_from_hex(std::string_view hex) {
  if (hex.size() != 64) return fail("result.bad_hex", "a hash must be 64 hex characters");
  IG_TRY_ASSIGN(bytes, bytes_from_hex(hex));
  ig::Hash32 h{};
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

}  // namespace ig::receipt
