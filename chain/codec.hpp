// The canonical binary codec (DESIGN §3): one encoding for everything hashed or signed.
//
// Little-endian fixed-width integers, u32 length prefixes with hard caps, u8 variant tags.
// The Reader keeps a sticky error (like a stream's failbit): decoders read every field and
// check once at the end, which keeps decode functions as flat as the format they describe.
// finish() rejects trailing bytes, so every byte string has at most one meaning.
#pragma once

#include <algorithm>
#include <optional>
#include <string>

#include "chain/bytes.hpp"

namespace ig::chain {

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(v); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void u16(uint16_t v) { put_le(v, 2); }
  void u32(uint32_t v) { put_le(v, 4); }
  void u64(uint64_t v) { put_le(v, 8); }
  void fixed(ByteView b) { append(out_, b); }
  template <size_t N>
  void fixed(const std::array<uint8_t, N>& a) { fixed(ByteView(a.data(), N)); }
  void bytes(ByteView b);            // u32 length prefix + data
  void str(std::string_view s) { bytes(ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size())); }

  const Bytes& data() const& { return out_; }
  Bytes take() && { return std::move(out_); }

 private:
  void put_le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}

  uint8_t u8() { return static_cast<uint8_t>(get_le(1)); }
  bool boolean();
  uint16_t u16() { return static_cast<uint16_t>(get_le(2)); }
  uint32_t u32() { return static_cast<uint32_t>(get_le(4)); }
  uint64_t u64() { return get_le(8); }
  template <size_t N>
  std::array<uint8_t, N> fixed() {
    std::array<uint8_t, N> a{};
    if (take(N)) std::copy_n(data_.data() + pos_ - N, N, a.begin());
    return a;
  }
  Bytes bytes(size_t max_len);
  std::string str(size_t max_len);
  // A count prefix for a list whose elements are at least min_elem_bytes each: rejects
  // counts above max_count and counts that cannot fit in what is left (before allocating).
  uint32_t count(size_t max_count, size_t min_elem_bytes = 1);

  void set_error(std::string code, std::string message);
  bool ok() const { return !error_; }
  size_t remaining() const { return data_.size() - pos_; }
  // Succeeds when every read succeeded and no byte is left over.
  Status finish();

 private:
  bool take(size_t n);
  uint64_t get_le(int n);

  ByteView data_;
  size_t pos_ = 0;
  std::optional<Error> error_;
};

// Hard caps shared by the chain's encodings.
inline constexpr size_t kMaxTxBytes = 1 << 20;          // one transaction
inline constexpr size_t kMaxBlockBytes = 64 << 20;      // one block (header + body)
inline constexpr size_t kMaxTxsPerBlock = 100000;
inline constexpr size_t kMaxChainIdBytes = 64;
inline constexpr size_t kMaxValidators = 1024;
inline constexpr size_t kMaxEvents = 256;

}  // namespace ig::chain
