#include "wallet/transaction.hpp"

#include "chain/json_view.hpp"
#include "wallet/parse.hpp"
#include "wallet/secure_file.hpp"

namespace ig::wallet {

using json = nlohmann::json;
using chain::to_hex;

namespace {

Status check_len(size_t size, size_t cap, const char* what) {
  if (size > cap)
    return fail("arg.too_long", std::string(what) + " is " + std::to_string(size) + " bytes; the limit is " + std::to_string(cap));
  return {};
}

Status check_count(size_t n, size_t cap, const char* what) {
  if (n > cap) return fail("arg.too_many", std::string(what) + ": " + std::to_string(n) + " given; the limit is " + std::to_string(cap));
  return {};
}

}  // namespace

chain::TxBody tx_body(const TxSpec& spec, const chain::Payload& payload, const chain::Address& sender) {
  chain::TxBody body;
  body.chain_id = spec.chain_id;
  body.sender = sender;
  body.nonce = spec.nonce;
  body.fee = spec.fee;
  body.expiry_height = spec.expiry_height;
  body.payload = payload;
  return body;
}

Status check_payload(const chain::Payload& payload) {
  return std::visit([](const auto& p) -> Status {
    using T = std::decay_t<decltype(p)>;
    if constexpr (std::is_same_v<T, chain::Transfer>) return validate_memo(p.memo);
    if constexpr (std::is_same_v<T, chain::RegisterMiner> || std::is_same_v<T, chain::UpdateMiner>) {
      IG_TRY(check_len(p.profile.gpu_class.size(), chain::kMaxNameBytes, "--gpu-class"));
      return check_count(p.profile.models.size(), chain::kMaxServedModels, "--model");
    }
    if constexpr (std::is_same_v<T, chain::RegisterModel>) {
      IG_TRY(check_len(p.name.size(), chain::kMaxNameBytes, "--name"));
      return check_len(p.architecture.size(), chain::kMaxNameBytes, "--architecture");
    }
    if constexpr (std::is_same_v<T, chain::SubmitTask>) return check_len(p.prompt.size(), chain::kMaxPromptBytes, "the prompt");
    if constexpr (std::is_same_v<T, chain::SubmitResult>) {
      IG_TRY(check_count(p.output_tokens.size(), chain::kMaxOutputTokens, "output tokens"));
      IG_TRY(check_count(p.fingerprints.size(), chain::kMaxOutputTokens, "fingerprints"));
      IG_TRY(check_len(p.text.size(), chain::kMaxResultTextBytes, "the text"));
      // A receipt the codec cannot decode back would make the whole transaction undecodable.
      if (auto why = ig::backend_problem(p.receipt.backend); !why.empty()) return fail("arg.invalid", "the receipt's backend: " + why);
      return {};
    }
    if constexpr (std::is_same_v<T, chain::Verdict>) {
      IG_TRY(check_len(p.reason.size(), chain::kMaxReasonBytes, "the reason"));
      if (p.evidence) return check_count(p.evidence->proof.siblings.size(), chain::kMaxProofSiblings, "proof siblings");
      return {};
    }
    if constexpr (std::is_same_v<T, chain::RevealWeights>) return check_count(p.weights.size(), chain::kMaxWeights, "weights");
    if constexpr (std::is_same_v<T, chain::ProposeValidator>) return check_len(p.name.size(), chain::kMaxNameBytes, "--name");
    return {};
  }, payload);
}

Expected<chain::Transaction> sign_payload(const TxSpec& spec, const chain::Payload& payload, const chain::SecretKey& key) {
  IG_TRY(validate_chain_id(spec.chain_id));
  IG_TRY(check_payload(payload));
  return chain::sign_tx(tx_body(spec, payload, key.public_key()), key);
}

size_t encoded_tx_size(const chain::TxBody& body) {
  chain::Writer w;
  chain::encode_tx(w, chain::Transaction{body, {}});
  return w.data().size();
}

chain::Amount minimum_fee(const chain::FeeSchedule& schedule, chain::TxBody body) {
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
  json doc = {{"tx", to_hex(chain::encode_tx(tx))}, {"hash", to_hex(chain::tx_hash(tx))}};
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
      return fail("txfile.hash_mismatch", "\"hash\" does not match the transaction (it hashes to " + to_hex(out.hash) + ")");
  }
  if (!chain::verify_tx_signature(out.tx))
    return fail("txfile.bad_signature", "the transaction's signature does not verify for its sender");
  return out;
}

Expected<SignedTxFile> read_signed_tx_file(const std::string& path) {
  IG_TRY_ASSIGN(text, read_small_file(path, 2 * chain::kMaxTxBytes + 4096));
  return parse_signed_tx(text);
}

json payload_to_json(const chain::Payload& payload) { return chain::payload_to_json(payload); }

json tx_to_json(const chain::Transaction& tx) {
  json out = chain::tx_to_json(tx);
  // Transfers also show their essentials at the top level, where scripts look first.
  if (const auto* t = std::get_if<chain::Transfer>(&tx.body.payload)) {
    out["to"] = chain::address_to_string(t->to);
    out["amount"] = std::to_string(t->amount);
    out["memo"] = t->memo;
  }
  return out;
}

}  // namespace ig::wallet
