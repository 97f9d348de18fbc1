#include "wallet/transfer.hpp"

#include "wallet/parse.hpp"
#include "wallet/secure_file.hpp"

namespace ig::wallet {

using json = nlohmann::json;

chain::TxBody transfer_body(const TransferSpec& spec, const chain::Address& sender) {
  chain::TxBody body;
  body.chain_id = spec.chain_id;
  body.sender = sender;
  body.nonce = spec.nonce;
  body.fee = spec.fee;
  body.expiry_height = spec.expiry_height;
  body.payload = chain::Transfer{spec.to, spec.amount, spec.memo};
  return body;
}

Expected<chain::Transaction> sign_transfer(const TransferSpec& spec, const chain::SecretKey& key) {
  IG_TRY(validate_chain_id(spec.chain_id));
  IG_TRY(validate_memo(spec.memo));
  return chain::sign_tx(transfer_body(spec, key.public_key()), key);
}

size_t encoded_tx_size(const chain::TxBody& body) {
  chain::Writer w;
  chain::encode_tx(w, chain::Transaction{body, {}});
  return w.data().size();
}

chain::Amount minimum_fee(const chain::FeeSchedule& schedule, const TransferSpec& spec, const chain::Address& sender) {
  chain::TxBody body = transfer_body(spec, sender);
  body.fee = chain::min_fee(schedule, encoded_tx_size(body));
  // A fixed point exists because the size is bounded; a handful of rounds is plenty.
  for (int round = 0; round < 16; ++round) {
    chain::Amount needed = chain::min_fee(schedule, encoded_tx_size(body));
    if (needed == body.fee) break;
    body.fee = std::max(body.fee, needed);
  }
  return body.fee;
}

std::string signed_tx_to_json(const chain::Transaction& tx) {
  json doc = {{"tx", chain::to_hex(chain::encode_tx(tx))}, {"hash", chain::to_hex(chain::tx_hash(tx))}};
  return doc.dump(2) + "\n";
}

Expected<SignedTxFile> parse_signed_tx(std::string_view json_text) {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return fail("txfile.malformed", "signed transaction file is not a JSON object");
  auto tx_it = doc.find("tx");
  if (tx_it == doc.end() || !tx_it->is_string())
    return fail("txfile.malformed", "signed transaction file has no \"tx\" hex string");
  auto raw = chain::from_hex(tx_it->get<std::string>());
  if (!raw) return fail("txfile.malformed", "\"tx\" is not valid hex: " + raw.error().message);
  auto tx = chain::decode_tx(*raw);
  if (!tx) return fail("txfile.malformed", "\"tx\" is not a valid transaction: " + tx.error().to_string());
  SignedTxFile out{*tx, chain::tx_hash(*tx)};
  if (auto h = doc.find("hash"); h != doc.end()) {
    if (!h->is_string()) return fail("txfile.malformed", "\"hash\" is not a string");
    auto stated = parse_hash_hex(h->get<std::string>());
    if (!stated) return fail("txfile.malformed", stated.error().message);
    if (*stated != out.hash)
      return fail("txfile.hash_mismatch", "\"hash\" does not match the transaction (it hashes to " + chain::to_hex(out.hash) + ")");
  }
  if (!chain::verify_tx_signature(out.tx))
    return fail("txfile.bad_signature", "the transaction's signature does not verify for its sender");
  return out;
}

Expected<SignedTxFile> read_signed_tx_file(const std::string& path) {
  IG_TRY_ASSIGN(text, read_small_file(path, 2 * chain::kMaxTxBytes + 4096));
  return parse_signed_tx(text);
}

json tx_to_json(const chain::Transaction& tx) {
  const chain::TxBody& b = tx.body;
  json out = {{"hash", chain::to_hex(chain::tx_hash(tx))},
              {"chain_id", b.chain_id},
              {"sender", chain::address_to_string(b.sender)},
              {"nonce", b.nonce},
              {"fee", std::to_string(b.fee)},
              {"expiry_height", b.expiry_height},
              {"type", chain::payload_name(b.payload)}};
  std::visit([&](const auto& p) {
    using T = std::decay_t<decltype(p)>;
    if constexpr (std::is_same_v<T, chain::Transfer>) {
      out["to"] = chain::address_to_string(p.to);
      out["amount"] = std::to_string(p.amount);
      out["memo"] = p.memo;
    }
  }, b.payload);
  out["signature"] = chain::to_hex(tx.signature);
  return out;
}

}  // namespace ig::wallet
