// TLS for the P2P layer: a TLS 1.3-only context holding this node's self-signed certificate, and
// the check that turns a peer's certificate into its node id. Boost.Asio and OpenSSL appear here
// and in the .cpp files only (and in tests that drive TLS by hand).
#pragma once

#include <memory>

#include <boost/asio/ssl.hpp>

#include "common/expected.hpp"
#include "p2p/node_key.hpp"

namespace ig::p2p::detail {

namespace ssl = boost::asio::ssl;

// A self-signed X.509 v3 certificate for `key`: subject and issuer CN = the node id, a random
// serial, valid from a day ago for 100 years (peers never check dates: the identity is the key,
// and clocks of different machines need not agree). "p2p.tls" on failure.
ig::Expected<std::shared_ptr<X509>> make_self_signed_certificate(const NodeKey& key);

// A context for both roles: TLS 1.3 only, our certificate and key, no session tickets or cache
// (a resumed session would skip the certificate check), peer verification requested. The caller
// sets the verify callback per stream. "p2p.tls" on failure.
ig::Expected<std::unique_ptr<ssl::context>> make_tls_context(const NodeKey& key);

// The node id a certificate proves: it must carry an Ed25519 key and be signed by that same key.
// (TLS itself proves the peer holds the private key: its CertificateVerify is checked against the
// certificate's key.) "p2p.bad_certificate" otherwise.
ig::Expected<NodeId> node_id_of_certificate(X509* cert);

}  // namespace ig::p2p::detail
