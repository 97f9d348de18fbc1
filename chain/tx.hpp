// Transactions: {chain_id, sender, nonce, fee, expiry_height, payload} + BIP-340 signature.
//
// The signature covers signing_hash("infergrid/tx/v1", chain_id, encode(body)). Nonces are
// strictly sequential per sender; chain id and expiry give replay protection. The payload is a
// tagged variant: new transaction kinds add an alternative and a tag, never reuse one.
#pragma once

#include <string>
#include <variant>

#include "chain/amount.hpp"
#include "chain/address.hpp"
#include "chain/codec.hpp"
#include "chain/payloads.hpp"

namespace ig::chain {


struct TxBody {
  std::string chain_id;
  Address sender{};
  uint64_t nonce = 0;
  Amount fee = 0;
  uint64_t expiry_height = 0;  // last height at which it may be included; 0 = never expires
  Payload payload;
  bool operator==(const TxBody&) const = default;
};

struct Transaction {
  TxBody body;
  Signature signature{};
  bool operator==(const Transaction&) const = default;
};

void encode_body(Writer& w, const TxBody& body);
void encode_tx(Writer& w, const Transaction& tx);
Bytes encode_tx(const Transaction& tx);
Transaction read_tx(Reader& r);  // errors are recorded in the reader
Expected<Transaction> decode_tx(ByteView bytes);

Hash tx_hash(const Transaction& tx);  // SHA-256 of the canonical encoding
Hash tx_signing_hash(const TxBody& body);
Transaction sign_tx(TxBody body, const SecretKey& key);
bool verify_tx_signature(const Transaction& tx);

// Stateless checks every node makes before anything else: size, chain id, expiry at `height`,
// signature. Stateful checks (nonce, balance) belong to the Application.
Status check_tx_stateless(const Transaction& tx, size_t encoded_size, std::string_view chain_id, uint64_t height);

}  // namespace ig::chain
