#include "chain/json_view.hpp"

#include "chain/hash.hpp"

namespace ig::chain {


static json role_json(StakeRole r) { return r == StakeRole::kValidator ? "validator" : "miner"; }

static json profile_json(const MinerProfile& p) {
  json models = json::array();
  for (const auto& m : p.models) models.push_back(to_hex(m));
  return {{"gpu_class", p.gpu_class}, {"memory_mb", p.memory_mb}, {"max_concurrent", p.max_concurrent}, {"models", models}};
}

json sampling_to_json(const SamplingParams& p) {
  return {{"max_tokens", p.max_tokens}, {"temperature_milli", p.temperature_milli}, {"top_k", p.top_k},
          {"top_p_milli", p.top_p_milli}, {"seed", p.seed}};
}

json inference_receipt_to_json(const ig::InferenceReceipt& r) {
  return {{"model_id", to_hex(r.model_id)},
          {"prompt_hash", to_hex(r.prompt_hash)},
          {"params_hash", to_hex(r.params_hash)},
          {"output_hash", to_hex(r.output_hash)},
          {"fingerprint_root", to_hex(r.fingerprint_root)},
          {"steps", r.steps},
          {"backend", r.backend},
          {"receipt_id", to_hex(ig::receipt_id(r))}};
}

json fingerprint_to_json(const ig::Fingerprint& f) {
  return {{"token", f.token}, {"logit_q", f.logit_q}, {"runner_up_q", f.runner_up_q}};
}

json step_evidence_to_json(const StepEvidence& e) {
  json siblings = json::array();
  for (const auto& h : e.proof.siblings) siblings.push_back(to_hex(h));
  return {{"claimed", fingerprint_to_json(e.claimed)},
          {"proof", {{"index", e.proof.index}, {"leaf_count", e.proof.leaf_count}, {"siblings", siblings}}},
          {"recomputed", fingerprint_to_json(e.recomputed)}};
}

static json vote_json(const SignedVote& v) {
  return {{"type", v.type}, {"height", v.height}, {"round", v.round}, {"block_hash", to_hex(v.block_hash)},
          {"validator", to_hex(v.validator)}, {"signature", to_hex(v.signature)}};
}

json payload_to_json(const Payload& p) {
  return std::visit([](const auto& v) -> json {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, Transfer>)
      return {{"to", address_to_string(v.to)}, {"amount", std::to_string(v.amount)}, {"memo", v.memo}};
    if constexpr (std::is_same_v<T, Stake> || std::is_same_v<T, Unstake>)
      return {{"role", role_json(v.role)}, {"amount", std::to_string(v.amount)}};
    if constexpr (std::is_same_v<T, RegisterMiner> || std::is_same_v<T, UpdateMiner>) return profile_json(v.profile);
    if constexpr (std::is_same_v<T, RegisterModel>)
      return {{"model_id", to_hex(v.model_id)}, {"name", v.name}, {"architecture", v.architecture},
              {"price_per_token", std::to_string(v.price_per_token)}, {"context_limit", v.context_limit}};
    if constexpr (std::is_same_v<T, SubmitTask>)
      return {{"model_id", to_hex(v.model_id)}, {"prompt", v.prompt}, {"params", sampling_to_json(v.params)},
              {"max_fee", std::to_string(v.max_fee)}};
    if constexpr (std::is_same_v<T, SubmitResult>) {
      json fps = json::array();
      for (const auto& f : v.fingerprints) fps.push_back(fingerprint_to_json(f));
      return {{"task_id", v.task_id}, {"output_tokens", v.output_tokens}, {"fingerprints", fps}, {"text", v.text},
              {"receipt", inference_receipt_to_json(v.receipt)}};
    }
    if constexpr (std::is_same_v<T, CancelTask>) return {{"task_id", v.task_id}};
    if constexpr (std::is_same_v<T, Verdict>)
      return {{"task_id", v.task_id}, {"accept", v.accept}, {"first_bad_step", v.first_bad_step}, {"reason", v.reason},
              {"evidence", v.evidence ? step_evidence_to_json(*v.evidence) : json(nullptr)}};
    if constexpr (std::is_same_v<T, CommitWeights>) return {{"epoch", v.epoch}, {"commit", to_hex(v.commit)}};
    if constexpr (std::is_same_v<T, RevealWeights>) {
      json ws = json::array();
      for (const auto& e : v.weights) ws.push_back({{"uid", e.uid}, {"weight", e.weight}});
      return {{"epoch", v.epoch}, {"weights", ws}, {"salt", to_hex(v.salt)}};
    }
    if constexpr (std::is_same_v<T, Evidence>) return {{"a", vote_json(v.a)}, {"b", vote_json(v.b)}};
    if constexpr (std::is_same_v<T, ProposeValidator>)
      return {{"consensus_key", to_hex(v.consensus_key)}, {"account", address_to_string(v.account)}, {"name", v.name}};
    if constexpr (std::is_same_v<T, ApproveValidator>) return {{"proposal_id", v.proposal_id}};
  }, p);
}

