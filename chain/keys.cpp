#include "chain/keys.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <cstdlib>

namespace ig::chain {

namespace {

// One context for the process. libsecp256k1 contexts are safe to share between threads
// for every call we make (none of them mutates the context after randomisation).
const secp256k1_context* context() {
  static secp256k1_context* ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    std::array<uint8_t, 32> seed{};
    random_bytes(seed.data(), seed.size());
    // Randomisation blinds signing against side channels; it cannot fail for a fresh context.
    if (!secp256k1_context_randomize(c, seed.data())) std::abort();
    return c;
  }();
  return ctx;
}

}  // namespace

void random_bytes(uint8_t* out, size_t len) {
  if (RAND_bytes(out, static_cast<int>(len)) != 1) std::abort();  // no safe way to continue without entropy
}

Expected<SecretKey> SecretKey::from_bytes(ByteView bytes) {
  if (bytes.size() != 32) return fail("key.length", "a secret key is 32 bytes, got " + std::to_string(bytes.size()));
  std::array<uint8_t, 32> k{};
  std::copy(bytes.begin(), bytes.end(), k.begin());
  if (!secp256k1_ec_seckey_verify(context(), k.data()))
    return fail("key.invalid", "secret key is zero or not below the curve order");
  return SecretKey(k);
}

SecretKey SecretKey::generate() {
  std::array<uint8_t, 32> k{};
  do random_bytes(k.data(), k.size());
  while (!secp256k1_ec_seckey_verify(context(), k.data()));
  return SecretKey(k);
}

SecretKey::~SecretKey() { OPENSSL_cleanse(key_.data(), key_.size()); }

PublicKey SecretKey::public_key() const {
  secp256k1_keypair kp;
  secp256k1_xonly_pubkey xonly;
  PublicKey out{};
  // Cannot fail: the key was validated on construction.
  if (!secp256k1_keypair_create(context(), &kp, key_.data()) ||
      !secp256k1_keypair_xonly_pub(context(), &xonly, nullptr, &kp))
    std::abort();
  secp256k1_xonly_pubkey_serialize(context(), out.data(), &xonly);
  OPENSSL_cleanse(&kp, sizeof kp);
  return out;
}

Signature SecretKey::sign(ByteView message, const std::optional<std::array<uint8_t, 32>>& aux_rand) const {
  secp256k1_keypair kp;
  if (!secp256k1_keypair_create(context(), &kp, key_.data())) std::abort();  // key validated on construction
  std::array<uint8_t, 32> aux{};
  if (aux_rand) aux = *aux_rand;
  else random_bytes(aux.data(), aux.size());
  secp256k1_schnorrsig_extraparams params = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
  params.ndata = aux.data();
  Signature sig{};
  if (!secp256k1_schnorrsig_sign_custom(context(), sig.data(), message.data(), message.size(), &kp, &params))
    std::abort();  // only fails for an invalid keypair, excluded above
  OPENSSL_cleanse(&kp, sizeof kp);
  return sig;
}

bool verify_signature(const PublicKey& pub, ByteView message, const Signature& sig) {
  secp256k1_xonly_pubkey xonly;
  if (!secp256k1_xonly_pubkey_parse(context(), &xonly, pub.data())) return false;
  return secp256k1_schnorrsig_verify(context(), sig.data(), message.data(), message.size(), &xonly) == 1;
}

}  // namespace ig::chain
