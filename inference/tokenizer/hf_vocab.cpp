// tokenizer.json -> Vocab (see hf_vocab.hpp). nlohmann::json is used without exceptions:
// every access checks the type first, so a malformed file is an error value, never a throw.
#include "inference/tokenizer/hf_vocab.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

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
constexpr size_t kMaxTokens = 1u << 24;  // far above any real vocabulary; bounds the allocation

const KnownPre* known_pre(std::string_view name) {
  for (const auto& k : kKnownPre)
    if (name == k.name) return &k;
  if (name == "llama-bpe" || name == "llama-v3") return &kKnownPre[0];
  return nullptr;
}

const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::optional<std::string> string_member(const json& j, const char* key) {
  const json* v = member(j, key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

bool bool_member(const json& j, const char* key, bool fallback) {
  const json* v = member(j, key);
  return v != nullptr && v->is_boolean() ? v->get<bool>() : fallback;
}

Unexpected bad(const std::string& what) { return fail("hf.unsupported", what); }

// A ByteLevel pre-tokenizer step as our byte-level BPE runs it: no added prefix space.
Status check_byte_level(const json& step, bool want_regex) {
  if (bool_member(step, "add_prefix_space", false))
    return bad("ByteLevel pre-tokenizer with add_prefix_space is not supported");
  if (bool_member(step, "use_regex", true) != want_regex)
    return bad(std::string("ByteLevel pre-tokenizer with use_regex ") + (want_regex ? "false" : "true") +
               " in this position is not supported");
  return {};
}

// The pre-tokenizer name for tokenizer.json's pre_tokenizer section.
Expected<const KnownPre*> recognise_pre(const json& pre) {
  const auto type = string_member(pre, "type").value_or("");
  if (type == "ByteLevel") {  // GPT-2: the ByteLevel step splits with GPT-2's own regex
    IG_TRY(check_byte_level(pre, true));
    return &kKnownPre[2];
  }
  const json* steps = member(pre, "pretokenizers");
  if (type != "Sequence" || steps == nullptr || !steps->is_array() || steps->size() != 2)
    return bad("pre_tokenizer must be ByteLevel or Sequence[Split, ByteLevel] (use --pre to force one)");
  const json& split = (*steps)[0];
  const json& byte_level = (*steps)[1];
  if (string_member(split, "type").value_or("") != "Split" || string_member(byte_level, "type").value_or("") != "ByteLevel")
    return bad("pre_tokenizer must be Sequence[Split, ByteLevel] (use --pre to force one)");
  IG_TRY(check_byte_level(byte_level, false));
  if (string_member(split, "behavior").value_or("") != "Isolated" || bool_member(split, "invert", false))
    return bad("Split pre-tokenizer must isolate matches and not invert");
  const json* pattern = member(split, "pattern");
  const auto regex = pattern ? string_member(*pattern, "Regex") : std::nullopt;
  if (!regex) return bad("Split pre-tokenizer has no Regex pattern");
  for (const auto& k : kKnownPre)
    if (*regex == k.regex) return &k;
  return bad("the Split regex is not one of llama3, qwen2, gpt-2 (use --pre to force one): " + *regex);
}

// tokenizer_config.json's special-token entries: "text", {"content": "text", ...} or null.
std::optional<std::string> config_token(const json& config, const char* key) {
  const json* v = member(config, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  return string_member(*v, "content");
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

// The single-sequence template of a TemplateProcessing post-processor (possibly inside a Sequence).
std::optional<Template> post_template(const json& post) {
  const auto type = string_member(post, "type").value_or("");
  if (type == "Sequence") {
    const json* procs = member(post, "processors");
    if (procs == nullptr || !procs->is_array()) return std::nullopt;
    for (const auto& p : *procs)
      if (auto t = post_template(p)) return t;
    return std::nullopt;
  }
  const json* single = member(post, "single");
  if (type != "TemplateProcessing" || single == nullptr || !single->is_array() || single->empty()) return std::nullopt;
  auto special_of = [](const json& piece) -> std::optional<std::string> {
    const json* sp = member(piece, "SpecialToken");
    return sp ? string_member(*sp, "id") : std::nullopt;
  };
  return Template{special_of(single->front()), special_of(single->back())};
}

Status read_tokens(const json& root, Vocab& v) {
  const json* model = member(root, "model");
  const json* vocab = model ? member(*model, "vocab") : nullptr;
  if (vocab == nullptr || !vocab->is_object()) return bad("model.vocab is missing");
  std::map<size_t, std::pair<std::string, TokenType>> by_id;
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_unsigned() || it.value().get<uint64_t>() >= kMaxTokens)
      return fail("hf.bad_file", "token '" + it.key() + "' has an id that is not a small non-negative integer");
    by_id[it.value().get<size_t>()] = {it.key(), TokenType::Normal};
  }
  if (const json* added = member(root, "added_tokens")) {
    if (!added->is_array()) return fail("hf.bad_file", "added_tokens is not an array");
    for (const auto& a : *added) {
      const json* id = member(a, "id");
      const auto content = string_member(a, "content");
      if (id == nullptr || !id->is_number_unsigned() || id->get<uint64_t>() >= kMaxTokens || !content)
        return fail("hf.bad_file", "an added token lacks a valid id or content");
      if (bool_member(a, "lstrip", false) || bool_member(a, "rstrip", false) || bool_member(a, "single_word", false))
        return bad("added token '" + *content + "' strips spaces or matches single words only");
      const bool control = bool_member(a, "special", false) || looks_special(*content);
      by_id[id->get<size_t>()] = {*content, control ? TokenType::Control : TokenType::UserDefined};
    }
  }
  if (by_id.empty()) return fail("hf.bad_file", "the vocabulary is empty");
  const size_t n = by_id.rbegin()->first + 1;
  v.tokens.resize(n);
  v.types.assign(n, TokenType::Unused);
  for (size_t id = 0; id < n; ++id) v.tokens[id] = "[PAD" + std::to_string(id) + "]";
  for (auto& [id, entry] : by_id) {
    v.tokens[id] = std::move(entry.first);
    v.types[id] = entry.second;
  }
  return {};
}

Status read_merges(const json& model, Vocab& v) {
  const json* merges = member(model, "merges");
  if (merges == nullptr || !merges->is_array()) return bad("model.merges is missing");
  v.merges.reserve(merges->size());
  for (const auto& m : *merges) {
    std::string left, right;
    if (m.is_string()) {  // "left right"
      const std::string s = m.get<std::string>();
      const size_t sp = s.find(' ', 1);
      if (sp == std::string::npos || sp + 1 >= s.size() || s.find(' ', sp + 1) != std::string::npos)
        return fail("hf.bad_file", "merge '" + s + "' is not 'left right'");
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // ["left", "right"]
      left = m[0].get<std::string>();
      right = m[1].get<std::string>();
      if (left.empty() || right.empty() || left.find(' ') != std::string::npos || right.find(' ') != std::string::npos)
        return fail("hf.bad_file", "merge ['" + left + "', '" + right + "'] cannot be written as 'left right'");
    } else {
      return fail("hf.bad_file", "a merge is neither \"left right\" nor [\"left\", \"right\"]");
    }
    v.merges.push_back(left + " " + right);
  }
  return {};
}

Status check_model(const json& model) {
  if (string_member(model, "type").value_or("") != "BPE") return bad("only BPE models are supported");
  if (bool_member(model, "byte_fallback", false)) return bad("BPE with byte_fallback (SentencePiece-style) is not supported");
  if (const json* d = member(model, "dropout"); d && !(d->is_number() && d->get<double>() == 0.0))
    return bad("BPE dropout is not supported");
  if (string_member(model, "continuing_subword_prefix").value_or("") != "" ||
      string_member(model, "end_of_word_suffix").value_or("") != "")
    return bad("subword prefixes/suffixes are not supported");
  return {};
}

Expected<std::string> read_normalizer(const json& root) {
  const json* norm = member(root, "normalizer");
  if (norm == nullptr) return std::string();
  const auto type = string_member(*norm, "type").value_or("");
  if (type == "NFC") return std::string("nfc");
  if (type == "Sequence") {
    const json* list = member(*norm, "normalizers");
    if (list && list->is_array() && list->empty()) return std::string();
    if (list && list->is_array() && list->size() == 1 && string_member((*list)[0], "type").value_or("") == "NFC")
      return std::string("nfc");
  }
  return bad("normalizer '" + type + "' is not supported (none or NFC)");
}

// The id of a token text, or an error naming the setting it came from.
Expected<TokenId> id_of(const Vocab& v, const std::string& text, const char* setting) {
  for (size_t id = v.tokens.size(); id-- > 0;)  // a repeated text means its last id, as the tokenizer does
    if (v.tokens[id] == text) return static_cast<TokenId>(id);
  return fail("hf.bad_file", std::string(setting) + " '" + text + "' is not in the vocabulary");
}

// bos/eos/pad/unk/eot and add_bos/add_eos, each with a note on where it came from.
Status read_specials(const json& root, const json& config, const KnownPre& pre, HfConversion& c) {
  Vocab& v = c.vocab;
  const json* post = member(root, "post_processor");
  const auto tmpl = post ? post_template(*post) : std::nullopt;
  auto pick = [&](const char* key, std::optional<std::string> from_template, TokenId& out) -> Status {
    auto text = config_token(config, key);
    const char* source = "tokenizer_config.json";
    if (!text && from_template) {
      text = from_template;
      source = "the post-processor template";
    }
    if (!text) return {};
    IG_TRY_ASSIGN(id, id_of(v, *text, key));
    out = id;
    c.notes.push_back(std::string(key) + " = " + std::to_string(id) + " '" + *text + "' (from " + source + ")");
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
  if (const json* b = member(config, "add_bos_token"); b && b->is_boolean()) {
    v.add_bos = b->get<bool>();
    c.notes.push_back(std::string("add_bos_token = ") + (v.add_bos ? "true" : "false") + " (from tokenizer_config.json)");
  } else if (tmpl) {
    v.add_bos = tmpl->first_special.has_value();
    c.notes.push_back(std::string("add_bos_token = ") + (v.add_bos ? "true" : "false") + " (from the post-processor template)");
  } else {
    v.add_bos = std::string_view(pre.name) == "llama3";
    c.notes.push_back(std::string("add_bos_token = ") + (v.add_bos ? "true" : "false") +
                      " (llama.cpp's default for pre-tokenizer " + pre.name + ": neither the config nor a template says)");
  }
  if (v.add_bos && v.bos == kNoToken) return fail("hf.bad_file", "add_bos_token is set but there is no bos_token");
  if (const json* e = member(config, "add_eos_token"); e && e->is_boolean()) v.add_eos = e->get<bool>();
  else if (tmpl) v.add_eos = tmpl->last_special.has_value() && tmpl->last_special != tmpl->first_special;
  if (v.add_eos && v.eos == kNoToken) return fail("hf.bad_file", "add_eos_token is set but there is no eos_token");
  return {};
}
}  // namespace

Expected<HfConversion> vocab_from_hf(std::string_view tokenizer_json, std::string_view config_json,
                                     const HfOptions& options) {
  const json root = json::parse(tokenizer_json, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) return fail("hf.bad_file", "tokenizer.json is not a JSON object");
  json config = json::object();
  if (!config_json.empty()) {
    config = json::parse(config_json, nullptr, false);
    if (config.is_discarded() || !config.is_object())
      return fail("hf.bad_file", "tokenizer_config.json is not a JSON object");
  }
  const json* model = member(root, "model");
  if (model == nullptr) return fail("hf.bad_file", "tokenizer.json has no model");
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
  if (bool_member(*model, "ignore_merges", false) != pre->ignore_merges)
    return bad(std::string("model.ignore_merges = ") + (pre->ignore_merges ? "false" : "true") +
               " with pre-tokenizer " + pre->name + " is not supported");

  Vocab& v = c.vocab;
  v.model = "gpt2";
  v.pre = pre->name;
  IG_TRY(read_tokens(root, v));
  IG_TRY(read_merges(*model, v));
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
