#include "p2p/detail/tls.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace ig::p2p::detail {
namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

}  // namespace

ig::Expected<std::shared_ptr<X509>> make_self_signed_certificate(const NodeKey& key) {
  std::shared_ptr<X509> cert(X509_new(), X509_free);
  auto bad = [](const std::string& what) { return ig::fail("p2p.tls", what + ": " + openssl_error()); };
  if (!cert) return bad("X509_new");
  X509* x = cert.get();
  if (X509_set_version(x, 2) != 1) return bad("X509_set_version");  // 2 means v3
  unsigned char serial[8];
  if (RAND_bytes(serial, sizeof serial) != 1) return bad("RAND_bytes");
  serial[0] &= 0x7f;  // a positive INTEGER
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != nullptr;
  BN_free(bn);
  if (!ok) return bad("serial number");
  const long kDay = 24L * 3600;
  if (!X509_gmtime_adj(X509_getm_notBefore(x), -kDay) || !X509_gmtime_adj(X509_getm_notAfter(x), 36500 * kDay))
    return bad("validity");
  if (X509_set_pubkey(x, key.native()) != 1) return bad("X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(x);
  const std::string cn = key.id().to_string();
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                                 -1, 0) != 1)
    return bad("subject");
  if (X509_set_issuer_name(x, name) != 1) return bad("issuer");
  // Ed25519 signs the whole message: no separate digest (md must be null).
  if (X509_sign(x, key.native(), nullptr) <= 0) return bad("X509_sign");
  return cert;
}

ig::Expected<std::unique_ptr<ssl::context>> make_tls_context(const NodeKey& key) {
  std::unique_ptr<ssl::context> ctx;
  try {
    ctx = std::make_unique<ssl::context>(ssl::context::tls);
  } catch (const std::exception& e) {
    return ig::fail("p2p.tls", std::string("cannot create a TLS context: ") + e.what());
  }
  SSL_CTX* native = ctx->native_handle();
  auto bad = [](const std::string& what) { return ig::fail("p2p.tls", what + ": " + openssl_error()); };
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1) return bad("TLS 1.3 minimum");
  if (SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) return bad("TLS 1.3 maximum");
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 0);
  IG_TRY_ASSIGN(cert, make_self_signed_certificate(key));
  if (SSL_CTX_use_certificate(native, cert.get()) != 1) return bad("use certificate");
  if (SSL_CTX_use_PrivateKey(native, key.native()) != 1) return bad("use private key");
  if (SSL_CTX_check_private_key(native) != 1) return bad("certificate and key disagree");
  // Every stream sets its own callback; this mode asks the peer for a certificate and fails the
  // handshake when a server gets none from its client.
  ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  return ctx;
}

ig::Expected<NodeId> node_id_of_certificate(X509* cert) {
  auto bad = [](const std::string& why) { return ig::fail("p2p.bad_certificate", why); };
  if (!cert) return bad("no certificate");
  EVP_PKEY* pkey = X509_get0_pubkey(cert);
  if (!pkey || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) return bad("the certificate key is not Ed25519");
  NodeId id;
  size_t len = id.bytes.size();
  if (EVP_PKEY_get_raw_public_key(pkey, id.bytes.data(), &len) != 1 || len != id.bytes.size())
    return bad("cannot read the certificate's Ed25519 key");
  if (X509_verify(cert, pkey) != 1) {
    ERR_clear_error();
    return bad("the certificate is not signed by its own key");
  }
  return id;
}

}  // namespace ig::p2p::detail
