// Tokenizer construction, special-token partitioning, and decoding.
#include <algorithm>
#include <variant>

#include "inference/tokenizer/impl.hpp"
#include "inference/tokenizer/nfc.hpp"
#include "inference/tokenizer/unicode.hpp"

namespace ig::tok {

namespace {
const std::string kSpmSpace = "\xe2\x96\x81";  // U+2581, SentencePiece's space

std::string unescape_spm(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    if (text.compare(pos, kSpmSpace.size(), kSpmSpace) == 0) {
      out += ' ';
      pos += kSpmSpace.size();
    } else {
      out += text[pos++];
    }
  }
  return out;
}

// "<0xNN>" -> NN, or -1.
int parse_byte_token(const std::string& text) {
  if (text.size() != 6 || text.compare(0, 3, "<0x") != 0 || text[5] != '>') return -1;
  int v = 0;
  for (int k = 3; k < 5; ++k) {
    const char c = text[k];
    v *= 16;
    if (c >= '0' && c <= '9') v += c - '0';
    else if (c >= 'A' && c <= 'F') v += c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') v += c - 'a' + 10;
    else return -1;
  }
  return v;
}

std::string decode_byte_level(const std::string& text) {
  std::string out;
  for (auto ch : detail::split_utf8(text)) {
    const int b = detail::unicode_to_byte(ch);
    if (b >= 0) out += static_cast<char>(b);
    else out += ch;  // not a mapped byte: keep the character itself
  }
  return out;
}

std::string piece_of(const Vocab& v, size_t id, bool spm) {
  const std::string& text = v.tokens[id];
  switch (v.types[id]) {
    case TokenType::Control:
    case TokenType::Unused: return "";
    case TokenType::Unknown: return spm ? "\xe2\x96\x85" : text;
    case TokenType::UserDefined: return spm ? unescape_spm(text) : text;
    case TokenType::Byte: {
      const int b = parse_byte_token(text);
      if (b >= 0) return std::string(1, static_cast<char>(b));
      return spm ? unescape_spm(text) : decode_byte_level(text);
    }
    default: return spm ? unescape_spm(text) : decode_byte_level(text);
  }
}

Status check_ids(const Vocab& v) {
  const auto n = static_cast<TokenId>(v.tokens.size());
  for (TokenId id : {v.bos, v.eos, v.unk, v.eot})
    if (id != kNoToken && (id < 0 || id >= n))
      return fail("tokenizer.bad_id", "special token id " + std::to_string(id) + " is outside the vocabulary");
  return {};
}

// Text -> id map, decoded pieces, byte-fallback ids and the special-token list.
void index_tokens(Tokenizer::Impl& t) {
  const Vocab& vocab = t.vocab;
  t.ignore_merges = vocab.pre == "llama3" || vocab.pre == "llama-bpe" || vocab.pre == "llama-v3";
  t.byte_ids.fill(kNoToken);
  t.ids.reserve(vocab.tokens.size());
  t.pieces.reserve(vocab.tokens.size());
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    t.ids[vocab.tokens[id]] = static_cast<TokenId>(id);  // a repeated text maps to its last id, as in llama.cpp
    t.pieces.push_back(piece_of(vocab, id, t.spm));
    const TokenType ty = vocab.types[id];
    if (ty == TokenType::Byte) {
      const int b = parse_byte_token(vocab.tokens[id]);
      if (b >= 0) t.byte_ids[b] = static_cast<TokenId>(id);
    }
    if ((ty == TokenType::Control || ty == TokenType::UserDefined || ty == TokenType::Unknown) &&
        !vocab.tokens[id].empty())
      t.specials.push_back(static_cast<TokenId>(id));
  }
  std::stable_sort(t.specials.begin(), t.specials.end(), [&](TokenId a, TokenId b) {
    return vocab.tokens[a].size() > vocab.tokens[b].size();
  });
}

Status build_merges(Tokenizer::Impl& t) {
  t.ranks.reserve(t.vocab.merges.size());
  for (size_t r = 0; r < t.vocab.merges.size(); ++r) {
    const std::string& m = t.vocab.merges[r];
    const size_t sp = m.find(' ', 1);
    if (sp == std::string::npos || sp + 1 >= m.size())
      return fail("tokenizer.bad_vocab", "merge #" + std::to_string(r) + " '" + m + "' is not 'left right'");
    t.ranks.emplace(m, static_cast<int32_t>(r));  // first occurrence keeps the lowest rank
  }
  return {};
}
}  // namespace

Expected<Tokenizer> Tokenizer::from_gguf(const gguf::File& f) {
  IG_TRY_ASSIGN(v, read_vocab(f));
  return from_vocab(std::move(v));
}

