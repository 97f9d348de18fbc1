// Byte-level BPE as llama.cpp runs it: each pre-tokenized word is mapped byte by
// byte to GPT-2's printable codepoints, then adjacent pairs are merged lowest
// rank first (leftmost on ties) until no ranked pair remains.
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
  int32_t rank;
  size_t size;
};

struct LowerPriority {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

class BpeWord {
 public:
  BpeWord(const Tokenizer::Impl& t, std::string mapped) : t_(t), text_(std::move(mapped)) {}

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
    key_.assign(text_of(l));
    key_ += ' ';
    key_ += text_of(r);
    auto it = t_.ranks.find(key_);
    if (it == t_.ranks.end()) return;
    queue_.push(Bigram{left, right, it->second, l.n + r.n});
  }

  // A merge result missing from the vocab falls back to its single characters.
  void emit(const Symbol& s, std::vector<TokenId>& out) const {
    if (s.n == 0) return;
    const std::string_view piece = text_of(s);
    if (const TokenId id = t_.find(piece); id != kNoToken) {
      out.push_back(id);
      return;
    }
    for (auto ch : detail::split_utf8(piece))
      if (const TokenId id = t_.find(ch); id != kNoToken) out.push_back(id);
  }

  const Tokenizer::Impl& t_;
  std::string text_;
  std::string key_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Bigram, std::vector<Bigram>, LowerPriority> queue_;
};

std::string map_bytes(std::string_view word) {
  std::string mapped;
  mapped.reserve(word.size() * 2);
  for (unsigned char c : word) mapped += byte_to_unicode(c);
  return mapped;
}
}  // namespace

Status bpe_encode(const Tokenizer::Impl& t, std::string_view text, std::vector<TokenId>& out) {
  IG_TRY_ASSIGN(words, pre_tokenize(t.vocab.pre, text));
  for (const auto& word : words) {
    std::string mapped = map_bytes(word);
    if (t.ignore_merges) {
      if (const TokenId id = t.find(mapped); id != kNoToken) {
        out.push_back(id);
        continue;
      }
    }
    BpeWord(t, std::move(mapped)).run(out);
  }
  return {};
}

}  // namespace ig::tok
