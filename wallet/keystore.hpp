// Encrypted keystore files: one 32-byte secret key per JSON file, sealed with a password.
//
//   {"version":1, "name":"alice", "address":"ig1...",
//    "crypto":{"kdf":"scrypt", "kdfparams":{"n":32768,"r":8,"p":1,"salt":"<hex, 32 bytes>"},
//              "cipher":"aes-256-gcm", "iv":"<hex, 12 bytes>", "ciphertext":"<hex, 32 bytes>",
//              "tag":"<hex, 16 bytes>"}}
//
// scrypt(password, salt) gives the AES-256-GCM key; the version, name and address are the
// additional authenticated data, so a file whose name or address was edited (or whose
// ciphertext, tag, iv, salt or kdf parameters were) fails to open. After decryption the key's
// public key must equal the address. Every salt and iv is fresh randomness.
//
//   IG_TRY(ig::wallet::write_keystore(path, "alice", key, password));
//   IG_TRY_ASSIGN(key, ig::wallet::read_keystore(path, password));
//
// Error codes: "keystore.decrypt_failed" (wrong password or tampered file), "keystore.malformed"
// (not JSON, missing or mistyped field, bad hex), "keystore.unsupported" (version, kdf,
// cipher), "keystore.bad_kdf_params", "keystore.bad_name", "keystore.address_mismatch",
// and "file.*" for I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "chain/address.hpp"
#include "chain/keys.hpp"
#include "common/expected.hpp"

namespace ig::wallet {

inline constexpr int kKeystoreVersion = 1;
inline constexpr size_t kMaxKeystoreBytes = 64 * 1024;
inline constexpr size_t kMaxNameBytes = 64;

struct KdfParams {
  uint64_t n = 1u << 15;  // CPU/memory cost, a power of two
  uint32_t r = 8;         // block size
  uint32_t p = 1;         // parallelism
  bool operator==(const KdfParams&) const = default;
};

// Bounds accepted on write and on load: n a power of two in [2, 2^20], r in [1, 32], p in
// [1, 16], at most 1 GiB of scrypt memory (128·n·r) and 2^26 block operations (n·r·p), so a
// hostile file cannot make the wallet allocate or spin without limit.
Status validate_kdf_params(const KdfParams& k);

// A name is 1-64 characters of [A-Za-z0-9._-], not starting with '.' or '-'; it names the
// file (NAME.json), so it must be safe as a path component.
Status validate_key_name(std::string_view name);

struct KeystoreInfo {
  std::string name;
  chain::Address address{};
  KdfParams kdf;
};

// In-memory forms (the file functions below are these plus I/O).
Expected<std::string> encrypt_keystore(std::string_view name, const chain::SecretKey& key, std::string_view password,
                                       const KdfParams& kdf = {});
Expected<chain::SecretKey> decrypt_keystore(std::string_view json_text, std::string_view password);
Expected<KeystoreInfo> parse_keystore_info(std::string_view json_text);

// Writes atomically with mode 0600; refuses to overwrite an existing file.
Status write_keystore(const std::string& path, std::string_view name, const chain::SecretKey& key,
                      std::string_view password, const KdfParams& kdf = {});
Expected<chain::SecretKey> read_keystore(const std::string& path, std::string_view password);
// Name, address and kdf parameters, without the password (nothing is decrypted).
Expected<KeystoreInfo> read_keystore_info(const std::string& path);

}  // namespace ig::wallet
