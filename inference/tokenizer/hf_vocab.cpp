// tokenizer.json -> Vocab (see hf_vocab.hpp). Every access checks the JSON type first and the
// only exception caught is the parser's syntax error, so a malformed file is an error value that
// names the setting, never a throw or a crash.
#include "inference/tokenizer/hf_vocab.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

namespace ig::tok {

namespace {
using json = nlohmann::json;

// The Split regexes of the pre-tokenizers we implement, exactly as tokenizer.json spells them.
struct KnownPre {
  const char* name;
  const char* arch;
  const char* regex;
  bool ignore_merges;  // what model.ignore_merges must be for our tokenizer to match
};
constexpr std::array kKnownPre{
    KnownPre{"llama3", "llama",
             R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
             true},
    KnownPre{"qwen2", "qwen2",
             R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
             false},
    KnownPre{"gpt-2", "gpt2", R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)", false},
};
// Far above any real vocabulary (the largest have a few hundred thousand tokens); ids and merge
// counts past these are refused before anything is allocated for them.
constexpr uint64_t kMaxTokens = 1u << 24;
constexpr size_t kMaxMerges = 1u << 24;

const KnownPre* known_pre(std::string_view name) {
  for (const auto& k : kKnownPre)
    if (name == k.name) return &k;
  if (name == "llama-bpe" || name == "llama-v3") return &kKnownPre[0];
  return nullptr;
}

Unexpected bad(const std::string& what) { return fail("hf.unsupported", what); }
Unexpected malformed(const std::string& what) { return fail("hf.bad_file", what); }

// A token text for an error message: a hostile file's megabyte-long "token" is cut short (at a
// character boundary) so the message stays readable.
std::string shown(std::string_view text) {
  constexpr size_t kMax = 80;
  if (text.size() <= kMax) return std::string(text);
  size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "... (" + std::to_string(text.size()) + " bytes)";
}

const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

// Typed optional members: absent or null gives the fallback; any other type is an error that
// names the setting (`where` is its path, e.g. "model.byte_fallback").
Expected<std::optional<std::string>> opt_string(const json& j, const char* key, const std::string& where) {
  const json* v = member(j, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return malformed(where + " must be a string, not " + v->type_name());
  return std::optional<std::string>(v->get<std::string>());
}

Expected<bool> opt_bool(const json& j, const char* key, bool fallback, const std::string& where) {
  const json* v = member(j, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) return malformed(where + " must be true or false, not " + v->type_name());
  return v->get<bool>();
}

// An object member that must be an object when present.
Expected<const json*> opt_object(const json& j, const char* key, const std::string& where) {
  const json* v = member(j, key);
  if (v != nullptr && !v->is_object())
    return malformed(where + " must be an object, not " + std::string(v->type_name()));
  return v;
}

// A ByteLevel pre-tokenizer step as our byte-level BPE runs it: no added prefix space.
Status check_byte_level(const json& step, bool want_regex, const std::string& where) {
  IG_TRY_ASSIGN(prefix, opt_bool(step, "add_prefix_space", false, where + ".add_prefix_space"));
  if (prefix) return bad("ByteLevel pre-tokenizer with add_prefix_space is not supported");
  IG_TRY_ASSIGN(use_regex, opt_bool(step, "use_regex", true, where + ".use_regex"));
  if (use_regex != want_regex)
    return bad(std::string("ByteLevel pre-tokenizer with use_regex ") + (want_regex ? "false" : "true") +
               " in this position is not supported");
  return {};
}

// The pre-tokenizer name for tokenizer.json's pre_tokenizer section.
Expected<const KnownPre*> recognise_pre(const json& pre) {
  if (!pre.is_object()) return malformed("pre_tokenizer must be an object");
  IG_TRY_ASSIGN(type, opt_string(pre, "type", "pre_tokenizer.type"));
  if (type == "ByteLevel") {  // GPT-2: the ByteLevel step splits with GPT-2's own regex
    IG_TRY(check_byte_level(pre, true, "pre_tokenizer"));
    return &kKnownPre[2];
  }
  const json* steps = member(pre, "pretokenizers");
  if (type != "Sequence" || steps == nullptr || !steps->is_array() || steps->size() != 2)
    return bad("pre_tokenizer must be ByteLevel or Sequence[Split, ByteLevel] (use --pre to force one)");
  const json& split = (*steps)[0];
  const json& byte_level = (*steps)[1];
  if (!split.is_object() || !byte_level.is_object())
    return malformed("pre_tokenizer.pretokenizers must hold objects");
  IG_TRY_ASSIGN(split_type, opt_string(split, "type", "pre_tokenizer.pretokenizers[0].type"));
  IG_TRY_ASSIGN(bl_type, opt_string(byte_level, "type", "pre_tokenizer.pretokenizers[1].type"));
  if (split_type != "Split" || bl_type != "ByteLevel")
    return bad("pre_tokenizer must be Sequence[Split, ByteLevel] (use --pre to force one)");
  IG_TRY(check_byte_level(byte_level, false, "pre_tokenizer.pretokenizers[1]"));
  IG_TRY_ASSIGN(behavior, opt_string(split, "behavior", "pre_tokenizer.pretokenizers[0].behavior"));
  IG_TRY_ASSIGN(invert, opt_bool(split, "invert", false, "pre_tokenizer.pretokenizers[0].invert"));
  if (behavior != "Isolated" || invert) return bad("Split pre-tokenizer must isolate matches and not invert");
  IG_TRY_ASSIGN(pattern, opt_object(split, "pattern", "pre_tokenizer.pretokenizers[0].pattern"));
  if (pattern == nullptr) return bad("Split pre-tokenizer has no Regex pattern");
  IG_TRY_ASSIGN(regex, opt_string(*pattern, "Regex", "pre_tokenizer.pretokenizers[0].pattern.Regex"));
  if (!regex) return bad("Split pre-tokenizer has no Regex pattern");
  for (const auto& k : kKnownPre)
    if (*regex == k.regex) return &k;
  return bad("the Split regex is not one of llama3, qwen2, gpt-2 (use --pre to force one): " + shown(*regex));
}

// tokenizer_config.json's special-token entries: "text", {"content": "text", ...} or null.
Expected<std::optional<std::string>> config_token(const json& config, const char* key) {
  const json* v = member(config, key);
  if (v == nullptr) return std::optional<std::string>();
  if (v->is_string()) return std::optional<std::string>(v->get<std::string>());
  if (!v->is_object())
    return malformed(std::string("tokenizer_config.json: ") + key + " must be a string or an object, not " +
                     v->type_name());
  return opt_string(*v, "content", std::string("tokenizer_config.json: ") + key + ".content");
}

// llama.cpp's convert_hf_to_gguf.py does_token_look_special.
bool looks_special(const std::string& t) {
  auto wrapped = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.starts_with(open) && t.ends_with(close);
  };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
         wrapped("<\xef\xbd\x9c", "\xef\xbd\x9c>") || wrapped("<unused", ">");
}

struct Template {
  std::optional<std::string> first_special, last_special;
};

// The single-sequence template of a TemplateProcessing post-processor (possibly inside a
// Sequence). Only a hint for add_bos/add_eos, so shapes it does not know are passed over.
std::optional<Template> post_template(const json& post, int depth = 0) {
  const json* type = member(post, "type");
  if (type == nullptr || !type->is_string() || depth > 8) return std::nullopt;
  if (*type == "Sequence") {
    const json* procs = member(post, "processors");
    if (procs == nullptr || !procs->is_array()) return std::nullopt;
    for (const auto& p : *procs)
      if (auto t = post_template(p, depth + 1)) return t;
    return std::nullopt;
  }
  const json* single = member(post, "single");
  if (*type != "TemplateProcessing" || single == nullptr || !single->is_array() || single->empty()) return std::nullopt;
  auto special_of = [](const json& piece) -> std::optional<std::string> {
    const json* sp = member(piece, "SpecialToken");
    const json* id = sp ? member(*sp, "id") : nullptr;
    return id && id->is_string() ? std::optional<std::string>(id->get<std::string>()) : std::nullopt;
  };
  return Template{special_of(single->front()), special_of(single->back())};
}

// A token id from JSON: a non-negative integer below kMaxTokens.
Expected<size_t> token_id(const json& v, const std::string& what) {
  if (!v.is_number_integer())
    return malformed(what + " has an id that is not an integer (" + (v.is_number() ? v.dump() : v.type_name()) +
                     ")");
  if (v.is_number_integer() && !v.is_number_unsigned())
    return malformed(what + " has a negative id (" + v.dump() + ")");
  if (v.get<uint64_t>() >= kMaxTokens)
    return malformed(what + " has id " + v.dump() + ", out of range (at most " + std::to_string(kMaxTokens - 1) +
                     ")");
  return static_cast<size_t>(v.get<uint64_t>());
}

// Tokens by id from model.vocab and added_tokens; `model_ids` gets model.vocab's text -> id,
// what merges are checked against.
Status read_tokens(const json& root, const json& model, Vocab& v, std::unordered_map<std::string, size_t>& model_ids) {
  const json* vocab = member(model, "vocab");
  if (vocab == nullptr) return malformed("model.vocab is missing");
  if (!vocab->is_object())
    return malformed(std::string("model.vocab must be an object of token: id, not ") + vocab->type_name());
  std::map<size_t, std::pair<std::string, TokenType>> by_id;
  model_ids.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    IG_TRY_ASSIGN(id, token_id(it.value(), "token '" + shown(it.key()) + "'"));
    auto [slot, fresh] = by_id.try_emplace(id, it.key(), TokenType::Normal);
    if (!fresh)
      return malformed("model.vocab gives id " + std::to_string(id) + " to both '" + shown(slot->second.first) +
                       "' and '" + shown(it.key()) + "'");
    model_ids.emplace(it.key(), id);
  }
  if (const json* added = member(root, "added_tokens")) {
    if (!added->is_array()) return malformed(std::string("added_tokens must be an array, not ") + added->type_name());
    for (size_t k = 0; k < added->size(); ++k) {
      const json& a = (*added)[k];
      const std::string where = "added_tokens[" + std::to_string(k) + "]";
      if (!a.is_object()) return malformed(where + " must be an object");
      IG_TRY_ASSIGN(content, opt_string(a, "content", where + ".content"));
      if (!content || content->empty()) return malformed(where + " has no content");
      const json* id_value = member(a, "id");
      if (id_value == nullptr) return malformed(where + " '" + shown(*content) + "' has no id");
      IG_TRY_ASSIGN(id, token_id(*id_value, where + " '" + shown(*content) + "'"));
      IG_TRY_ASSIGN(lstrip, opt_bool(a, "lstrip", false, where + ".lstrip"));
      IG_TRY_ASSIGN(rstrip, opt_bool(a, "rstrip", false, where + ".rstrip"));
      IG_TRY_ASSIGN(single_word, opt_bool(a, "single_word", false, where + ".single_word"));
      IG_TRY_ASSIGN(special, opt_bool(a, "special", false, where + ".special"));
      if (lstrip || rstrip || single_word)
        return bad("added token '" + shown(*content) + "' strips spaces or matches single words only");
      const TokenType type = special || looks_special(*content) ? TokenType::Control : TokenType::UserDefined;
      auto [slot, fresh] = by_id.try_emplace(id, *content, type);
      if (!fresh && slot->second.first != *content)  // the same text again (GPT-2's <|endoftext|>) is fine
        return malformed(where + " '" + shown(*content) + "' takes id " + std::to_string(id) + ", which is '" +
                         shown(slot->second.first) + "'");
      slot->second.second = type;
    }
  }
  if (by_id.empty()) return malformed("the vocabulary is empty");
  const size_t n = by_id.rbegin()->first + 1;
  // Ids without a token become unused placeholders; more holes than tokens is a broken file,
  // not a vocabulary, and would only make us allocate for nothing.
  if (n - by_id.size() > by_id.size())
    return malformed("ids go up to " + std::to_string(n - 1) + " but there are only " + std::to_string(by_id.size()) +
                     " tokens");
  std::unordered_map<std::string_view, size_t> seen;
  seen.reserve(by_id.size());
  for (const auto& [id, entry] : by_id)
    if (auto [it, fresh] = seen.emplace(entry.first, id); !fresh)
      return malformed("token '" + shown(entry.first) + "' has two ids, " + std::to_string(it->second) + " and " +
                       std::to_string(id));
  v.tokens.resize(n);
  v.types.assign(n, TokenType::Unused);
  for (size_t id = 0; id < n; ++id) v.tokens[id] = "[PAD" + std::to_string(id) + "]";
  for (auto& [id, entry] : by_id) {
    v.tokens[id] = std::move(entry.first);
    v.types[id] = entry.second;
  }
  return {};
}

// Merges in rank order, each of two model tokens whose concatenation is a model token too (as
// Hugging Face's tokenizers library requires), none twice: a repeated pair would get its first
// rank here and in llama.cpp but its last in some other implementations.
Status read_merges(const json& model, const std::unordered_map<std::string, size_t>& model_ids, Vocab& v) {
  const json* merges = member(model, "merges");
  if (merges == nullptr) return bad("model.merges is missing");
  if (!merges->is_array()) return malformed(std::string("model.merges must be an array, not ") + merges->type_name());
  if (merges->size() > kMaxMerges)
    return malformed("model.merges has " + std::to_string(merges->size()) + " entries (at most " +
                     std::to_string(kMaxMerges) + ")");
  v.merges.reserve(merges->size());
  std::unordered_map<std::string, size_t> rank_of;
  rank_of.reserve(merges->size());
  for (size_t rank = 0; rank < merges->size(); ++rank) {
    const json& m = (*merges)[rank];
    const std::string where = "merge #" + std::to_string(rank);
    std::string left, right;
    if (m.is_string()) {  // "left right"
      const std::string s = m.get<std::string>();
      const size_t sp = s.find(' ', 1);
      if (sp == std::string::npos || sp + 1 >= s.size() || s.find(' ', sp + 1) != std::string::npos)
        return malformed(where + " '" + shown(s) + "' is not 'left right'");
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // ["left", "right"]
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
      if (left.empty() || right.empty() || left.find(' ') != std::string::npos || right.find(' ') != std::string::npos)
        return malformed(where + " ['" + shown(left) + "', '" + shown(right) + "'] cannot be written as 'left right'");
    } else {
      return malformed(where + " is neither \"left right\" nor [\"left\", \"right\"]");
    }
    for (const std::string& text : {left, right, left + right}) {
      if (!model_ids.contains(text))
        return malformed(where + " '" + shown(left + " " + right) + "': '" + shown(text) + "' is not in model.vocab");
    }
    std::string joined = left + " " + right;
    if (auto [it, fresh] = rank_of.emplace(joined, rank); !fresh)
      return malformed(where + " '" + shown(joined) + "' repeats merge #" + std::to_string(it->second));
    v.merges.push_back(std::move(joined));
  }
  return {};
}

Status check_model(const json& model) {
  if (!model.is_object()) return malformed(std::string("model must be an object, not ") + model.type_name());
  IG_TRY_ASSIGN(type, opt_string(model, "type", "model.type"));
  if (type.value_or("BPE") != "BPE") return bad("model type '" + shown(*type) + "' is not supported (BPE)");
  if (!type && member(model, "merges") == nullptr) return bad("only BPE models are supported");
  IG_TRY_ASSIGN(byte_fallback, opt_bool(model, "byte_fallback", false, "model.byte_fallback"));
  if (byte_fallback) return bad("BPE with byte_fallback (SentencePiece-style) is not supported");
  if (const json* d = member(model, "dropout"); d && !(d->is_number() && d->get<double>() == 0.0))
    return bad("BPE dropout is not supported");
  IG_TRY_ASSIGN(prefix, opt_string(model, "continuing_subword_prefix", "model.continuing_subword_prefix"));
  IG_TRY_ASSIGN(suffix, opt_string(model, "end_of_word_suffix", "model.end_of_word_suffix"));
  if (prefix.value_or("") != "" || suffix.value_or("") != "") return bad("subword prefixes/suffixes are not supported");
  return {};
}

Expected<std::string> read_normalizer(const json& root) {
  const json* norm = member(root, "normalizer");
  if (norm == nullptr) return std::string();
  if (!norm->is_object()) return malformed(std::string("normalizer must be an object, not ") + norm->type_name());
  IG_TRY_ASSIGN(type, opt_string(*norm, "type", "normalizer.type"));
  if (type == "NFC") return std::string("nfc");
  if (type == "Sequence") {
    const json* list = member(*norm, "normalizers");
    if (list && list->is_array() && list->empty()) return std::string();
    if (list && list->is_array() && list->size() == 1 && (*list)[0].is_object()) {
      IG_TRY_ASSIGN(inner, opt_string((*list)[0], "type", "normalizer.normalizers[0].type"));
      if (inner == "NFC") return std::string("nfc");
    }
  }
  return bad("normalizer '" + shown(type.value_or("")) + "' is not supported (none or NFC)");
}

// The id of a token text, or an error naming the setting it came from.
Expected<TokenId> id_of(const Vocab& v, const std::string& text, const char* setting) {
  for (size_t id = v.tokens.size(); id-- > 0;)  // texts are unique (read_tokens checks)
    if (v.tokens[id] == text) return static_cast<TokenId>(id);
  return malformed(std::string(setting) + " '" + shown(text) + "' is not in the vocabulary");
}

// bos/eos/pad/unk/eot and add_bos/add_eos, each with a note on where it came from.
Status read_specials(const json& root, const json& config, const KnownPre& pre, HfConversion& c) {
  Vocab& v = c.vocab;
  const json* post = member(root, "post_processor");
  const auto tmpl = post ? post_template(*post) : std::nullopt;
  auto pick = [&](const char* key, std::optional<std::string> from_template, TokenId& out) -> Status {
    IG_TRY_ASSIGN(text, config_token(config, key));
    const char* source = "tokenizer_config.json";
    if (!text && from_template) {
      text = from_template;
      source = "the post-processor template";
    }
    if (!text) return {};
    IG_TRY_ASSIGN(id, id_of(v, *text, key));
    out = id;
    c.notes.push_back(std::string(key) + " = " + std::to_string(id) + " '" + shown(*text) + "' (from " + source + ")");
    return {};
  };
  IG_TRY(pick("bos_token", tmpl ? tmpl->first_special : std::nullopt, v.bos));
  IG_TRY(pick("eos_token", std::nullopt, v.eos));
  IG_TRY(pick("unk_token", std::nullopt, v.unk));
  IG_TRY(pick("pad_token", std::nullopt, c.pad));
  // llama.cpp finds the end-of-turn token by name; the first of these that is a control token.
  for (const char* name : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>"}) {
    auto id = id_of(v, name, "eot");
    if (id && v.types[static_cast<size_t>(*id)] == TokenType::Control) {
      v.eot = *id;
      c.notes.push_back("eot = " + std::to_string(*id) + " '" + name + "' (by name, as llama.cpp)");
      break;
    }
  }
  const json* add_bos = member(config, "add_bos_token");
  IG_TRY_ASSIGN(config_bos, opt_bool(config, "add_bos_token", false, "tokenizer_config.json: add_bos_token"));
  if (add_bos != nullptr) {
    v.add_bos = config_bos;
    c.notes.push_back(std::string("add_bos_token = ") + (v.add_bos ? "true" : "false") + " (from tokenizer_config.json)");
  } else if (tmpl) {
    v.add_bos = tmpl->first_special.has_value();
    c.notes.push_back(std::string("add_bos_token = ") + (v.add_bos ? "true" : "false") + " (from the post-processor template)");
  } else {
    v.add_bos = std::string_view(pre.name) == "llama3";
    c.notes.push_back(std::string("add_bos_token = ") + (v.add_bos ? "true" : "false") +
                      " (llama.cpp's default for pre-tokenizer " + pre.name + ": neither the config nor a template says)");
  }
  if (v.add_bos && v.bos == kNoToken) return malformed("add_bos_token is set but there is no bos_token");
  const json* add_eos = member(config, "add_eos_token");
  IG_TRY_ASSIGN(config_eos, opt_bool(config, "add_eos_token", false, "tokenizer_config.json: add_eos_token"));
  if (add_eos != nullptr) v.add_eos = config_eos;
  else if (tmpl) v.add_eos = tmpl->last_special.has_value() && tmpl->last_special != tmpl->first_special;
  if (v.add_eos && v.eos == kNoToken) return malformed("add_eos_token is set but there is no eos_token");
  return {};
}

// Parses one of the two files; a syntax error names the byte where it is.
Expected<json> parse_object(std::string_view text, const char* file) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return malformed(std::string(file) + " is not valid JSON: " + e.what());
  }
  if (!j.is_object()) return malformed(std::string(file) + " must hold a JSON object, not " + j.type_name());
  return j;
}
}  // namespace

