// UTF-8 splitting and GPT-2's byte <-> codepoint mapping (internal to ig_tokenizer).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ig::tok::detail {

// Length of the UTF-8 sequence introduced by `lead` (1 for stray bytes), so
// invalid input still splits into bounded pieces, as llama.cpp does.
inline size_t utf8_len(unsigned char lead) {
  static const size_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return lookup[lead >> 4];
}

// Bytes of the character starting at text[pos]. A lead byte only claims bytes
// that really are continuation bytes, so invalid input splits into single bytes
// and never swallows the start of the next character (valid UTF-8 is unaffected).
inline size_t utf8_char_len(std::string_view text, size_t pos) {
  const size_t want = std::min(text.size() - pos, utf8_len(static_cast<unsigned char>(text[pos])));
  size_t n = 1;
  while (n < want && (static_cast<unsigned char>(text[pos + n]) & 0xc0) == 0x80) ++n;
  return n == want ? n : 1;
}

// Splits text into UTF-8 characters (views into `text`).
std::vector<std::string_view> split_utf8(std::string_view text);

// Decodes the mapped byte of one byte-level BPE character; -1 if it is not one.
int unicode_to_byte(std::string_view ch);

std::string encode_utf8(uint32_t cp);

}  // namespace ig::tok::detail
