#include "wallet/transaction.hpp"

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

const char* role_name(chain::StakeRole r) { return r == chain::StakeRole::kValidator ? "validator" : "miner"; }

json profile_json(const chain::MinerProfile& p) {
  json models = json::array();
  for (const auto& m : p.models) models.push_back(to_hex(m));
  return {{"gpu_class", p.gpu_class}, {"memory_mb", p.memory_mb}, {"max_concurrent", p.max_concurrent}, {"models", models}};
}

json sampling_json(const chain::SamplingParams& p) {
  return {{"max_tokens", p.max_tokens}, {"temperature_milli", p.temperature_milli}, {"top_k", p.top_k},
          {"top_p_milli", p.top_p_milli}, {"seed", p.seed}};
}

json receipt_json(const chain::ResultReceipt& r) {
  return {{"model_id", to_hex(r.model_id)},       {"prompt_hash", to_hex(r.prompt_hash)},
          {"params_hash", to_hex(r.params_hash)}, {"output_hash", to_hex(r.output_hash)},
          {"fingerprint_root", to_hex(r.fingerprint_root)}, {"steps", r.steps}};
}

json vote_json(const chain::SignedVote& v) {
  return {{"type", v.type}, {"height", v.height}, {"round", v.round}, {"block_hash", to_hex(v.block_hash)},
          {"validator", to_hex(v.validator)}, {"signature", to_hex(v.signature)}};
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
    if constexpr (std::is_same_v<T, chain::SubmitResult>) return check_count(p.output_tokens.size(), chain::kMaxOutputTokens, "output tokens");
    if constexpr (std::is_same_v<T, chain::Verdict>) return check_len(p.evidence.size(), chain::kMaxEvidenceBytes, "the evidence");
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

json payload_to_json(const chain::Payload& payload) {
  return std::visit([](const auto& v) -> json {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, chain::Transfer>)
      return {{"to", chain::address_to_string(v.to)}, {"amount", std::to_string(v.amount)}, {"memo", v.memo}};
    if constexpr (std::is_same_v<T, chain::Stake> || std::is_same_v<T, chain::Unstake>)
      return {{"role", role_name(v.role)}, {"amount", std::to_string(v.amount)}};
    if constexpr (std::is_same_v<T, chain::RegisterMiner> || std::is_same_v<T, chain::UpdateMiner>) return profile_json(v.profile);
    if constexpr (std::is_same_v<T, chain::RegisterModel>)
      return {{"model_id", to_hex(v.model_id)}, {"name", v.name}, {"architecture", v.architecture},
              {"price_per_token", std::to_string(v.price_per_token)}, {"context_limit", v.context_limit}};
    if constexpr (std::is_same_v<T, chain::SubmitTask>)
      return {{"model_id", to_hex(v.model_id)}, {"prompt", v.prompt}, {"params", sampling_json(v.params)},
              {"max_fee", std::to_string(v.max_fee)}};
    if constexpr (std::is_same_v<T, chain::SubmitResult>)
      return {{"task_id", v.task_id}, {"output_tokens", v.output_tokens}, {"receipt", receipt_json(v.receipt)}};
    if constexpr (std::is_same_v<T, chain::CancelTask>) return {{"task_id", v.task_id}};
    if constexpr (std::is_same_v<T, chain::Verdict>)
      return {{"task_id", v.task_id}, {"accept", v.accept}, {"first_bad_step", v.first_bad_step}, {"evidence", to_hex(v.evidence)}};
    if constexpr (std::is_same_v<T, chain::CommitWeights>) return {{"epoch", v.epoch}, {"commit", to_hex(v.commit)}};
    if constexpr (std::is_same_v<T, chain::RevealWeights>) {
      json ws = json::array();
      for (const auto& e : v.weights) ws.push_back({{"uid", e.uid}, {"weight", e.weight}});
      return {{"epoch", v.epoch}, {"weights", ws}, {"salt", to_hex(v.salt)}};
    }
    if constexpr (std::is_same_v<T, chain::Evidence>) return {{"a", vote_json(v.a)}, {"b", vote_json(v.b)}};
    if constexpr (std::is_same_v<T, chain::ProposeValidator>)
      return {{"consensus_key", to_hex(v.consensus_key)}, {"account", chain::address_to_string(v.account)}, {"name", v.name}};
    if constexpr (std::is_same_v<T, chain::ApproveValidator>) return {{"proposal_id", v.proposal_id}};
  }, payload);
}

json tx_to_json(const chain::Transaction& tx) {
  const chain::TxBody& b = tx.body;
  json out = {{"hash", to_hex(chain::tx_hash(tx))},
              {"chain_id", b.chain_id},
              {"sender", chain::address_to_string(b.sender)},
              {"nonce", b.nonce},
              {"fee", std::to_string(b.fee)},
              {"expiry_height", b.expiry_height},
              {"type", chain::payload_name(b.payload)},
              {"payload", payload_to_json(b.payload)}};
  if (const auto* t = std::get_if<chain::Transfer>(&b.payload)) {
    out["to"] = chain::address_to_string(t->to);
    out["amount"] = std::to_string(t->amount);
    out["memo"] = t->memo;
  }
  out["signature"] = to_hex(tx.signature);
  return out;
}

}  // namespace ig::wallet
