// NFC as UAX #15 defines it: full canonical decomposition (Hangul arithmetically), canonical
// ordering of combining marks, then canonical composition of primary composites.
#include "inference/tokenizer/nfc.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "inference/tokenizer/unicode.hpp"

namespace ig::tok::detail {

namespace {
struct CombiningRange {
  uint32_t first, last;
  uint8_t ccc;
};
struct Decomposition {
  uint32_t cp, a, b;  // b == 0: a singleton mapping
};
struct Composition {
  uint32_t a, b, composite;
};

#include "inference/tokenizer/nfc_tables.inc"

// Hangul syllables (Unicode 3.12, "Conjoining Jamo Behavior").
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

uint8_t combining_class(uint32_t cp) {
  if (cp < 0x300) return 0;
  const auto* end = std::end(kCombiningClass);
  const auto* it = std::upper_bound(std::begin(kCombiningClass), end, cp,
                                    [](uint32_t c, const CombiningRange& r) { return c < r.first; });
  if (it == std::begin(kCombiningClass)) return 0;
  --it;
  return cp <= it->last ? it->ccc : 0;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  const auto* end = std::end(kDecomposition);
  const auto* it = std::lower_bound(std::begin(kDecomposition), end, cp,
                                    [](const Decomposition& d, uint32_t c) { return d.cp < c; });
  if (cp < 0xC0 || it == end || it->cp != cp) {
    out.push_back(cp);
    return;
  }
  decompose(it->a, out);  // mappings nest at most a few levels deep
  if (it->b) decompose(it->b, out);
}

// The primary composite of (a, b), or 0.
uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  const auto* end = std::end(kComposition);
  const auto* it = std::lower_bound(std::begin(kComposition), end, std::pair{a, b}, [](const Composition& c, auto key) {
    return c.a != key.first ? c.a < key.first : c.b < key.second;
  });
  return it != end && it->a == a && it->b == b ? it->composite : 0;
}

// Decodes valid UTF-8; false on anything else.
bool decode_utf8(std::string_view text, std::vector<uint32_t>& out) {
  for (size_t pos = 0; pos < text.size();) {
    const auto lead = static_cast<unsigned char>(text[pos]);
    const size_t n = utf8_char_len(text, pos);
    if (n != utf8_len(lead) || (n == 1 && lead >= 0x80)) return false;
    uint32_t cp = n == 1 ? lead : lead & (0xFF >> (n + 1));
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[pos + k]) & 0x3F);
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;  // overlong or surrogate
    out.push_back(cp);
    pos += n;
  }
  return true;
}
}  // namespace

const char* nfc_unicode_version() { return IG_NFC_UNICODE_VERSION; }

std::string nfc(std::string_view text) {
  // Below U+0300 every character is its own NFC and none combines with a neighbour; a lead
  // byte of 0xCC or more starts a code point at or above U+0300.
  if (std::none_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0xCC; }))
    return std::string(text);
  std::vector<uint32_t> cps;
  if (!decode_utf8(text, cps)) return std::string(text);
  std::vector<uint32_t> d;
  d.reserve(cps.size() + 8);
  for (uint32_t cp : cps) decompose(cp, d);
  // Canonical ordering: a stable sort of each run of nonzero combining classes.
  for (size_t i = 0; i < d.size();) {
    if (combining_class(d[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && combining_class(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + static_cast<std::ptrdiff_t>(i), d.begin() + static_cast<std::ptrdiff_t>(j),
                     [](uint32_t x, uint32_t y) { return combining_class(x) < combining_class(y); });
    i = j;
  }
  // Canonical composition: each character joins the last starter into its primary composite
  // unless blocked, i.e. unless something between them is a starter or has a class at least
  // its own. What lies between is in canonical order, so the last of it has the highest class.
  size_t out_len = 0;
  size_t starter = SIZE_MAX;
  int last_class = 0;  // class of the last character kept after the starter
  for (size_t i = 0; i < d.size(); ++i) {
    const uint32_t ch = d[i];
    const int cls = combining_class(ch);
    if (starter != SIZE_MAX && (out_len == starter + 1 || last_class < cls)) {
      if (const uint32_t composite = compose(d[starter], ch); composite != 0) {
        d[starter] = composite;
        continue;
      }
    }
    if (cls == 0) starter = out_len;
    last_class = cls;
    d[out_len++] = ch;
  }
  d.resize(out_len);
  std::string out;
  out.reserve(text.size());
  for (uint32_t cp : d) out += encode_utf8(cp);
  return out;
}

}  // namespace ig::tok::detail
