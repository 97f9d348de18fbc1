// BIP-340 Schnorr keys and signatures over secp256k1 (libsecp256k1's schnorrsig module).
//
// A public key is the 32-byte x-only key; an account address is that key (shown as bech32m,
// see address.hpp). Secret keys are wiped from memory when destroyed.
#pragma once

#include <optional>

#include "chain/bytes.hpp"

namespace ig::chain {

using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

class SecretKey {
 public:
  // Rejects zero and values >= the curve order.
  static Expected<SecretKey> from_bytes(ByteView bytes);
  static SecretKey generate();  // OpenSSL CSPRNG

  SecretKey(const SecretKey&) = default;
  SecretKey& operator=(const SecretKey&) = default;
  ~SecretKey();

  PublicKey public_key() const;
  // BIP-340 signature of an arbitrary-length message. aux_rand defaults to fresh randomness
  // (the standard's recommendation); tests pass the vectors' aux values.
  Signature sign(ByteView message, const std::optional<std::array<uint8_t, 32>>& aux_rand = std::nullopt) const;
  const std::array<uint8_t, 32>& bytes() const { return key_; }

 private:
  explicit SecretKey(const std::array<uint8_t, 32>& k) : key_(k) {}
  std::array<uint8_t, 32> key_{};
};

// False for a malformed key (not on the curve) as well as for a wrong signature.
bool verify_signature(const PublicKey& pub, ByteView message, const Signature& sig);

// Fills a buffer from OpenSSL's CSPRNG (aborts the process if the CSPRNG fails).
void random_bytes(uint8_t* out, size_t len);

}  // namespace ig::chain
