// Building and signing transfers, the minimum fee, and the offline-signed transaction file.
//
//   ig::wallet::TransferSpec spec{.chain_id = "devnet", .to = bob, .amount = 5, .nonce = 0,
//                                 .expiry_height = head + 100};
//   spec.fee = ig::wallet::minimum_fee(schedule, spec, key.public_key());   // when not given
//   IG_TRY_ASSIGN(tx, ig::wallet::sign_transfer(spec, key));
//
// A signed-transaction file is {"tx": "<hex of the canonical encoding>", "hash": "<hex>"}.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "chain/genesis.hpp"
#include "chain/tx.hpp"

namespace ig::wallet {

struct TransferSpec {
  std::string chain_id;
  chain::Address to{};
  chain::Amount amount = 0;
  chain::Amount fee = 0;
  uint64_t nonce = 0;
  uint64_t expiry_height = 0;  // 0 = never expires
  std::string memo;
};

chain::TxBody transfer_body(const TransferSpec& spec, const chain::Address& sender);

// Validates the chain id and memo, then signs. Codes "arg.bad_chain_id", "arg.bad_memo".
Expected<chain::Transaction> sign_transfer(const TransferSpec& spec, const chain::SecretKey& key);

// The least fee the schedule accepts for this transfer: base + per_byte × encoded size. The fee
// is a field of the encoding, so the size is recomputed with each candidate fee until it no
// longer changes (with fixed-width integers it settles at once, but the rule holds for any codec).
chain::Amount minimum_fee(const chain::FeeSchedule& schedule, const TransferSpec& spec, const chain::Address& sender);

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
// "type":"Transfer","to","amount","memo","signature"}; amounts as decimal strings.
nlohmann::json tx_to_json(const chain::Transaction& tx);

}  // namespace ig::wallet
