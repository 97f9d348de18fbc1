// Transfers: the oldest transaction kind, kept as a thin layer over wallet/transaction.hpp.
//
//   ig::wallet::TransferSpec spec{.chain_id = "devnet", .to = bob, .amount = 5, .nonce = 0,
//                                 .expiry_height = head + 100};
//   spec.fee = ig::wallet::minimum_fee(schedule, spec, key.public_key());   // when not given
//   IG_TRY_ASSIGN(tx, ig::wallet::sign_transfer(spec, key));
#pragma once

#include <string>

#include "wallet/transaction.hpp"

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

TxSpec envelope_of(const TransferSpec& spec);
chain::Payload transfer_payload(const TransferSpec& spec);
chain::TxBody transfer_body(const TransferSpec& spec, const chain::Address& sender);

// Validates the chain id and memo, then signs. Codes "arg.bad_chain_id", "arg.bad_memo".
Expected<chain::Transaction> sign_transfer(const TransferSpec& spec, const chain::SecretKey& key);

chain::Amount minimum_fee(const chain::FeeSchedule& schedule, const TransferSpec& spec, const chain::Address& sender);

}  // namespace ig::wallet
