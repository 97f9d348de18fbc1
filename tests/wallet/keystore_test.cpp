// Keystore files: round trips, wrong passwords, every kind of tampering, malformed input.
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixtures.hpp"
#include "wallet/keystore.hpp"
#include "wallet/seal.hpp"

namespace ig::wallet {
namespace {

using json = nlohmann::json;
using testing::kFastKdf;
using testing::ScratchDir;

chain::SecretKey key_from_byte(uint8_t b) {
  std::array<uint8_t, 32> k{};
  k.fill(b);
  return *chain::SecretKey::from_bytes(k);
}

std::string make_keystore(const chain::SecretKey& key, const std::string& name = "alice",
                          const std::string& password = "correct horse") {
  auto text = encrypt_keystore(name, key, password, kFastKdf);
  EXPECT_TRUE(text) << text.error().to_string();
  return *text;
}

// Flips the lowest bit of the first hex digit of a string field reached by `path`.
std::string flip_hex(const std::string& text, const json::json_pointer& path) {
  json doc = json::parse(text);
  std::string v = doc[path].get<std::string>();
  v[0] = v[0] == '0' ? '1' : '0';
  doc[path] = v;
  return doc.dump();
}

std::string with(const std::string& text, const json::json_pointer& path, const json& value) {
  json doc = json::parse(text);
  doc[path] = value;
  return doc.dump();
}

std::string without(const std::string& text, const json::json_pointer& path) {
  json doc = json::parse(text);
  doc[path.parent_pointer()].erase(path.back());
  return doc.dump();
}

void expect_error(const Expected<chain::SecretKey>& r, const std::string& code) {
  ASSERT_FALSE(r) << "expected " << code;
  EXPECT_EQ(r.error().code, code) << r.error().to_string();
  EXPECT_FALSE(r.error().message.empty());
}

TEST(WalletKeystore, RoundTripRecoversTheKeyAndRecordsTheAddress) {
  const auto key = chain::SecretKey::generate();
  const std::string text = make_keystore(key);
  auto back = decrypt_keystore(text, "correct horse");
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->bytes(), key.bytes());

  auto info = parse_keystore_info(text);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->name, "alice");
  EXPECT_EQ(info->address, key.public_key());
  EXPECT_EQ(info->kdf, kFastKdf);

  json doc = json::parse(text);
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["address"], chain::address_to_string(key.public_key()));
  EXPECT_EQ(doc["crypto"]["kdf"], "scrypt");
  EXPECT_EQ(doc["crypto"]["cipher"], "aes-256-gcm");
  EXPECT_EQ(doc["crypto"]["kdfparams"]["salt"].get<std::string>().size(), 64u);
  EXPECT_EQ(doc["crypto"]["iv"].get<std::string>().size(), 24u);
  EXPECT_EQ(doc["crypto"]["tag"].get<std::string>().size(), 32u);
  // The secret must not appear in the file in the clear.
  EXPECT_EQ(text.find(chain::to_hex(key.bytes())), std::string::npos);
}

TEST(WalletKeystore, DefaultParametersAreScrypt2To15R8P1AndWork) {
  ScratchDir dir;
  const auto key = chain::SecretKey::generate();
  const std::string path = dir.file("default.json");
  ASSERT_TRUE(write_keystore(path, "default", key, "pw"));
  auto info = read_keystore_info(path);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->kdf.n, 32768u);
  EXPECT_EQ(info->kdf.r, 8u);
  EXPECT_EQ(info->kdf.p, 1u);
  auto back = read_keystore(path, "pw");
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->bytes(), key.bytes());
}

TEST(WalletKeystore, WrongPasswordIsAClearError) {
  const std::string text = make_keystore(chain::SecretKey::generate());
  auto r = decrypt_keystore(text, "correct horsf");
  expect_error(r, "keystore.decrypt_failed");
  EXPECT_EQ(r.error().message, "wrong password or corrupted keystore");
  expect_error(decrypt_keystore(text, ""), "keystore.decrypt_failed");
}