Expected<HfConversion> vocab_from_hf(std::string_view tokenizer_json, std::string_view config_json,
                                     const HfOptions& options) {
  IG_TRY_ASSIGN(root, parse_object(tokenizer_json, "tokenizer.json"));
  json config = json::object();
  if (!config_json.empty()) {
    IG_TRY_ASSIGN(parsed, parse_object(config_json, "tokenizer_config.json"));
    config = std::move(parsed);
  }
  const json* model = member(root, "model");
  if (model == nullptr) return malformed("tokenizer.json has no model");
  IG_TRY(check_model(*model));

  HfConversion c;
  const KnownPre* pre = nullptr;
  if (!options.pre.empty()) {
    pre = known_pre(options.pre);
    if (pre == nullptr) return bad("unknown pre-tokenizer '" + options.pre + "' (llama3, qwen2, gpt-2)");
    c.notes.push_back(std::string("pre-tokenizer ") + pre->name + " (forced)");
  } else {
    const json* pt = member(root, "pre_tokenizer");
    if (pt == nullptr) return bad("tokenizer.json has no pre_tokenizer (use --pre to force one)");
    IG_TRY_ASSIGN(found, recognise_pre(*pt));
    pre = found;
    c.notes.push_back(std::string("pre-tokenizer ") + pre->name + " (recognised from its regex)");
  }
  // Llama 3 keeps whole words that are in the vocabulary; our tokenizer ties that to the
  // pre-tokenizer name, so a file that says otherwise would tokenize differently here.
  IG_TRY_ASSIGN(ignore_merges, opt_bool(*model, "ignore_merges", false, "model.ignore_merges"));
  if (ignore_merges != pre->ignore_merges)
    return bad(std::string("model.ignore_merges = ") + (pre->ignore_merges ? "false" : "true") +
               " with pre-tokenizer " + pre->name + " is not supported");

  Vocab& v = c.vocab;
  v.model = "gpt2";
  v.pre = pre->name;
  std::unordered_map<std::string, size_t> model_ids;
  IG_TRY(read_tokens(root, *model, v, model_ids));
  IG_TRY(read_merges(*model, model_ids, v));
  IG_TRY_ASSIGN(norm, read_normalizer(root));
  v.normalizer = norm;
  if (!norm.empty()) c.notes.push_back("normalizer " + norm + " (" + kNormalizerKey + ")");
  IG_TRY(read_specials(root, config, *pre, c));
  c.arch = pre->arch;
  c.name = pre->name;
  // The result must build: merges parse, ids are in range, the pre-tokenizer exists.
  IG_TRY_ASSIGN(check, Tokenizer::from_vocab(v));
  (void)check;
  return c;
}

