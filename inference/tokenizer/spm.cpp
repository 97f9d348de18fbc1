// SentencePiece-style BPE as llama.cpp runs it: merge the adjacent pair whose
// concatenation is the highest-scoring token; characters that never became
// tokens fall back to their <0xNN> byte tokens (or <unk>).
#include "inference/tokenizer/impl.hpp"
#include "inference/tokenizer/merge.hpp"

namespace ig::tok {

namespace {
std::string escape_whitespace(std::string_view text, bool add_prefix) {
  static const std::string kSpace = "\xe2\x96\x81";  // U+2581
  std::string out;
  out.reserve(text.size() * 3 + 3);
  if (add_prefix) out += kSpace;
  for (char c : text) {
    if (c == ' ')
      out += kSpace;
    else
      out += c;
  }
  return out;
}

// Merged symbols are always tokens; only single characters can be missing.
void emit(const Tokenizer::Impl& t, std::string_view piece, std::vector<TokenId>& out) {
  if (const TokenId id = t.find(piece); id != kNoToken) {
    out.push_back(id);
    return;
  }
  for (unsigned char byte : piece) {
    if (const TokenId b = t.byte_ids[byte]; b != kNoToken)
      out.push_back(b);
    else if (t.vocab.unk != kNoToken)
      out.push_back(t.vocab.unk);
  }
}
}  // namespace

void spm_encode(const Tokenizer::Impl& t, std::string_view text, bool add_prefix, std::vector<TokenId>& out) {
  const std::string escaped = escape_whitespace(text, add_prefix);
  const auto score = [&t](std::string_view left, std::string_view right) -> std::optional<float> {
    const TokenId id = t.find(std::string_view(left.data(), left.size() + right.size()));  // adjacent views
    if (id == kNoToken) return std::nullopt;
    return t.vocab.scores[static_cast<size_t>(id)];
  };
  for (std::string_view piece : detail::merge_symbols(escaped, score)) emit(t, piece, out);
}

}  // namespace ig::tok