TEST(WalletKeystore, EveryEncryptionUsesFreshSaltAndIv) {
  const auto key = key_from_byte(7);
  json a = json::parse(make_keystore(key)), b = json::parse(make_keystore(key));
  EXPECT_NE(a["crypto"]["kdfparams"]["salt"], b["crypto"]["kdfparams"]["salt"]);
  EXPECT_NE(a["crypto"]["iv"], b["crypto"]["iv"]);
  EXPECT_NE(a["crypto"]["ciphertext"], b["crypto"]["ciphertext"]);
}

TEST(WalletKeystore, TamperedCryptoFieldsFailAuthentication) {
  const std::string text = make_keystore(chain::SecretKey::generate());
  for (const char* p : {"/crypto/ciphertext", "/crypto/tag", "/crypto/iv", "/crypto/kdfparams/salt"}) {
    SCOPED_TRACE(p);
    expect_error(decrypt_keystore(flip_hex(text, json::json_pointer(p)), "correct horse"), "keystore.decrypt_failed");
  }
}

TEST(WalletKeystore, ChangedKdfParametersFailAuthentication) {
  const std::string text = make_keystore(chain::SecretKey::generate());
  expect_error(decrypt_keystore(with(text, json::json_pointer("/crypto/kdfparams/n"), 32), "correct horse"),
               "keystore.decrypt_failed");
  expect_error(decrypt_keystore(with(text, json::json_pointer("/crypto/kdfparams/r"), 2), "correct horse"),
               "keystore.decrypt_failed");
  expect_error(decrypt_keystore(with(text, json::json_pointer("/crypto/kdfparams/p"), 2), "correct horse"),
               "keystore.decrypt_failed");
}

TEST(WalletKeystore, SwappedNameOrAddressFailsAuthentication) {
  const auto key = chain::SecretKey::generate();
  const std::string text = make_keystore(key);
  expect_error(decrypt_keystore(with(text, json::json_pointer("/name"), "mallory"), "correct horse"),
               "keystore.decrypt_failed");
  const std::string other = chain::address_to_string(chain::SecretKey::generate().public_key());
  expect_error(decrypt_keystore(with(text, json::json_pointer("/address"), other), "correct horse"),
               "keystore.decrypt_failed");
  // The same address in upper case is a different AAD string: still rejected, not reinterpreted.
  std::string upper = chain::address_to_string(key.public_key());
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  expect_error(decrypt_keystore(with(text, json::json_pointer("/address"), upper), "correct horse"),
               "keystore.decrypt_failed");
}

// A file sealed correctly but whose key is not its address (made by hand with the same
// primitives) is caught after decryption.
TEST(WalletKeystore, KeyThatDoesNotMatchItsAddressIsRejected) {
  const auto key = chain::SecretKey::generate();
  const std::string other = chain::address_to_string(chain::SecretKey::generate().public_key());
  json doc = json::parse(make_keystore(key));
  chain::Bytes salt(32, 9);
  GcmIv iv{};
  iv.fill(3);
  DerivedKey dk;
  ASSERT_TRUE(scrypt_derive("pw", salt, ScryptCost{16, 1, 1}, dk));
  std::string aad = std::string("infergrid/keystore/v1") + '\0' + "alice" + '\0' + other;
  auto sealed = aes_gcm_seal(dk.bytes, iv, key.bytes(), chain::view(aad));
  ASSERT_TRUE(sealed);
  doc["address"] = other;
  doc["crypto"]["kdfparams"]["salt"] = chain::to_hex(salt);
  doc["crypto"]["iv"] = chain::to_hex(iv);
  doc["crypto"]["ciphertext"] = chain::to_hex(sealed->ciphertext);
  doc["crypto"]["tag"] = chain::to_hex(sealed->tag);
  expect_error(decrypt_keystore(doc.dump(), "pw"), "keystore.address_mismatch");
}

TEST(WalletKeystore, MissingFieldsAreMalformed) {
  const std::string text = make_keystore(chain::SecretKey::generate());
  for (const char* p : {"/version", "/name", "/address", "/crypto", "/crypto/kdf", "/crypto/kdfparams",
                        "/crypto/kdfparams/n", "/crypto/kdfparams/r", "/crypto/kdfparams/p", "/crypto/kdfparams/salt",
                        "/crypto/cipher", "/crypto/iv", "/crypto/ciphertext", "/crypto/tag"}) {
    SCOPED_TRACE(p);
    const std::string bad = without(text, json::json_pointer(p));
    expect_error(decrypt_keystore(bad, "correct horse"), "keystore.malformed");
    EXPECT_FALSE(parse_keystore_info(bad));
  }
}

