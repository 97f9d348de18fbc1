#include "chain/codec.hpp"

namespace ig::chain {

void Writer::bytes(ByteView b) {
  u32(static_cast<uint32_t>(b.size()));
  fixed(b);
}

bool Reader::take(size_t n) {
  if (error_) return false;
  if (remaining() < n) {
    set_error("codec.truncated", "input ends " + std::to_string(n - remaining()) + " bytes early at offset " +
                                     std::to_string(pos_));
    return false;
  }
  pos_ += n;
  return true;
}

uint64_t Reader::get_le(int n) {
  if (!take(n)) return 0;
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(data_[pos_ - n + i]) << (8 * i);
  return v;
}

bool Reader::boolean() {
  uint8_t v = u8();
  if (v > 1) set_error("codec.bad_bool", "boolean byte must be 0 or 1, got " + std::to_string(v));
  return v == 1;
}

Bytes Reader::bytes(size_t max_len) {
  uint32_t len = u32();
  if (!ok()) return {};
  if (len > max_len) {
    set_error("codec.oversized", "length " + std::to_string(len) + " exceeds the cap of " + std::to_string(max_len));
    return {};
  }
  if (!take(len)) return {};
  return Bytes(data_.begin() + static_cast<std::ptrdiff_t>(pos_ - len), data_.begin() + static_cast<std::ptrdiff_t>(pos_));
}

std::string Reader::str(size_t max_len) {
  Bytes b = bytes(max_len);
  return std::string(b.begin(), b.end());
}

uint32_t Reader::count(size_t max_count, size_t min_elem_bytes) {
  uint32_t n = u32();
  if (!ok()) return 0;
  if (n > max_count) {
    set_error("codec.oversized", "count " + std::to_string(n) + " exceeds the cap of " + std::to_string(max_count));
    return 0;
  }
  if (min_elem_bytes && static_cast<uint64_t>(n) * min_elem_bytes > remaining()) {
    set_error("codec.truncated", "count " + std::to_string(n) + " cannot fit in the " + std::to_string(remaining()) +
                                     " bytes left");
    return 0;
  }
  return n;
}

void Reader::set_error(std::string code, std::string message) {
  if (!error_) error_ = Error{std::move(code), std::move(message)};
}

Status Reader::finish() {
  if (error_) return fail(*error_);
  if (remaining() != 0)
    return fail("codec.trailing_bytes", std::to_string(remaining()) + " unexpected bytes after the end of the value");
  return {};
}

}  // namespace ig::chain
