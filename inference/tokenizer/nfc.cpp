// NFC through ICU's Normalizer2 (the library's UTF-8 path, no UTF-16 round trip). ICU is the
// normalizer behind most other implementations (Node's String.prototype.normalize included), so
// its tables are maintained for us with each Unicode release.
#include "inference/tokenizer/nfc.hpp"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cstdint>

namespace ig::tok::detail {

namespace {
// The shared NFC instance; ICU owns it and it is safe to use from any thread. Null only if
// ICU's data cannot be loaded, which a working installation never reports.
const icu::Normalizer2* nfc_instance() {
  static const icu::Normalizer2* const instance = [] {
    UErrorCode err = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(err);
    return U_SUCCESS(err) ? n : nullptr;
  }();
  return instance;
}

// True for well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). ICU would
// replace ill-formed bytes; we hand them back untouched so the pre-tokenizer can report them.
bool valid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const auto n = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < n;) {
    UChar32 c;
    U8_NEXT(s, i, n, c);
    if (c < 0) return false;
  }
  return true;
}
}  // namespace

const char* nfc_unicode_version() {
  static const std::string version = [] {
    UVersionInfo v;
    u_getUnicodeVersion(v);
    char buf[U_MAX_VERSION_STRING_LENGTH];
    u_versionToString(v, buf);
    return std::string(buf);
  }();
  return version.c_str();
}

std::string nfc(std::string_view text) {
  // Below U+0300 every character is its own NFC and none combines with a neighbour; a lead
  // byte of 0xCC or more starts a code point at or above U+0300. Most text takes this path.
  if (std::none_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0xCC; }))
    return std::string(text);
  if (text.size() > static_cast<size_t>(INT32_MAX) || !valid_utf8(text)) return std::string(text);
  const icu::Normalizer2* n = nfc_instance();
  if (n == nullptr) return std::string(text);
  std::string out;
  out.reserve(text.size());
  icu::StringByteSink<std::string> sink(&out);
  UErrorCode err = U_ZERO_ERROR;
  n->normalizeUTF8(0, icu::StringPiece(text.data(), static_cast<int32_t>(text.size())), sink, nullptr, err);
  return U_SUCCESS(err) ? out : std::string(text);
}

}  // namespace ig::tok::detail
