#include "wallet/seal.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>

namespace ig::wallet {

namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

CipherCtx new_ctx() { return CipherCtx(EVP_CIPHER_CTX_new()); }

// OpenSSL's own limit check counts the B and V arrays; allow exactly those plus slack.
uint64_t scrypt_maxmem(const ScryptCost& c) { return 128ull * c.r * (c.n + 2) + 128ull * c.r * c.p + (1u << 20); }

}  // namespace

DerivedKey::~DerivedKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }

Status scrypt_derive(std::string_view password, chain::ByteView salt, const ScryptCost& cost, DerivedKey& out) {
  int ok = EVP_PBE_scrypt(password.data(), password.size(), salt.data(), salt.size(), cost.n, cost.r, cost.p,
                          scrypt_maxmem(cost), out.bytes.data(), out.bytes.size());
  if (ok != 1) return fail("keystore.kdf_failed", "scrypt key derivation failed (out of memory?)");
  return {};
}

Expected<Sealed> aes_gcm_seal(const AesKey& key, const GcmIv& iv, chain::ByteView plaintext, chain::ByteView aad) {
  CipherCtx ctx = new_ctx();
  Sealed out;
  out.ciphertext.resize(plaintext.size());
  int len = 0, fin = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()), nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv.data()) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), out.ciphertext.data(), &len, plaintext.data(),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), out.ciphertext.data() + len, &fin) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(out.tag.size()), out.tag.data()) == 1;
  if (!ok) return fail("keystore.cipher_failed", "AES-256-GCM encryption failed");
  return out;
}

Status aes_gcm_open(const AesKey& key, const GcmIv& iv, chain::ByteView ciphertext, const GcmTag& tag,
                    chain::ByteView aad, uint8_t* out) {
  CipherCtx ctx = new_ctx();
  int len = 0, fin = 0;
  GcmTag expected = tag;  // the ctrl call takes a non-const pointer
  bool setup = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
               EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()), nullptr) == 1 &&
               EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv.data()) == 1 &&
               EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
               EVP_DecryptUpdate(ctx.get(), out, &len, ciphertext.data(), static_cast<int>(ciphertext.size())) == 1 &&
               EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(expected.size()),
                                   expected.data()) == 1;
  if (!setup) {
    OPENSSL_cleanse(out, ciphertext.size());
    return fail("keystore.cipher_failed", "AES-256-GCM decryption could not start");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), out + len, &fin) != 1) {
    OPENSSL_cleanse(out, ciphertext.size());
    return fail("keystore.decrypt_failed", "wrong password or corrupted keystore");
  }
  return {};
}

}  // namespace ig::wallet
