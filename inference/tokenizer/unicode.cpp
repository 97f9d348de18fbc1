// GPT-2 maps every byte to a printable codepoint: printable Latin-1 bytes map to
// themselves and the rest to U+0100 onwards, in byte order.
#include "inference/tokenizer/unicode.hpp"

#include <array>
#include <unordered_map>

#include "inference/tokenizer/tokenizer.hpp"

namespace ig::tok {

namespace detail {

std::string encode_utf8(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
  return out;
}

std::vector<std::string_view> split_utf8(std::string_view text) {
  std::vector<std::string_view> out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t n = utf8_char_len(text, pos);
    out.push_back(text.substr(pos, n));
    pos += n;
  }
  return out;
}

namespace {
struct ByteMap {
  std::array<std::string, 256> to_unicode;
  std::unordered_map<std::string, int> to_byte;

  ByteMap() {
    auto printable = [](int b) {
      return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    };
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const uint32_t cp = printable(b) ? static_cast<uint32_t>(b) : next++;
      to_unicode[b] = encode_utf8(cp);
      to_byte.emplace(to_unicode[b], b);
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}
}  // namespace

int unicode_to_byte(std::string_view ch) {
  const auto& m = byte_map().to_byte;
  auto it = m.find(std::string(ch));
  return it == m.end() ? -1 : it->second;
}

}  // namespace detail

const std::string& byte_to_unicode(uint8_t b) { return detail::byte_map().to_unicode[b]; }

}  // namespace ig::tok

namespace ig::tok {

std::string Utf8Stream::push(std::string_view piece) {
  pending_ += piece;
  // Hold back a trailing lead byte whose continuation bytes have not all arrived.
  size_t cut = pending_.size();
  for (size_t back = 1; back <= 3 && back <= pending_.size(); ++back) {
    const auto c = static_cast<unsigned char>(pending_[pending_.size() - back]);
    if ((c & 0xc0) == 0x80) continue;  // continuation byte: keep looking for the lead
    if (c >= 0xc0 && c < 0xf8 && detail::utf8_len(c) > back) cut = pending_.size() - back;
    break;
  }
  std::string ready = pending_.substr(0, cut);
  pending_.erase(0, cut);
  return ready;
}

std::string Utf8Stream::flush() {
  std::string rest;
  rest.swap(pending_);
  return rest;
}

}  // namespace ig::tok
