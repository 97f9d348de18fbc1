#include "wallet/transfer.hpp"

namespace ig::wallet {

TxSpec envelope_of(const TransferSpec& spec) { return TxSpec{spec.chain_id, spec.fee, spec.nonce, spec.expiry_height}; }

chain::Payload transfer_payload(const TransferSpec& spec) { return chain::Transfer{spec.to, spec.amount, spec.memo}; }

chain::TxBody transfer_body(const TransferSpec& spec, const chain::Address& sender) {
  return tx_body(envelope_of(spec), transfer_payload(spec), sender);
}

Expected<chain::Transaction> sign_transfer(const TransferSpec& spec, const chain::SecretKey& key) {
  return sign_payload(envelope_of(spec), transfer_payload(spec), key);
}

chain::Amount minimum_fee(const chain::FeeSchedule& schedule, const TransferSpec& spec, const chain::Address& sender) {
  return minimum_fee(schedule, transfer_body(spec, sender));
}

}  // namespace ig::wallet
