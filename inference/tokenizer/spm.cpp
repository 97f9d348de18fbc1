// SentencePiece-style BPE as llama.cpp runs it: start from UTF-8 characters and
// repeatedly merge the adjacent pair whose concatenation is the highest-scoring
// token (leftmost on ties); characters that never became tokens fall back to
// their <0xNN> byte tokens.
#include <queue>

#include "inference/tokenizer/impl.hpp"
#include "inference/tokenizer/unicode.hpp"

namespace ig::tok {

namespace {
struct Symbol {
  int prev;
  int next;
  size_t start;
  size_t n;
};

struct Bigram {
  int left;
  int right;
  float score;
  size_t size;
};

struct LowerPriority {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

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

class SpmSession {
 public:
  SpmSession(const Tokenizer::Impl& t, std::string text) : t_(t), text_(std::move(text)) {}

  void run(std::vector<TokenId>& out) {
    size_t pos = 0;
    while (pos < text_.size()) {
      const size_t n = std::min(text_.size() - pos, detail::utf8_len(static_cast<unsigned char>(text_[pos])));
      const int idx = static_cast<int>(symbols_.size());
      symbols_.push_back(Symbol{idx - 1, pos + n < text_.size() ? idx + 1 : -1, pos, n});
      pos += n;
    }
    for (int i = 1; i < static_cast<int>(symbols_.size()); ++i) try_add_bigram(i - 1, i);
    while (!queue_.empty()) {
      const Bigram b = queue_.top();
      queue_.pop();
      Symbol& left = symbols_[b.left];
      Symbol& right = symbols_[b.right];
      if (left.n == 0 || right.n == 0 || left.n + right.n != b.size) continue;  // stale entry
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols_[right.next].prev = b.left;
      try_add_bigram(left.prev, b.left);
      try_add_bigram(b.left, left.next);
    }
    for (int i = symbols_.empty() ? -1 : 0; i != -1; i = symbols_[i].next) emit(symbols_[i], out);
  }

 private:
  std::string_view text_of(const Symbol& s) const { return std::string_view(text_).substr(s.start, s.n); }

  void try_add_bigram(int left, int right) {
    if (left < 0 || right < 0) return;
    const auto& l = symbols_[left];
    const auto& r = symbols_[right];
    const TokenId id = t_.find(std::string_view(text_).substr(l.start, l.n + r.n));
    if (id == kNoToken) return;
    queue_.push(Bigram{left, right, t_.vocab.scores[static_cast<size_t>(id)], l.n + r.n});
  }

  // Merged symbols are always tokens; only single characters can be missing.
  void emit(const Symbol& s, std::vector<TokenId>& out) const {
    if (s.n == 0) return;
    const std::string_view piece = text_of(s);
    const TokenId id = t_.find(piece);
    if (id != kNoToken) {
      out.push_back(id);
      return;
    }
    for (unsigned char byte : piece) {
      const TokenId b = t_.byte_ids[byte];
      if (b != kNoToken)
        out.push_back(b);
      else if (t_.vocab.unk != kNoToken)
        out.push_back(t_.vocab.unk);
    }
  }

  const Tokenizer::Impl& t_;
  std::string text_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Bigram, std::vector<Bigram>, LowerPriority> queue_;
};
}  // namespace

void spm_encode(const Tokenizer::Impl& t, std::string_view text, bool add_prefix, std::vector<TokenId>& out) {
  SpmSession(t, escape_whitespace(text, add_prefix)).run(out);
}

}  // namespace ig::tok
