// Tokenizers built from GGUF metadata (tokenizer.ggml.*), matching llama.cpp:
//  - "llama": SentencePiece-style BPE over scores, byte fallback <0xNN>, the
//    dummy-prefix space and spaces written as U+2581;
//  - "gpt2": byte-level BPE over ranked merges, after a pre-tokenizer regex
//    chosen by tokenizer.ggml.pre (gpt-2, llama3/llama-bpe, qwen2).
//
//   IG_TRY_ASSIGN(tok, ig::tok::Tokenizer::from_gguf(file));
//   IG_TRY_ASSIGN(ids, tok.encode("Once upon a time", /*add_bos=*/true));
//   std::string text = tok.decode(ids).value();
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"
#include "inference/gguf/gguf.hpp"

namespace ig::tok {

using TokenId = int32_t;
inline constexpr TokenId kNoToken = -1;

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

// Everything a tokenizer is built from; read_vocab fills it from a GGUF file.
struct Vocab {
  std::string model;                // "llama" or "gpt2"
  std::string pre = "default";      // pre-tokenizer name (gpt2 only)
  std::vector<std::string> tokens;
  std::vector<float> scores;        // empty or one per token
  std::vector<TokenType> types;     // one per token (Normal when absent)
  std::vector<std::string> merges;  // "left right", rank order (gpt2)
  TokenId bos = kNoToken, eos = kNoToken, unk = kNoToken, eot = kNoToken;
  bool add_bos = false;
  bool add_eos = false;
  bool add_space_prefix = true;     // llama only
  // Applied to text outside special tokens before pre-tokenizing: "" (none) or "nfc" (what
  // Qwen2's Hugging Face tokenizer does; llama.cpp does not). From kNormalizerKey.
  std::string normalizer;
};
// GGUF key of Vocab::normalizer. Our own (llama.cpp ignores it): vocab-from-hf writes it when
// tokenizer.json normalizes, so such a vocabulary tokenizes as Hugging Face does.
inline constexpr const char* kNormalizerKey = "tokenizer.infergrid.normalizer";
Expected<Vocab> read_vocab(const gguf::File& f);

// Immutable once built and safe to share across threads. A default-constructed
// Tokenizer is empty: its calls return "tokenizer.empty" errors.
class Tokenizer {
 public:
  static Expected<Tokenizer> from_gguf(const gguf::File& f);
  static Expected<Tokenizer> from_vocab(Vocab v);

  // Text to ids. add_bos/add_eos apply only when the vocab defines those tokens.
  // parse_special: text equal to a control/user-defined token's text becomes that token.
  Expected<std::vector<TokenId>> encode(std::string_view text, bool add_bos, bool parse_special = false) const;
  // Encodes with the vocab's own add_bos_token / add_eos_token defaults.
  Expected<std::vector<TokenId>> encode_default(std::string_view text) const;
  // Ids to text: pieces concatenated (control tokens render as nothing unless
  // `special`). SPM keeps the dummy-prefix space: "Hi" round-trips to " Hi".
  Expected<std::string> decode(std::span<const TokenId> ids, bool special = false) const;
  Expected<std::string> token_to_piece(TokenId id, bool special = false) const;
  // The token's raw vocabulary text (e.g. "▁t", "Ġthe", "<0x0A>").
  Expected<std::string> token_text(TokenId id) const;

  size_t vocab_size() const;
  const Vocab& vocab() const;
  TokenId bos() const { return vocab().bos; }
  TokenId eos() const { return vocab().eos; }
  bool is_end_of_generation(TokenId id) const;  // eos or eot

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

// Streams decoded pieces without splitting a UTF-8 character across pushes
// (byte-fallback tokens deliver multi-byte characters one byte at a time).
class Utf8Stream {
 public:
  std::string push(std::string_view piece);  // the text that is complete so far
  std::string flush();                        // whatever is held back, as is

 private:
  std::string pending_;
};

// Pre-tokenizer regexes by tokenizer.ggml.pre name (exposed for tests).
// Splits `text` into words; unmatched gaps become words of their own.
Expected<std::vector<std::string>> pre_tokenize(std::string_view pre, std::string_view text);

// GPT-2's reversible byte <-> printable-codepoint mapping, as UTF-8 strings.
const std::string& byte_to_unicode(uint8_t b);

}  // namespace ig::tok
