// A doubly linked list of symbols plus a priority queue of candidate pairs;
// entries made stale by earlier merges are recognised by their size and skipped.
#include "inference/tokenizer/merge.hpp"

#include <queue>

#include "inference/tokenizer/unicode.hpp"

namespace ig::tok::detail {

namespace {
struct Symbol {
  int prev;
  int next;
  size_t start;
  size_t n;
};

struct Pair {
  int left;
  int right;
  float priority;
  size_t size;
};

struct MergesLater {
  bool operator()(const Pair& a, const Pair& b) const {
    return a.priority < b.priority || (a.priority == b.priority && a.left > b.left);
  }
};

class Merger {
 public:
  Merger(std::string_view text, const MergePriority& priority) : text_(text), priority_(priority) {
    for (size_t pos = 0; pos < text_.size();) {
      const size_t n = utf8_char_len(text_, pos);
      const int idx = static_cast<int>(symbols_.size());
      symbols_.push_back(Symbol{idx - 1, pos + n < text_.size() ? idx + 1 : -1, pos, n});
      pos += n;
    }
  }

  std::vector<std::string_view> run() {
    for (int i = 1; i < static_cast<int>(symbols_.size()); ++i) consider(i - 1, i);
    while (!queue_.empty()) {
      const Pair p = queue_.top();
      queue_.pop();
      Symbol& left = symbols_[p.left];
      Symbol& right = symbols_[p.right];
      if (left.n == 0 || right.n == 0 || left.n + right.n != p.size) continue;  // stale
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols_[right.next].prev = p.left;
      consider(left.prev, p.left);
      consider(p.left, left.next);
    }
    std::vector<std::string_view> out;
    for (int i = symbols_.empty() ? -1 : 0; i != -1; i = symbols_[i].next) out.push_back(view(symbols_[i]));
    return out;
  }

 private:
  std::string_view view(const Symbol& s) const { return text_.substr(s.start, s.n); }

  void consider(int left, int right) {
    if (left < 0 || right < 0) return;
    const auto& l = symbols_[left];
    const auto& r = symbols_[right];
    if (auto pr = priority_(view(l), view(r))) queue_.push(Pair{left, right, *pr, l.n + r.n});
  }

  std::string_view text_;
  const MergePriority& priority_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Pair, std::vector<Pair>, MergesLater> queue_;
};
}  // namespace

std::vector<std::string_view> merge_symbols(std::string_view text, const MergePriority& priority) {
  return Merger(text, priority).run();
}

}  // namespace ig::tok::detail