TEST(WalletKeystore, MistypedFieldsAreMalformed) {
  const std::string text = make_keystore(chain::SecretKey::generate());
  const std::vector<std::pair<const char*, json>> cases = {
      {"/version", "1"},          {"/version", 1.0},          {"/name", 5},
      {"/address", nullptr},      {"/crypto", "x"},           {"/crypto/kdfparams", json::array()},
      {"/crypto/kdfparams/n", "16"}, {"/crypto/kdfparams/n", 16.5}, {"/crypto/kdfparams/n", -16},
      {"/crypto/kdfparams/r", true}, {"/crypto/iv", 12},      {"/crypto/tag", json::object()},
  };
  for (const auto& [p, v] : cases) {
    SCOPED_TRACE(std::string(p) + " = " + v.dump());
    auto r = decrypt_keystore(with(text, json::json_pointer(p), v), "correct horse");
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().code == "keystore.malformed" || r.error().code == "keystore.unsupported") << r.error().to_string();
  }
}

TEST(WalletKeystore, BadHexAndWrongLengthsAreMalformed) {
  const std::string text = make_keystore(chain::SecretKey::generate());
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"/crypto/ciphertext", "zz"},
      {"/crypto/ciphertext", "abc"},
      {"/crypto/ciphertext", std::string(62, 'a')},   // 31 bytes
      {"/crypto/ciphertext", std::string(66, 'a')},   // 33 bytes
      {"/crypto/iv", std::string(22, '0')},           // 11 bytes
      {"/crypto/tag", std::string(30, '0')},          // 15 bytes
      {"/crypto/tag", std::string(31, '0') + "g"},
      {"/crypto/kdfparams/salt", std::string(30, '0')},  // 15 bytes: too short
      {"/crypto/kdfparams/salt", std::string(130, '0')}, // 65 bytes: too long
      {"/crypto/kdfparams/salt", ""},
  };
  for (const auto& [p, v] : cases) {
    SCOPED_TRACE(std::string(p) + " = " + v);
    expect_error(decrypt_keystore(with(text, json::json_pointer(p), v), "correct horse"), "keystore.malformed");
  }
}

TEST(WalletKeystore, UnsupportedVersionKdfAndCipherAreNamed) {
  const std::string text = make_keystore(chain::SecretKey::generate());
  expect_error(decrypt_keystore(with(text, json::json_pointer("/version"), 2), "correct horse"), "keystore.unsupported");
  expect_error(decrypt_keystore(with(text, json::json_pointer("/version"), 0), "correct horse"), "keystore.unsupported");
  expect_error(decrypt_keystore(with(text, json::json_pointer("/crypto/kdf"), "pbkdf2"), "correct horse"),
               "keystore.unsupported");
  expect_error(decrypt_keystore(with(text, json::json_pointer("/crypto/cipher"), "aes-128-ctr"), "correct horse"),
               "keystore.unsupported");
}

TEST(WalletKeystore, AbsurdKdfParametersAreRefusedBeforeDeriving) {
  const std::string text = make_keystore(chain::SecretKey::generate());
  const std::vector<std::pair<const char*, json>> cases = {
      {"/crypto/kdfparams/n", 0},          {"/crypto/kdfparams/n", 1},
      {"/crypto/kdfparams/n", 1000},       {"/crypto/kdfparams/n", uint64_t{1} << 21},
      {"/crypto/kdfparams/n", uint64_t{1} << 40}, {"/crypto/kdfparams/n", UINT64_MAX},
      {"/crypto/kdfparams/r", 0},          {"/crypto/kdfparams/r", 33},
      {"/crypto/kdfparams/r", uint64_t{1} << 33}, {"/crypto/kdfparams/p", 0},
      {"/crypto/kdfparams/p", 17},
  };
  for (const auto& [p, v] : cases) {
    SCOPED_TRACE(std::string(p) + " = " + v.dump());
    expect_error(decrypt_keystore(with(text, json::json_pointer(p), v), "correct horse"), "keystore.bad_kdf_params");
  }
  // Each parameter within its own bound, but 128·n·r over 1 GiB.
  std::string big = with(text, json::json_pointer("/crypto/kdfparams/n"), 1 << 20);
  expect_error(decrypt_keystore(with(big, json::json_pointer("/crypto/kdfparams/r"), 16), "correct horse"),
               "keystore.bad_kdf_params");
}

