#include "chain/hash.hpp"

#include <openssl/evp.h>

#include <stdexcept>

#include "chain/codec.hpp"

namespace ig::chain {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  // Allocation or init failure of a built-in digest means the process is unusable.
  if (!ctx_ || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL SHA-256 initialisation failed");
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

Sha256& Sha256::update(ByteView data) {
  if (!data.empty()) EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
  return *this;
}

Hash Sha256::finish() {
  Hash h{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), h.data(), &len);
  return h;
}

Hash sha256(ByteView data) {
  Hash h{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), h.data(), &len, EVP_sha256(), nullptr);
  return h;
}

Hash sha256(ByteView a, ByteView b) {
  Sha256 s;
  s.update(a).update(b);
  return s.finish();
}

Hash signing_hash(std::string_view tag, std::string_view chain_id, ByteView body) {
  Writer prefix;
  prefix.str(tag);
  prefix.str(chain_id);
  Sha256 s;
  s.update(prefix.data()).update(body);
  return s.finish();
}

}  // namespace ig::chain
