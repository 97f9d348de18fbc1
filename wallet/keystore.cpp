#include "wallet/keystore.hpp"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "wallet/seal.hpp"
#include "wallet/secure_file.hpp"

namespace ig::wallet {

using json = nlohmann::json;

namespace {

constexpr size_t kSaltBytes = 32;
constexpr size_t kMinSaltBytes = 16;
constexpr size_t kMaxSaltBytes = 64;

Unexpected malformed(const std::string& what) { return fail("keystore.malformed", "keystore " + what); }

// Binds the plaintext metadata to the ciphertext: editing any of it breaks the tag.
chain::Bytes additional_data(std::string_view name, std::string_view address) {
  std::string aad = "infergrid/keystore/v" + std::to_string(kKeystoreVersion);
  aad.push_back('\0');
  aad.append(name);
  aad.push_back('\0');
  aad.append(address);
  return chain::Bytes(aad.begin(), aad.end());
}

ScryptCost cost_of(const KdfParams& k) { return ScryptCost{k.n, k.r, k.p}; }

// Typed field access that turns every shape problem into a "keystore.malformed" error.
Expected<const json*> field(const json& obj, const char* key, json::value_t type, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return malformed("is missing \"" + where + key + "\"");
  bool ok = it->type() == type ||
            (type == json::value_t::number_unsigned && it->type() == json::value_t::number_integer &&
             it->get<int64_t>() >= 0);
  if (!ok) return malformed("field \"" + where + key + "\" has the wrong type");
  return &*it;
}

Expected<std::string> string_field(const json& obj, const char* key, const std::string& where = "") {
  IG_TRY_ASSIGN(f, field(obj, key, json::value_t::string, where));
  return f->get<std::string>();
}

Expected<uint64_t> uint_field(const json& obj, const char* key, const std::string& where = "") {
  IG_TRY_ASSIGN(f, field(obj, key, json::value_t::number_unsigned, where));
  return f->get<uint64_t>();
}

Expected<chain::Bytes> hex_field(const json& obj, const char* key, size_t min_len, size_t max_len,
                                 const std::string& where) {
  IG_TRY_ASSIGN(text, string_field(obj, key, where));
  auto bytes = chain::from_hex(text);
  if (!bytes) return malformed("field \"" + where + key + "\" is not valid hex");
  if (bytes->size() < min_len || bytes->size() > max_len)
    return malformed("field \"" + where + key + "\" has " + std::to_string(bytes->size()) + " bytes");
  return std::move(*bytes);
}

template <size_t N>
Expected<std::array<uint8_t, N>> fixed_hex_field(const json& obj, const char* key, const std::string& where) {
  IG_TRY_ASSIGN(b, hex_field(obj, key, N, N, where));
  std::array<uint8_t, N> out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

Expected<json> parse_json_object(std::string_view text) {
  if (text.size() > kMaxKeystoreBytes) return malformed("is larger than " + std::to_string(kMaxKeystoreBytes) + " bytes");
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return malformed("is not valid JSON");
  if (!doc.is_object()) return malformed("is not a JSON object");
  return doc;
}

// Everything stored in a keystore file, parsed and validated but not decrypted.
struct ParsedKeystore {
  KeystoreInfo info;
  std::string address_text;
  chain::Bytes salt;
  GcmIv iv{};
  chain::Bytes ciphertext;
  GcmTag tag{};
};

Expected<KdfParams> parse_kdf_params(const json& crypto) {
  IG_TRY_ASSIGN(kp, field(crypto, "kdfparams", json::value_t::object, "crypto."));
  const std::string where = "crypto.kdfparams.";
  IG_TRY_ASSIGN(n, uint_field(*kp, "n", where));
  IG_TRY_ASSIGN(r, uint_field(*kp, "r", where));
  IG_TRY_ASSIGN(p, uint_field(*kp, "p", where));
  if (r > UINT32_MAX || p > UINT32_MAX) return fail("keystore.bad_kdf_params", "scrypt r or p is out of range");
  KdfParams k{n, static_cast<uint32_t>(r), static_cast<uint32_t>(p)};
  IG_TRY(validate_kdf_params(k));
  return k;
}

Expected<ParsedKeystore> parse_keystore(std::string_view text) {
  IG_TRY_ASSIGN(doc, parse_json_object(text));
  IG_TRY_ASSIGN(version, field(doc, "version", json::value_t::number_unsigned, ""));
  if (version->get<uint64_t>() != kKeystoreVersion)
    return fail("keystore.unsupported", "keystore version " + version->dump() + " is not supported (expected 1)");
  ParsedKeystore ks;
  IG_TRY_ASSIGN(name, string_field(doc, "name"));
  IG_TRY(validate_key_name(name));
  ks.info.name = std::move(name);
  IG_TRY_ASSIGN(address_text, string_field(doc, "address"));
  auto address = chain::address_from_string(address_text);
  if (!address) return malformed("address is invalid: " + address.error().message);
  ks.info.address = *address;
  ks.address_text = std::move(address_text);

  IG_TRY_ASSIGN(crypto, field(doc, "crypto", json::value_t::object, ""));
  IG_TRY_ASSIGN(kdf, string_field(*crypto, "kdf", "crypto."));
  if (kdf != "scrypt") return fail("keystore.unsupported", "key derivation \"" + kdf + "\" is not supported (expected scrypt)");
  IG_TRY_ASSIGN(cipher, string_field(*crypto, "cipher", "crypto."));
  if (cipher != "aes-256-gcm")
    return fail("keystore.unsupported", "cipher \"" + cipher + "\" is not supported (expected aes-256-gcm)");
  IG_TRY_ASSIGN(params, parse_kdf_params(*crypto));
  ks.info.kdf = params;
  IG_TRY_ASSIGN(kp, field(*crypto, "kdfparams", json::value_t::object, "crypto."));
  IG_TRY_ASSIGN(salt, hex_field(*kp, "salt", kMinSaltBytes, kMaxSaltBytes, "crypto.kdfparams."));
  ks.salt = std::move(salt);
  IG_TRY_ASSIGN(iv, fixed_hex_field<12>(*crypto, "iv", "crypto."));
  ks.iv = iv;
  IG_TRY_ASSIGN(ct, hex_field(*crypto, "ciphertext", 32, 32, "crypto."));
  ks.ciphertext = std::move(ct);
  IG_TRY_ASSIGN(tag, fixed_hex_field<16>(*crypto, "tag", "crypto."));
  ks.tag = tag;
  return ks;
}

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

bool name_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

}  // namespace

Status validate_kdf_params(const KdfParams& k) {
  auto bad = [](const std::string& why) { return fail("keystore.bad_kdf_params", "scrypt parameters rejected: " + why); };
  if (!is_power_of_two(k.n) || k.n < 2 || k.n > (1u << 20)) return bad("n must be a power of two from 2 to 2^20");
  if (k.r < 1 || k.r > 32) return bad("r must be from 1 to 32");
  if (k.p < 1 || k.p > 16) return bad("p must be from 1 to 16");
  if (128ull * k.n * k.r > (1ull << 30)) return bad("128*n*r exceeds 1 GiB of memory");
  if (k.n * k.r * k.p > (1ull << 26)) return bad("n*r*p exceeds 2^26");
  return {};
}

Status validate_key_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes)
    return fail("keystore.bad_name", "a key name must be 1 to " + std::to_string(kMaxNameBytes) + " characters");
  if (name[0] == '.' || name[0] == '-')
    return fail("keystore.bad_name", "a key name must not start with '.' or '-'");
  for (char c : name)
    if (!name_char_ok(c))
      return fail("keystore.bad_name", "key name \"" + std::string(name) + "\" may only contain letters, digits, '.', '_' and '-'");
  return {};
}

