// Shared state of a built tokenizer (internal to ig_tokenizer).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "inference/tokenizer/tokenizer.hpp"

namespace ig::tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct Tokenizer::Impl {
  Vocab vocab;
  bool spm = true;
  bool ignore_merges = false;      // llama3: whole words found in the vocab skip BPE
  bool nfc = false;                // normalize raw text with NFC first
  StringMap<TokenId> ids;          // token text -> id
  StringMap<int32_t> ranks;        // "left right" -> merge rank (gpt2)
  std::array<TokenId, 256> byte_ids{};  // SPM byte fallback, kNoToken if absent
  std::vector<TokenId> specials;   // partitioned out of raw text, longest first
  std::vector<std::string> pieces; // decoded bytes of each token (control tokens: empty)

  TokenId find(std::string_view text) const {
    auto it = ids.find(text);
    return it == ids.end() ? kNoToken : it->second;
  }
  TokenType type_of(TokenId id) const { return vocab.types[static_cast<size_t>(id)]; }
};

// Appends the ids of one raw-text fragment.
void spm_encode(const Tokenizer::Impl& t, std::string_view text, bool add_prefix, std::vector<TokenId>& out);
Status bpe_encode(const Tokenizer::Impl& t, std::string_view text, std::vector<TokenId>& out);

}  // namespace ig::tok