void add_vocab_metadata(gguf::Writer& w, const Vocab& v, TokenId pad) {
  using gguf::Value;
  using gguf::ValueType;
  std::vector<Value> tokens, types, merges;
  tokens.reserve(v.tokens.size());
  for (const auto& t : v.tokens) tokens.push_back(Value::of_string(t));
  types.reserve(v.types.size());
  for (TokenType t : v.types) types.push_back(Value::of_i32(static_cast<int32_t>(t)));
  merges.reserve(v.merges.size());
  for (const auto& m : v.merges) merges.push_back(Value::of_string(m));
  w.set("tokenizer.ggml.model", Value::of_string(v.model));
  w.set("tokenizer.ggml.pre", Value::of_string(v.pre));
  w.set("tokenizer.ggml.tokens", Value::of_array(ValueType::STRING, std::move(tokens)));
  w.set("tokenizer.ggml.token_type", Value::of_array(ValueType::I32, std::move(types)));
  if (!v.scores.empty()) {
    std::vector<Value> scores;
    for (float s : v.scores) scores.push_back(Value::of_f32(s));
    w.set("tokenizer.ggml.scores", Value::of_array(ValueType::F32, std::move(scores)));
  }
  if (!v.merges.empty()) w.set("tokenizer.ggml.merges", Value::of_array(ValueType::STRING, std::move(merges)));
  auto id = [&](const char* key, TokenId t) {
    if (t != kNoToken) w.set(key, Value::of_u32(static_cast<uint32_t>(t)));
  };
  id("tokenizer.ggml.bos_token_id", v.bos);
  id("tokenizer.ggml.eos_token_id", v.eos);
  id("tokenizer.ggml.unknown_token_id", v.unk);
  id("tokenizer.ggml.eot_token_id", v.eot);
  id("tokenizer.ggml.padding_token_id", pad);
  w.set("tokenizer.ggml.add_bos_token", Value::of_bool(v.add_bos));
  w.set("tokenizer.ggml.add_eos_token", Value::of_bool(v.add_eos));
  if (!v.normalizer.empty()) w.set(kNormalizerKey, Value::of_string(v.normalizer));
}

Status write_vocab_gguf(const std::string& path, const HfConversion& c) {
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::of_string(c.arch));
  w.set("general.name", gguf::Value::of_string(c.name));
  add_vocab_metadata(w, c.vocab, c.pad);
  return w.write_file(path);
}

}  // namespace ig::tok
