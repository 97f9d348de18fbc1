#include "node/chain_json.hpp"

#include "chain/hash.hpp"

namespace ig::node {

using chain::to_hex;

static json payload_to_json(const chain::Payload& p) {
  return std::visit([](const auto& v) -> json {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, chain::Transfer>)
      return {{"to", chain::address_to_string(v.to)}, {"amount", std::to_string(v.amount)}, {"memo", v.memo}};
  }, p);
}

json tx_to_json(const chain::Transaction& tx) {
  const auto& b = tx.body;
  return {{"hash", to_hex(chain::tx_hash(tx))},
          {"chain_id", b.chain_id},
          {"sender", chain::address_to_string(b.sender)},
          {"nonce", b.nonce},
          {"fee", std::to_string(b.fee)},
          {"expiry_height", b.expiry_height},
          {"type", chain::payload_name(b.payload)},
          {"payload", payload_to_json(b.payload)},
          {"signature", to_hex(tx.signature)}};
}

json header_to_json(const chain::BlockHeader& h) {
  return {{"hash", to_hex(chain::block_hash(h))},
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

json commit_to_json(const chain::Commit& c) {
  json sigs = json::array();
  for (const auto& s : c.signatures) sigs.push_back({{"validator", to_hex(s.validator)}, {"signature", to_hex(s.signature)}});
  return {{"height", c.height}, {"round", c.round}, {"block_hash", to_hex(c.block_hash)}, {"signatures", sigs}};
}

json block_to_json(const chain::Block& b, bool full_txs) {
  json txs = json::array();
  for (const auto& tx : b.txs) txs.push_back(full_txs ? tx_to_json(tx) : json(to_hex(chain::tx_hash(tx))));
  json header = header_to_json(b.header);
  return {{"hash", header["hash"]}, {"header", header}, {"txs", txs}, {"last_commit", commit_to_json(b.last_commit)}};
}

json event_to_json(const chain::Event& e) {
  json attrs = json::object();
  for (const auto& a : e.attributes) attrs[a.key] = a.value;
  return {{"type", e.type}, {"attributes", attrs}};
}

json receipt_to_json(const chain::Receipt& r) {
  json events = json::array();
  for (const auto& e : r.events) events.push_back(event_to_json(e));
  return {{"tx_hash", to_hex(r.tx_hash)},
          {"height", r.height},
          {"index", r.index},
          {"status", chain::tx_code_name(r.code)},
          {"code", static_cast<uint32_t>(r.code)},
          {"error", r.error},
          {"fee_paid", std::to_string(r.fee_paid)},
          {"events", events}};
}

json params_to_json(const chain::ChainParams& p) {
  return {{"block_time_ms", p.block_time_ms},
          {"max_block_txs", p.max_block_txs},
          {"max_block_bytes", p.max_block_bytes},
          {"max_tx_bytes", p.max_tx_bytes},
          {"fee", {{"base", std::to_string(p.fee.base)}, {"per_byte", std::to_string(p.fee.per_byte)}}}};
}

json validator_to_json(const chain::Validator& v) {
  return {{"name", v.name},
          {"consensus_key", to_hex(v.consensus_key)},
          {"account", chain::address_to_string(v.account)},
          {"stake", std::to_string(v.power)}};
}

}  // namespace ig::node
