// Synthetic vocabularies: byte coverage first (so any text encodes), then
// prefix chains of common English words (so ordinary text gets multi-character
// tokens), then concatenations of earlier pieces until the size is reached.
#include "inference/gguf/synthetic_vocab.hpp"

#include <string>
#include <unordered_set>
#include <vector>

#include "inference/tokenizer/tokenizer.hpp"

namespace ig::gguf {

namespace {
constexpr const char* kWords[] = {
    "the", "and", "once", "upon", "time", "there", "was", "little", "girl", "boy", "named", "she", "he",
    "they", "loved", "play", "outside", "park", "day", "saw", "big", "red", "ball", "wanted", "with",
    "but", "too", "high", "mom", "said", "let", "go", "sad", "know", "what", "to", "do", "want", "your",
    "can", "find", "sorry", "help", "worry", "we", "you", "it", "in", "on", "of", "for", "is", "that",
    "this", "a", "an", "were", "had", "have", "be", "are", "not", "all", "from", "one", "up", "out",
    "so", "very", "happy", "friend", "friends", "tree", "dog", "cat", "bird", "sun", "home", "hello",
    "world", "model", "token", "chain", "block", "miner", "task", "proof", "hash", "node"};

constexpr const char* kSpmSpace = "\xe2\x96\x81";

// Builds pieces in order without duplicates; `merges` records how BPE pieces were formed.
class PieceList {
 public:
  explicit PieceList(size_t limit) : limit_(limit) {}

  bool full() const { return pieces_.size() >= limit_; }
  bool has(const std::string& p) const { return seen_.count(p) != 0; }
  const std::vector<std::string>& pieces() const { return pieces_; }
  const std::vector<std::string>& merges() const { return merges_; }

  void add(const std::string& p) {
    if (!full() && seen_.insert(p).second) pieces_.push_back(p);
  }
  void add_merge(const std::string& left, const std::string& right) {
    const std::string joined = left + right;
    if (full() || has(joined)) return;
    add(joined);
    merges_.push_back(left + " " + right);
  }

  // Concatenations of earlier pieces, in a fixed order, until the list is full.
  void fill_with_pairs(size_t first, bool record_merges) {
    for (size_t i = first; !full() && i < pieces_.size(); ++i) {
      const size_t width = std::min<size_t>(pieces_.size(), 512);
      for (size_t j = first; !full() && j < width; ++j) {
        const std::string left = pieces_[i];
        const std::string right = pieces_[j];
        if (record_merges)
          add_merge(left, right);
        else
          add(left + right);
      }
    }
  }

 private:
  size_t limit_;
  std::vector<std::string> pieces_;
  std::vector<std::string> merges_;
  std::unordered_set<std::string> seen_;
};

Value string_array(const std::vector<std::string>& items) {
  std::vector<Value> vals;
  vals.reserve(items.size());
  for (const auto& s : items) vals.push_back(Value::of_string(s));
  return Value::of_array(ValueType::STRING, std::move(vals));
}

Value int_array(const std::vector<int32_t>& items) {
  std::vector<Value> vals;
  vals.reserve(items.size());
  for (int32_t v : items) vals.push_back(Value::of_i32(v));
  return Value::of_array(ValueType::I32, std::move(vals));
}

void add_spm(Writer& w, uint32_t n_vocab) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.push_back(buf);
    types.push_back(6);
  }
  PieceList pl(n_vocab - tokens.size());
  pl.add(kSpmSpace);
  for (char c = 0x21; c < 0x7f; ++c) pl.add(std::string(1, c));
  for (const char* word : kWords) {
    std::string piece = kSpmSpace;
    for (const char* c = word; *c; ++c) pl.add(piece += *c);
  }
  pl.fill_with_pairs(1, false);
  std::vector<Value> scores(tokens.size(), Value::of_f32(0.0f));
  for (size_t k = 0; k < pl.pieces().size(); ++k) {
    tokens.push_back(pl.pieces()[k]);
    types.push_back(1);
    scores.push_back(Value::of_f32(-static_cast<float>(k)));
  }
  w.set("tokenizer.ggml.model", Value::of_string("llama"));
  w.set("tokenizer.ggml.pre", Value::of_string("default"));
  w.set("tokenizer.ggml.tokens", string_array(tokens));
  w.set("tokenizer.ggml.scores", Value::of_array(ValueType::F32, std::move(scores)));
  w.set("tokenizer.ggml.token_type", int_array(types));
  w.set("tokenizer.ggml.bos_token_id", Value::of_u32(1));
  w.set("tokenizer.ggml.eos_token_id", Value::of_u32(2));
  w.set("tokenizer.ggml.unknown_token_id", Value::of_u32(0));
  w.set("tokenizer.ggml.add_bos_token", Value::of_bool(true));
  w.set("tokenizer.ggml.add_eos_token", Value::of_bool(false));
}

void add_bpe(Writer& w, uint32_t n_vocab) {
  const std::vector<std::string> specials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  PieceList pl(n_vocab - specials.size());
  for (int b = 0; b < 256; ++b) pl.add(tok::byte_to_unicode(static_cast<uint8_t>(b)));
  const std::string space = tok::byte_to_unicode(' ');
  for (const char* word : kWords) {
    for (const std::string& start : {space, std::string()}) {
      std::string piece = start.empty() ? std::string(1, word[0]) : start + word[0];
      if (!start.empty()) pl.add_merge(start, std::string(1, word[0]));
      for (const char* c = word + 1; *c; ++c) {
        pl.add_merge(piece, std::string(1, *c));
        piece += *c;
      }
    }
  }
  pl.fill_with_pairs(0, true);
  std::vector<std::string> tokens = pl.pieces();
  std::vector<int32_t> types(tokens.size(), 1);
  for (const auto& s : specials) {
    tokens.push_back(s);
    types.push_back(3);
  }
  const auto eot = static_cast<uint32_t>(tokens.size() - specials.size());
  w.set("tokenizer.ggml.model", Value::of_string("gpt2"));
  w.set("tokenizer.ggml.pre", Value::of_string("qwen2"));
  w.set("tokenizer.ggml.tokens", string_array(tokens));
  w.set("tokenizer.ggml.token_type", int_array(types));
  w.set("tokenizer.ggml.merges", string_array(pl.merges()));
  w.set("tokenizer.ggml.bos_token_id", Value::of_u32(eot));
  w.set("tokenizer.ggml.eos_token_id", Value::of_u32(eot));
  w.set("tokenizer.ggml.padding_token_id", Value::of_u32(eot));
  w.set("tokenizer.ggml.add_bos_token", Value::of_bool(false));
}
}  // namespace

Status add_synthetic_vocab(Writer& w, VocabKind kind, uint32_t n_vocab) {
  const uint32_t minimum = kind == VocabKind::Spm ? kMinSpmVocab : kMinBpeVocab;
  if (n_vocab < minimum)
    return fail("gguf.bad_vocab_size", "vocabulary of " + std::to_string(n_vocab) + " tokens is below the minimum " +
                                           std::to_string(minimum));
  if (kind == VocabKind::Spm)
    add_spm(w, n_vocab);
  else
    add_bpe(w, n_vocab);
  return {};
}

}  // namespace ig::gguf