Expected<std::string> encrypt_keystore(std::string_view name, const chain::SecretKey& key, std::string_view password,
                                       const KdfParams& kdf) {
  IG_TRY(validate_key_name(name));
  IG_TRY(validate_kdf_params(kdf));
  const std::string address = chain::address_to_string(key.public_key());
  chain::Bytes salt(kSaltBytes);
  chain::random_bytes(salt.data(), salt.size());
  GcmIv iv{};
  chain::random_bytes(iv.data(), iv.size());
  DerivedKey dk;
  IG_TRY(scrypt_derive(password, salt, cost_of(kdf), dk));
  IG_TRY_ASSIGN(sealed, aes_gcm_seal(dk.bytes, iv, key.bytes(), additional_data(name, address)));
  json doc = {
      {"version", kKeystoreVersion},
      {"name", std::string(name)},
      {"address", address},
      {"crypto",
       {{"kdf", "scrypt"},
        {"kdfparams", {{"n", kdf.n}, {"r", kdf.r}, {"p", kdf.p}, {"salt", chain::to_hex(salt)}}},
        {"cipher", "aes-256-gcm"},
        {"iv", chain::to_hex(iv)},
        {"ciphertext", chain::to_hex(sealed.ciphertext)},
        {"tag", chain::to_hex(sealed.tag)}}}};
  return doc.dump(2) + "\n";
}

Expected<chain::SecretKey> decrypt_keystore(std::string_view json_text, std::string_view password) {
  IG_TRY_ASSIGN(ks, parse_keystore(json_text));
  DerivedKey dk;
  IG_TRY(scrypt_derive(password, ks.salt, cost_of(ks.info.kdf), dk));
  std::array<uint8_t, 32> plain{};
  IG_TRY(aes_gcm_open(dk.bytes, ks.iv, ks.ciphertext, ks.tag, additional_data(ks.info.name, ks.address_text),
                      plain.data()));
  auto key = chain::SecretKey::from_bytes(plain);
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!key) return fail("keystore.malformed", "keystore decrypts to an invalid secret key");
  if (key->public_key() != ks.info.address)
    return fail("keystore.address_mismatch", "keystore key does not belong to its address " + ks.address_text);
  return std::move(*key);
}

Expected<KeystoreInfo> parse_keystore_info(std::string_view json_text) {
  IG_TRY_ASSIGN(ks, parse_keystore(json_text));
  return std::move(ks.info);
}

Status write_keystore(const std::string& path, std::string_view name, const chain::SecretKey& key,
                      std::string_view password, const KdfParams& kdf) {
  IG_TRY_ASSIGN(text, encrypt_keystore(name, key, password, kdf));
  return write_file_atomic(path, text, /*overwrite=*/false);
}

Expected<chain::SecretKey> read_keystore(const std::string& path, std::string_view password) {
  IG_TRY_ASSIGN(text, read_small_file(path, kMaxKeystoreBytes));
  return decrypt_keystore(text, password);
}

Expected<KeystoreInfo> read_keystore_info(const std::string& path) {
  IG_TRY_ASSIGN(text, read_small_file(path, kMaxKeystoreBytes));
  return parse_keystore_info(text);
}

}  // namespace ig::wallet
