// Building and signing a transaction of any kind, its minimum fee, the offline-signed
// transaction file and a readable JSON view. Every wallet command goes through these.
//
//   ig::wallet::TxSpec spec{.chain_id = "devnet", .nonce = 0, .expiry_height = head + 100};
//   chain::Payload payload = chain::Stake{chain::StakeRole::kMiner, 5'000};
//   spec.fee = ig::wallet::minimum_fee(schedule, ig::wallet::tx_body(spec, payload, key.public_key()));
//   IG_TRY_ASSIGN(tx, ig::wallet::sign_payload(spec, payload, key));
//
// A signed-transaction file is {"tx": "<hex of the canonical encoding>", "hash": "<hex>"}.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "chain/genesis.hpp"
#include "chain/tx.hpp"

namespace ig::wallet {

// The envelope of a transaction: everything but the payload and the sender.
struct TxSpec {
  std::string chain_id;
  chain::Amount fee = 0;
  uint64_t nonce = 0;
  uint64_t expiry_height = 0;  // 0 = never expires
};

chain::TxBody tx_body(const TxSpec& spec, const chain::Payload& payload, const chain::Address& sender);

// Validates the chain id and the payload's encodable limits (check_payload), then signs.
Expected<chain::Transaction> sign_payload(const TxSpec& spec, const chain::Payload& payload, const chain::SecretKey& key);

// What the codec would refuse, caught before signing: a memo, name, prompt, result text,
// verdict reason or list beyond its cap, a receipt whose backend tag cannot decode. Codes
// "arg.bad_memo", "arg.too_long", "arg.too_many", "arg.invalid".
Status check_payload(const chain::Payload& payload);

// The least fee the schedule accepts for this body: base + per_byte × encoded size. The fee
// is a field of the encoding, so the size is recomputed with each candidate fee until it no
// longer changes (with fixed-width integers it settles at once, but the rule holds for any codec).
chain::Amount minimum_fee(const chain::FeeSchedule& schedule, chain::TxBody body);

// The encoded size of a signed transaction with this body (the signature is fixed-size).
size_t encoded_tx_size(const chain::TxBody& body);

struct SignedTxFile {
  chain::Transaction tx;
  chain::Hash hash{};
};

std::string signed_tx_to_json(const chain::Transaction& tx);
// Checks that "tx" decodes, that "hash" (when present) is its hash and that its signature
// verifies. Codes "txfile.malformed", "txfile.hash_mismatch", "txfile.bad_signature".
Expected<SignedTxFile> parse_signed_tx(std::string_view json_text);
Expected<SignedTxFile> read_signed_tx_file(const std::string& path);

// A readable view of a transaction: {"hash","chain_id","sender","nonce","fee","expiry_height",
// "type","payload":{...},"signature"}; a Transfer also has "to","amount","memo" at the top.
// Amounts are decimal strings, hashes and keys hex. docs/wallet.md lists every payload shape.
nlohmann::json tx_to_json(const chain::Transaction& tx);
nlohmann::json payload_to_json(const chain::Payload& payload);

}  // namespace ig::wallet
