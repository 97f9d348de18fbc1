#include "wallet/secret.hpp"

#include <openssl/crypto.h>

namespace ig::wallet {

void wipe_string(std::string& s) {
  // Wipe the whole buffer, not just size(): earlier contents may linger past the end.
  s.resize(s.capacity());
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

SecretString::SecretString(std::string_view s) {
  s_.reserve(s.size() < 32 ? 32 : s.size());
  s_.assign(s);
}

SecretString& SecretString::operator=(const SecretString& other) {
  if (this != &other) {
    wipe();
    s_.reserve(other.s_.size());
    s_.assign(other.s_);
  }
  return *this;
}

SecretString::SecretString(SecretString&& other) noexcept : s_(std::move(other.s_)) { other.s_.clear(); }

SecretString& SecretString::operator=(SecretString&& other) noexcept {
  if (this != &other) {
    wipe();
    s_ = std::move(other.s_);
    other.s_.clear();
  }
  return *this;
}

SecretString::~SecretString() { wipe(); }

void SecretString::wipe() { wipe_string(s_); }

bool SecretString::operator==(const SecretString& o) const {
  if (s_.size() != o.s_.size()) return false;
  return s_.empty() || CRYPTO_memcmp(s_.data(), o.s_.data(), s_.size()) == 0;
}

}  // namespace ig::wallet
