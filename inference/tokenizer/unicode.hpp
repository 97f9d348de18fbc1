// UTF-8 splitting and GPT-2's byte <-> codepoint mapping (internal to ig_tokenizer).
#pragma once

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

// Splits text into UTF-8 characters (views into `text`).
std::vector<std::string_view> split_utf8(std::string_view text);

// Decodes the mapped byte of one byte-level BPE character; -1 if it is not one.
int unicode_to_byte(std::string_view ch);

std::string encode_utf8(uint32_t cp);

}  // namespace ig::tok::detail
