// Unicode Normalization Form C, for vocabularies whose Hugging Face tokenizer normalizes with
// NFC before pre-tokenizing (Qwen2 and Qwen2.5 do; llama.cpp skips it). ICU does the work.
// Internal to ig_tokenizer; exposed for tests.
#pragma once

#include <string>
#include <string_view>

namespace ig::tok::detail {

// The Unicode version of the ICU data in use, e.g. "15.0".
const char* nfc_unicode_version();

// NFC of UTF-8 text. Text made only of code points below U+0300 is already NFC and comes back
// unchanged without calling ICU; invalid UTF-8 also comes back unchanged (the pre-tokenizer
// then reports it).
std::string nfc(std::string_view text);

}  // namespace ig::tok::detail