TEST(WalletKeystore, BadNameOrAddressInTheFileIsMalformed) {
  const std::string text = make_keystore(chain::SecretKey::generate());
  for (const char* name : {"", "../etc/passwd", ".hidden", "a/b", "sp ace"}) {
    SCOPED_TRACE(name);
    auto r = decrypt_keystore(with(text, json::json_pointer("/name"), name), "correct horse");
    expect_error(r, "keystore.bad_name");
  }
  for (const char* addr : {"", "ig1", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "ig1qqqq"}) {
    SCOPED_TRACE(addr);
    expect_error(decrypt_keystore(with(text, json::json_pointer("/address"), addr), "correct horse"), "keystore.malformed");
  }
}

TEST(WalletKeystore, EveryTruncationAndNonObjectIsRejected) {
  const std::string text = make_keystore(chain::SecretKey::generate());
  for (size_t n = 0; n + 1 < text.size(); ++n) {
    // Cutting only trailing whitespace leaves a complete document.
    if (text.find_first_not_of(" \n", n) == std::string::npos) break;
    auto r = parse_keystore_info(text.substr(0, n));
    ASSERT_FALSE(r) << "prefix of " << n << " bytes parsed";
    EXPECT_EQ(r.error().code, "keystore.malformed");
  }
  for (const char* doc : {"[]", "null", "42", "\"keystore\"", "{}", "{\"version\":1}", "\xff\xfe{"}) {
    SCOPED_TRACE(doc);
    expect_error(decrypt_keystore(doc, "x"), "keystore.malformed");
  }
  std::string huge = "{\"pad\":\"" + std::string(kMaxKeystoreBytes, 'a') + "\"}";
  expect_error(decrypt_keystore(huge, "x"), "keystore.malformed");
}

TEST(WalletKeystore, WriteCreatesA0600FileAndRefusesToOverwrite) {
  ScratchDir dir;
  const std::string path = dir.file("alice.json");
  const auto key = chain::SecretKey::generate();
  ASSERT_TRUE(write_keystore(path, "alice", key, "pw", kFastKdf));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto again = write_keystore(path, "alice", chain::SecretKey::generate(), "pw", kFastKdf);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "file.exists");
  auto back = read_keystore(path, "pw");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->bytes(), key.bytes());  // the first key survived

  // No temporary files are left behind.
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u);
}

TEST(WalletKeystore, WriteRejectsBadNamesAndParameters) {
  ScratchDir dir;
  const auto key = chain::SecretKey::generate();
  auto r = write_keystore(dir.file("x.json"), "../x", key, "pw", kFastKdf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "keystore.bad_name");
  r = write_keystore(dir.file("x.json"), "x", key, "pw", KdfParams{1000, 8, 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "keystore.bad_kdf_params");
}

TEST(WalletKeystore, ReadingMissingOrOddFilesIsAnError) {
  ScratchDir dir;
  auto r = read_keystore(dir.file("none.json"), "pw");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "file.open");
  auto d = read_keystore_info(dir.path());
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, "file.not_regular");
}

TEST(WalletKeystore, KeyNamesAreValidated) {
  for (std::string ok : {std::string("a"), std::string("alice"), std::string("Alice-2.backup_1"), std::string(64, 'x')})
    EXPECT_TRUE(validate_key_name(ok)) << ok;
  for (std::string bad : {std::string(), std::string(65, 'x'), std::string(".a"), std::string("-a"), std::string("a b"),
                          std::string("a/b"), std::string("a\\b"), std::string("é"), std::string("a\0b", 3)})
    EXPECT_FALSE(validate_key_name(bad)) << bad;
}

}  // namespace
}  // namespace ig::wallet