Expected<Tokenizer> Tokenizer::from_vocab(Vocab v) {
  if (v.model != "llama" && v.model != "gpt2")
    return fail("tokenizer.unsupported", "tokenizer model '" + v.model + "' is not supported");
  if (v.tokens.empty()) return fail("tokenizer.bad_vocab", "empty vocabulary");
  if (v.types.empty()) v.types.assign(v.tokens.size(), TokenType::Normal);
  if (v.types.size() != v.tokens.size()) return fail("tokenizer.bad_vocab", "token_type size mismatch");
  auto impl = std::make_shared<Impl>();
  impl->spm = v.model == "llama";
  if (impl->spm && v.scores.empty()) v.scores.assign(v.tokens.size(), 0.0f);
  if (impl->spm && v.scores.size() != v.tokens.size()) return fail("tokenizer.bad_vocab", "scores size mismatch");
  IG_TRY(check_ids(v));
  if (!v.normalizer.empty() && v.normalizer != "nfc")
    return fail("tokenizer.unsupported", "normalizer '" + v.normalizer + "' is not supported (nfc)");
  impl->nfc = v.normalizer == "nfc";
  if (!impl->spm) {
    IG_TRY_ASSIGN(probe, pre_tokenize(v.pre, ""));  // rejects unknown pre-tokenizers up front
    (void)probe;
  }
  impl->vocab = std::move(v);
  index_tokens(*impl);
  if (!impl->spm) IG_TRY(build_merges(*impl));
  Tokenizer t;
  t.impl_ = std::move(impl);
  return t;
}

namespace {
using Fragment = std::variant<std::string_view, TokenId>;

// Splits raw text around special-token texts, longest first (llama.cpp's rule:
// user-defined tokens always, control/unknown ones only when parse_special).
std::vector<Fragment> partition(const Tokenizer::Impl& t, std::string_view text, bool parse_special) {
  std::vector<Fragment> frags{text};
  for (TokenId id : t.specials) {
    if (!parse_special && t.type_of(id) != TokenType::UserDefined) continue;
    const std::string& sp = t.vocab.tokens[static_cast<size_t>(id)];
    std::vector<Fragment> next;
    for (const auto& f : frags) {
      const auto* raw = std::get_if<std::string_view>(&f);
      if (raw == nullptr) {
        next.push_back(f);
        continue;
      }
      std::string_view rest = *raw;
      for (size_t hit; (hit = rest.find(sp)) != std::string_view::npos;) {
        if (hit > 0) next.emplace_back(rest.substr(0, hit));
        next.emplace_back(id);
        rest = rest.substr(hit + sp.size());
      }
      if (!rest.empty()) next.emplace_back(rest);
    }
    frags = std::move(next);
  }
  return frags;
}

Unexpected empty_tokenizer() { return fail("tokenizer.empty", "tokenizer was not built (use from_gguf or from_vocab)"); }
}  // namespace

Expected<std::vector<TokenId>> Tokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  if (!impl_) return empty_tokenizer();
  const Impl& t = *impl_;
  std::vector<TokenId> out;
  if (add_bos && t.vocab.bos != kNoToken) out.push_back(t.vocab.bos);
  bool prev_special = true;  // SPM adds the dummy-prefix space at the start and after specials
  if (!text.empty()) {
    for (const auto& f : partition(t, text, parse_special)) {
      if (const auto* id = std::get_if<TokenId>(&f)) {
        out.push_back(*id);
        prev_special = true;
        continue;
      }
      std::string normalized;
      std::string_view raw = std::get<std::string_view>(f);
      if (t.nfc) {  // as Hugging Face does: special tokens are matched first, in the raw text
        normalized = detail::nfc(raw);
        raw = normalized;
      }
      if (t.spm) {
        spm_encode(t, raw, t.vocab.add_space_prefix && prev_special, out);
      } else {
        IG_TRY(bpe_encode(t, raw, out));
      }
      prev_special = false;
    }
  }
  return out;
}

Expected<std::vector<TokenId>> Tokenizer::encode_default(std::string_view text) const {
  if (!impl_) return empty_tokenizer();
  IG_TRY_ASSIGN(ids, encode(text, impl_->vocab.add_bos));
  if (impl_->vocab.add_eos && impl_->vocab.eos != kNoToken) ids.push_back(impl_->vocab.eos);
  return ids;
}

Expected<std::string> Tokenizer::token_to_piece(TokenId id, bool special) const {
  if (!impl_) return empty_tokenizer();
  if (id < 0 || static_cast<size_t>(id) >= impl_->vocab.tokens.size())
    return fail("tokenizer.bad_id", "token id " + std::to_string(id) + " is outside the vocabulary");
  if (special && impl_->type_of(id) == TokenType::Control) return impl_->vocab.tokens[static_cast<size_t>(id)];
  return impl_->pieces[static_cast<size_t>(id)];
}

Expected<std::string> Tokenizer::decode(std::span<const TokenId> ids, bool special) const {
  std::string out;
  for (TokenId id : ids) {
    IG_TRY_ASSIGN(piece, token_to_piece(id, special));
    out += piece;
  }
  return out;
}

Expected<std::string> Tokenizer::token_text(TokenId id) const {
  if (!impl_) return empty_tokenizer();
  if (id < 0 || static_cast<size_t>(id) >= impl_->vocab.tokens.size())
    return fail("tokenizer.bad_id", "token id " + std::to_string(id) + " is outside the vocabulary");
  return impl_->vocab.tokens[static_cast<size_t>(id)];
}

size_t Tokenizer::vocab_size() const { return vocab().tokens.size(); }

const Vocab& Tokenizer::vocab() const {
  static const Vocab kEmpty;
  return impl_ ? impl_->vocab : kEmpty;
}

bool Tokenizer::is_end_of_generation(TokenId id) const {
  return id != kNoToken && (id == vocab().eos || id == vocab().eot);
}

}  // namespace ig::tok
