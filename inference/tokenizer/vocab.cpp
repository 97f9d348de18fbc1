// Reads tokenizer.ggml.* metadata into a Vocab, checking sizes and ids.
#include "inference/tokenizer/tokenizer.hpp"

namespace ig::tok {

namespace {
// Optional special-token id: absent or the 0xFFFFFFFF / -1 "none" marker gives kNoToken.
Expected<TokenId> special_id(const gguf::File& f, const std::string& key, TokenId fallback, size_t n_tokens) {
  const gguf::Value* v = f.find(key);
  if (v == nullptr) return fallback;
  IG_TRY_ASSIGN(id, v->to_int());
  if (id == -1 || id == 0xFFFFFFFFLL) return kNoToken;
  if (id < 0 || static_cast<uint64_t>(id) >= n_tokens)
    return fail("tokenizer.bad_id", key + " = " + std::to_string(id) + " is outside the " +
                                        std::to_string(n_tokens) + "-token vocabulary");
  return static_cast<TokenId>(id);
}

Expected<std::vector<TokenType>> token_types(const gguf::File& f, size_t n_tokens) {
  std::vector<TokenType> types(n_tokens, TokenType::Normal);
  if (!f.has("tokenizer.ggml.token_type")) return types;
  IG_TRY_ASSIGN(raw, f.get_int_array("tokenizer.ggml.token_type"));
  if (raw.size() != n_tokens)
    return fail("tokenizer.bad_vocab", "token_type has " + std::to_string(raw.size()) + " entries for " +
                                           std::to_string(n_tokens) + " tokens");
  for (size_t k = 0; k < n_tokens; ++k) {
    if (raw[k] < 0 || raw[k] > 6)
      return fail("tokenizer.bad_vocab", "token " + std::to_string(k) + " has unknown type " +
                                             std::to_string(raw[k]));
    types[k] = static_cast<TokenType>(raw[k]);
  }
  return types;
}
}  // namespace

Expected<Vocab> read_vocab(const gguf::File& f) {
  Vocab v;
  IG_TRY_ASSIGN(model, f.get_string("tokenizer.ggml.model"));
  if (model != "llama" && model != "gpt2")
    return fail("tokenizer.unsupported", "tokenizer model '" + model + "' is not supported (llama, gpt2)");
  v.model = model;
  IG_TRY_ASSIGN(tokens, f.get_string_array("tokenizer.ggml.tokens"));
  if (tokens.empty() || tokens.size() > 0x7fffffffu)
    return fail("tokenizer.bad_vocab", "tokenizer.ggml.tokens is empty or too large");
  v.tokens = std::move(tokens);
  const size_t n = v.tokens.size();
  if (f.has("tokenizer.ggml.scores")) {
    IG_TRY_ASSIGN(scores, f.get_float_array("tokenizer.ggml.scores"));
    if (scores.size() != n)
      return fail("tokenizer.bad_vocab", "scores has " + std::to_string(scores.size()) + " entries for " +
                                             std::to_string(n) + " tokens");
    v.scores = std::move(scores);
  }
  IG_TRY_ASSIGN(types, token_types(f, n));
  v.types = std::move(types);
  if (f.has("tokenizer.ggml.pre")) {
    IG_TRY_ASSIGN(pre, f.get_string("tokenizer.ggml.pre"));
    v.pre = pre;
  }
  const bool spm = model == "llama";
  if (spm) {
    if (v.scores.empty()) v.scores.assign(n, 0.0f);
  } else {
    IG_TRY_ASSIGN(merges, f.get_string_array("tokenizer.ggml.merges"));
    v.merges = std::move(merges);
  }
  IG_TRY_ASSIGN(bos, special_id(f, "tokenizer.ggml.bos_token_id", spm && n > 1 ? 1 : kNoToken, n));
  IG_TRY_ASSIGN(eos, special_id(f, "tokenizer.ggml.eos_token_id", spm && n > 2 ? 2 : kNoToken, n));
  IG_TRY_ASSIGN(unk, special_id(f, "tokenizer.ggml.unknown_token_id", spm ? 0 : kNoToken, n));
  IG_TRY_ASSIGN(eot, special_id(f, "tokenizer.ggml.eot_token_id", kNoToken, n));
  v.bos = bos;
  v.eos = eos;
  v.unk = unk;
  v.eot = eot;
  const bool bos_default = spm || v.pre == "llama3" || v.pre == "llama-bpe";
  IG_TRY_ASSIGN(add_bos, f.get_bool_or("tokenizer.ggml.add_bos_token", bos_default));
  IG_TRY_ASSIGN(add_eos, f.get_bool_or("tokenizer.ggml.add_eos_token", false));
  IG_TRY_ASSIGN(add_prefix, f.get_bool_or("tokenizer.ggml.add_space_prefix", spm));
  v.add_bos = add_bos;
  v.add_eos = add_eos;
  v.add_space_prefix = add_prefix;
  if (f.has(kNormalizerKey)) {
    IG_TRY_ASSIGN(norm, f.get_string(kNormalizerKey));
    v.normalizer = norm;  // from_vocab refuses names it does not know
  }
  return v;
}

}  // namespace ig::tok
