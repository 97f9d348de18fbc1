// Byte-level BPE as llama.cpp runs it: each pre-tokenized word is mapped byte by
// byte to GPT-2's printable codepoints, then adjacent pairs merge lowest rank
// first (leftmost on ties) until no ranked pair remains.
#include "inference/tokenizer/impl.hpp"
#include "inference/tokenizer/merge.hpp"
#include "inference/tokenizer/unicode.hpp"

namespace ig::tok {

namespace {
std::string map_bytes(std::string_view word) {
  std::string mapped;
  mapped.reserve(word.size() * 2);
  for (unsigned char c : word) mapped += byte_to_unicode(c);
  return mapped;
}

// A merge result missing from the vocab falls back to its single characters.
void emit(const Tokenizer::Impl& t, std::string_view piece, std::vector<TokenId>& out) {
  if (const TokenId id = t.find(piece); id != kNoToken) {
    out.push_back(id);
    return;
  }
  for (auto ch : detail::split_utf8(piece))
    if (const TokenId id = t.find(ch); id != kNoToken) out.push_back(id);
}
}  // namespace

Status bpe_encode(const Tokenizer::Impl& t, std::string_view text, std::vector<TokenId>& out) {
  IG_TRY_ASSIGN(words, pre_tokenize(t.vocab.pre, text));
  std::string key;
  // Ranks stay below 2^24 in any real vocabulary, so the float priority is exact.
  const auto rank = [&t, &key](std::string_view left, std::string_view right) -> std::optional<float> {
    key.assign(left).append(" ").append(right);
    auto it = t.ranks.find(key);
    if (it == t.ranks.end()) return std::nullopt;
    return -static_cast<float>(it->second);
  };
  for (const auto& word : words) {
    const std::string mapped = map_bytes(word);
    if (t.ignore_merges) {
      if (const TokenId id = t.find(mapped); id != kNoToken) {
        out.push_back(id);
        continue;
      }
    }
    for (std::string_view piece : detail::merge_symbols(mapped, rank)) emit(t, piece, out);
  }
  return {};
}

}  // namespace ig::tok
