// SHA-256 through OpenSSL, for every library (chain hashes, receipts, model ids).
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace ig {

using Hash32 = std::array<uint8_t, 32>;

Hash32 sha256(std::span<const uint8_t> data);
Hash32 sha256(std::span<const uint8_t> a, std::span<const uint8_t> b);  // H(a || b)

// Incremental hasher for long or many-part inputs.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256& update(std::span<const uint8_t> data);
  Hash32 finish();

 private:
  void* ctx_;  // EVP_MD_CTX, kept opaque so OpenSSL headers stay out of ours
};

}  // namespace ig