json tx_to_json(const Transaction& tx) {
  const auto& b = tx.body;
  return {{"hash", to_hex(tx_hash(tx))},
          {"chain_id", b.chain_id},
          {"sender", address_to_string(b.sender)},
          {"nonce", b.nonce},
          {"fee", std::to_string(b.fee)},
          {"expiry_height", b.expiry_height},
          {"type", payload_name(b.payload)},
          {"payload", payload_to_json(b.payload)},
          {"signature", to_hex(tx.signature)}};
}

json header_to_json(const BlockHeader& h) {
  return {{"hash", to_hex(block_hash(h))},
          {"chain_id", h.chain_id},
          {"height", h.height},
          {"time_ms", h.time_ms},
          {"prev_hash", to_hex(h.prev_hash)},
          {"tx_root", to_hex(h.tx_root)},
          {"receipts_root", to_hex(h.receipts_root)},
          {"state_root", to_hex(h.state_root)},
          {"proposer", to_hex(h.proposer)},
          {"validators_hash", to_hex(h.validators_hash)},
          {"last_commit_hash", to_hex(h.last_commit_hash)}};
}

json commit_to_json(const Commit& c) {
  json sigs = json::array();
  for (const auto& s : c.signatures) sigs.push_back({{"validator", to_hex(s.validator)}, {"signature", to_hex(s.signature)}});
  return {{"height", c.height}, {"round", c.round}, {"block_hash", to_hex(c.block_hash)}, {"signatures", sigs}};
}

json block_to_json(const Block& b, bool full_txs) {
  json txs = json::array();
  for (const auto& tx : b.txs) txs.push_back(full_txs ? tx_to_json(tx) : json(to_hex(tx_hash(tx))));
  json header = header_to_json(b.header);
  return {{"hash", header["hash"]}, {"header", header}, {"txs", txs}, {"last_commit", commit_to_json(b.last_commit)}};
}

json event_to_json(const Event& e) {
  json attrs = json::object();
  for (const auto& a : e.attributes) attrs[a.key] = a.value;
  return {{"type", e.type}, {"attributes", attrs}};
}

json receipt_to_json(const Receipt& r) {
  json events = json::array();
  for (const auto& e : r.events) events.push_back(event_to_json(e));
  return {{"tx_hash", to_hex(r.tx_hash)},
          {"height", r.height},
          {"index", r.index},
          {"status", tx_code_name(r.code)},
          {"code", static_cast<uint32_t>(r.code)},
          {"error", r.error},
          {"fee_paid", std::to_string(r.fee_paid)},
          {"events", events}};
}

json params_to_json(const ChainParams& p) {
  return {{"block_time_ms", p.block_time_ms},
          {"max_block_txs", p.max_block_txs},
          {"max_block_bytes", p.max_block_bytes},
          {"max_tx_bytes", p.max_tx_bytes},
          {"fee", {{"base", std::to_string(p.fee.base)}, {"per_byte", std::to_string(p.fee.per_byte)}}}};
}

json validator_to_json(const Validator& v) {
  return {{"name", v.name},
          {"consensus_key", to_hex(v.consensus_key)},
          {"account", address_to_string(v.account)},
          {"stake", std::to_string(v.power)}};
}

}  // namespace ig::chain
