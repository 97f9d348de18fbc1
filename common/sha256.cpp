#include "common/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace ig {

namespace {

// With EVP_sha256(), OpenSSL 3 looks the implementation up in the provider store on every
// digest init (EVP_MD_fetch, ~10% of a short hash); a block hashes each transaction several
// times, so the implementation is fetched once for the process. EVP_MD objects are immutable
// and safe to share between threads.
const EVP_MD* sha256_md() {
  static const EVP_MD* md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched ? fetched : EVP_sha256();
  }();
  return md;
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  // Allocation or init failure of a built-in digest means the process is unusable.
  if (!ctx_ || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), sha256_md(), nullptr) != 1)
    throw std::runtime_error("OpenSSL SHA-256 initialisation failed");
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

Sha256& Sha256::update(std::span<const uint8_t> data) {
  if (!data.empty()) EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
  return *this;
}

Hash32 Sha256::finish() {
  Hash32 h{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), h.data(), &len);
  return h;
}

Hash32 sha256(std::span<const uint8_t> data) {
  Hash32 h{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), h.data(), &len, sha256_md(), nullptr);
  return h;
}

Hash32 sha256(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  Sha256 s;
  s.update(a).update(b);
  return s.finish();
}

}  // namespace ig
