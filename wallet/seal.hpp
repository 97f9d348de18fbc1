// Password-based sealing: scrypt derives a 32-byte key from the password and salt, and
// AES-256-GCM encrypts with additional authenticated data. Internal to ig_wallet; the keystore
// is the public face of it.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "chain/bytes.hpp"
#include "common/expected.hpp"

namespace ig::wallet {

struct ScryptCost {
  uint64_t n = 0;
  uint32_t r = 0;
  uint32_t p = 0;
};

using AesKey = std::array<uint8_t, 32>;
using GcmIv = std::array<uint8_t, 12>;
using GcmTag = std::array<uint8_t, 16>;

// Wipes itself on destruction.
struct DerivedKey {
  AesKey bytes{};
  DerivedKey() = default;
  DerivedKey(const DerivedKey&) = delete;
  DerivedKey& operator=(const DerivedKey&) = delete;
  ~DerivedKey();
};

// The cost must already be validated (see validate_kdf_params in keystore.hpp).
Status scrypt_derive(std::string_view password, chain::ByteView salt, const ScryptCost& cost, DerivedKey& out);

struct Sealed {
  chain::Bytes ciphertext;
  GcmTag tag{};
};

Expected<Sealed> aes_gcm_seal(const AesKey& key, const GcmIv& iv, chain::ByteView plaintext, chain::ByteView aad);
// Fails with "keystore.decrypt_failed" when the tag does not verify; `out` must have the
// ciphertext's size and is wiped on failure.
Status aes_gcm_open(const AesKey& key, const GcmIv& iv, chain::ByteView ciphertext, const GcmTag& tag,
                    chain::ByteView aad, uint8_t* out);

}  // namespace ig::wallet
