// Pre-tokenizer regexes (the ones llama.cpp uses for each tokenizer.ggml.pre),
// run with PCRE2 in UTF + UCP mode so \p{L} and \p{N} are Unicode-aware (\s: see kSpace).
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "inference/tokenizer/tokenizer.hpp"

namespace ig::tok {

namespace {
// The patterns as Hugging Face and llama.cpp spell them use \s for Unicode's White_Space property,
// which is what their engines (Oniguruma, Python's regex, llama.cpp's tables) match. PCRE2's \s
// differs in one character: it still counts U+180E MONGOLIAN VOWEL SEPARATOR, which Unicode 6.3
// moved out of White_Space (ECMAScript's \s differs more: it adds U+FEFF and drops U+0085). So
// expand_space() spells out the White_Space set (stable since Unicode 6.3) before compiling.
constexpr const char* kSpace =
    R"(\t\n\x{0B}\f\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

// The pattern with \s and \S (alone or inside a class) replaced by the White_Space set.
std::string expand_space(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (size_t k = 0; k < pattern.size(); ++k) {
    const char c = pattern[k];
    if (c == '\\' && k + 1 < pattern.size()) {
      const char e = pattern[k + 1];
      ++k;
      if (e == 's') out += in_class ? std::string(kSpace) : "[" + std::string(kSpace) + "]";
      else if (e == 'S' && !in_class) out += "[^" + std::string(kSpace) + "]";
      else out.append({c, e});  // no pattern here puts \S inside a class
      continue;
    }
    if (c == '[') in_class = true;
    if (c == ']') in_class = false;
    out += c;
  }
  return out;
}

// GPT-2's pattern; its trailing `\s+` is implied by keeping unmatched gaps.
constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Llama 3 and Qwen2 differ only in how many digits form one word.
constexpr const char* kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// llama.cpp's fallback for BPE vocabularies without a known pre-tokenizer:
// four patterns applied one after another, each splitting the previous pieces.
constexpr const char* kDefault[] = {
    R"([\p{P}\$\+<=>\^~\|]+)",
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
    R"(\p{N}+)",
    R"([0-9][0-9][0-9])",
};

std::vector<const char*> patterns_for(std::string_view pre) {
  if (pre == "gpt-2" || pre == "gpt2") return {kGpt2};
  if (pre == "default") return {std::begin(kDefault), std::end(kDefault)};
  if (pre == "llama3" || pre == "llama-bpe" || pre == "llama-v3") return {kLlama3};
  if (pre == "qwen2") return {kQwen2};
  return {};
}

struct CodeDeleter {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
using Code = std::unique_ptr<pcre2_code, CodeDeleter>;

// Compiled patterns are shared by all threads (pcre2_code is read-only once built).
const pcre2_code* compiled(const char* pattern) {
  static std::mutex mu;
  static std::map<const char*, Code> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(pattern);
  if (it != cache.end()) return it->second.get();
  int err = 0;
  PCRE2_SIZE err_off = 0;
  const std::string expanded = expand_space(pattern);
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expanded.c_str()), expanded.size(),
                                   PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
  if (code == nullptr) return nullptr;
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional speed-up; interpreter otherwise
  return cache.emplace(pattern, Code(code)).first->second.get();
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

// Appends the pieces of `text`: each match, and each unmatched gap between matches.
Status split_with(const pcre2_code* code, pcre2_match_data* md, std::string_view text,
                  std::vector<std::string_view>& out) {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  uint32_t options = 0;  // the first match validates the whole subject as UTF-8
  while (start < text.size()) {
    const int rc = pcre2_match(code, subject, text.size(), start, options, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      return fail("tokenizer.bad_utf8", "cannot pre-tokenize input: " + std::string(reinterpret_cast<char*>(msg)));
    }
    options = PCRE2_NO_UTF_CHECK;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    if (ov[1] == ov[0])  // none of the patterns can match empty; guard the loop anyway
      return fail("tokenizer.regex", "pre-tokenizer regex matched an empty string");
    if (ov[0] > start) out.push_back(text.substr(start, ov[0] - start));
    out.push_back(text.substr(ov[0], ov[1] - ov[0]));
    start = ov[1];
  }
  if (start < text.size()) out.push_back(text.substr(start));
  return {};
}
}  // namespace

Expected<std::vector<std::string>> pre_tokenize(std::string_view pre, std::string_view text) {
  const auto patterns = patterns_for(pre);
  if (patterns.empty())
    return fail("tokenizer.unsupported_pre", "pre-tokenizer '" + std::string(pre) + "' is not supported");
  std::vector<std::string_view> pieces{text};
  for (const char* pattern : patterns) {
    const pcre2_code* code = compiled(pattern);
    if (code == nullptr) return fail("tokenizer.regex", "pre-tokenizer regex failed to compile");
    std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(pcre2_match_data_create_from_pattern(code, nullptr));
    if (!md) return fail("tokenizer.regex", "out of memory for regex match data");
    std::vector<std::string_view> next;
    for (std::string_view p : pieces) IG_TRY(split_with(code, md.get(), p, next));
    pieces = std::move(next);
  }
  return std::vector<std::string>(pieces.begin(), pieces.end());
}

}  // namespace ig::tok
