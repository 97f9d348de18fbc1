#include "node/rpc_methods.hpp"

#include "chain/hash.hpp"
#include "contracts/bank.hpp"
#include "chain/json_view.hpp"

namespace ig::node {

using namespace ig::chain;  // the JSON views of chain values

using rpc::MethodResult;
using rpc::RpcError;

namespace {

constexpr const char* kVersion = "0.1.0";

// Positional (params[i]) or named (params[name]) parameter; null when absent.
json param(const json& params, size_t index, const char* name) {
  if (params.is_array()) return index < params.size() ? params[index] : json();
  if (params.is_object() && params.contains(name)) return params[name];
  return json();
}

Expected<chain::Hash> hash_param(const json& params, size_t index, const char* name) {
  json p = param(params, index, name);
  if (!p.is_string()) return fail("params", std::string(name) + " must be a 32-byte hex string");
  return chain::from_hex_fixed<32>(p.get<std::string>());
}

RpcError bad_params(const Error& e) { return rpc::invalid_params(e.message); }
RpcError internal(const Error& e) { return RpcError{rpc::kServerError, e.message}; }

MethodResult chain_head(chain::Ledger& ledger) {
  chain::Head h = ledger.head();
  json out = {{"height", h.height}, {"hash", chain::to_hex(h.hash)}, {"state_root", chain::to_hex(h.state_root)},
              {"chain_id", ledger.chain_id()}, {"time_ms", 0}};
  if (h.height > 0) {
    auto b = ledger.store().block_at(h.height);
    if (b && *b) out["time_ms"] = (*b)->header.time_ms;
  }
  return out;
}

MethodResult chain_get_block(chain::Ledger& ledger, const json& params) {
  json which = param(params, 0, "block");
  if (which.is_null()) which = param(params, 0, "height");
  if (which.is_null()) which = param(params, 0, "hash");
  bool full = param(params, 1, "full_txs").is_boolean() ? param(params, 1, "full_txs").get<bool>() : true;
  uint64_t height = 0;
  if (which.is_number_unsigned()) {
    height = which.get<uint64_t>();
  } else if (which.is_string()) {
    auto h = chain::from_hex_fixed<32>(which.get<std::string>());
    if (!h) return bad_params(h.error());
    auto found = ledger.store().height_of(*h);
    if (!found) return rpc::not_found("no block with hash " + which.get<std::string>());
    height = *found;
  } else {
    return rpc::invalid_params("expected a block height (number) or block hash (hex string)");
  }
  auto block = ledger.store().block_at(height);
  if (!block) return internal(block.error());
  if (!*block) return rpc::not_found("no block at height " + std::to_string(height));
  json out = block_to_json(**block, full);
  auto commit = ledger.store().commit_at(height);
  if (commit && *commit) out["commit"] = commit_to_json(**commit);
  return out;
}

MethodResult chain_get_tx(chain::Ledger& ledger, const json& params) {
  auto hash = hash_param(params, 0, "hash");
  if (!hash) return bad_params(hash.error());
  auto loc = ledger.store().tx_location(*hash);
  if (!loc) return json(nullptr);
  auto block = ledger.store().block_at(loc->height);
  if (!block) return internal(block.error());
  if (!*block || loc->index >= (*block)->txs.size()) return internal(Error{"store", "tx index points outside its block"});
  const auto& tx = (*block)->txs[loc->index];
  return json{{"hash", chain::to_hex(*hash)}, {"height", loc->height}, {"index", loc->index},
              {"tx", tx_to_json(tx)}, {"raw", chain::to_hex(chain::encode_tx(tx))}};
}

MethodResult tx_send(chain::Ledger& ledger, const json& params) {
  json p = param(params, 0, "tx");
  if (!p.is_string()) return rpc::invalid_params("expected the signed transaction as a hex string");
  const std::string& hex = p.get_ref<const std::string&>();
  if (hex.size() > 2 * chain::kMaxTxBytes + 2) return RpcError{rpc::kTxRejected, "transaction too large", {{"reason", "tx.oversized"}}};
  auto raw = chain::from_hex(hex);
  if (!raw) return rpc::invalid_params(raw.error().message);
  auto tx = chain::decode_tx(*raw);
  if (!tx) return RpcError{rpc::kTxRejected, "malformed transaction: " + tx.error().message, {{"reason", tx.error().code}}};
  auto hash = ledger.submit(*tx);
  if (!hash) return RpcError{rpc::kTxRejected, hash.error().message, {{"reason", hash.error().code}}};
  return chain::to_hex(*hash);
}

MethodResult tx_receipt(chain::Ledger& ledger, const json& params) {
  auto hash = hash_param(params, 0, "hash");
  if (!hash) return bad_params(hash.error());
  auto r = ledger.store().receipt(*hash);
  if (!r) return internal(r.error());
  if (!*r) return json(nullptr);
  return receipt_to_json(**r);
}

MethodResult state_get_account(chain::Ledger& ledger, const json& params) {
  json p = param(params, 0, "address");
  if (!p.is_string()) return rpc::invalid_params("expected an ig1… address");
  auto addr = chain::address_from_string(p.get<std::string>());
  if (!addr) return bad_params(addr.error());
  // next_nonce counts the sender's pending transactions, so a wallet can send several in a row;
  // the account is read with them, so that no block commits in between.
  contracts::bank::Account acct;
  const size_t pending = ledger.mempool().pending_count(*addr, [&] {
    chain::State state(ledger.store().latest());
    acct = contracts::bank::get_account(state, *addr);
  });
  return json{{"address", chain::address_to_string(*addr)},
              {"balance", std::to_string(acct.balance)},
              {"nonce", acct.nonce},
              {"next_nonce", acct.nonce + pending}};
}

}  // namespace

Status register_methods(rpc::Server& server, chain::Ledger& ledger, const NodeIdentity& id) {
  chain::Ledger* l = &ledger;
  auto add = [&](const char* name, rpc::Handler h) { return server.add_method(name, std::move(h)); };
  IG_TRY(add("chain_head", [l](const json&) { return chain_head(*l); }));
  IG_TRY(add("chain_getBlock", [l](const json& p) { return chain_get_block(*l, p); }));
  IG_TRY(add("chain_getTx", [l](const json& p) { return chain_get_tx(*l, p); }));
  IG_TRY(add("chain_params", [l](const json&) -> MethodResult {
    auto p = l->params();
    if (!p) return internal(p.error());
    return params_to_json(*p);
  }));
  IG_TRY(add("chain_validators", [l](const json&) -> MethodResult {
    auto vs = l->validators();
    if (!vs) return internal(vs.error());
    json out = json::array();
    for (const auto& v : *vs) out.push_back(validator_to_json(v));
    return out;
  }));
  IG_TRY(add("tx_send", [l](const json& p) { return tx_send(*l, p); }));
  IG_TRY(add("tx_receipt", [l](const json& p) { return tx_receipt(*l, p); }));
  IG_TRY(add("state_getAccount", [l](const json& p) { return state_get_account(*l, p); }));
  IG_TRY(add("node_info", [l, id](const json&) -> MethodResult {
    return json{{"chain_id", l->chain_id()},
                {"version", kVersion},
                {"moniker", id.moniker},
                {"validator", id.validator_key ? json(chain::to_hex(*id.validator_key)) : json(nullptr)},
                {"height", l->head().height},
                {"mempool_size", l->mempool().size()}};
  }));
  return register_contract_methods(server, ledger);
}

static json event_notification(const chain::Event& e, uint64_t height, const std::optional<chain::Hash>& tx) {
  json out = event_to_json(e);
  out["height"] = height;
  out["tx_hash"] = tx ? json(chain::to_hex(*tx)) : json(nullptr);
  // Every address an event mentions, so subscribers can filter with {"accounts": "ig1…"}.
  json accounts = json::array();
  for (const auto& a : e.attributes)
    if (a.value.rfind("ig1", 0) == 0) accounts.push_back(a.value);
  out["accounts"] = accounts;
  // Task events carry the task id at the top level too, so workers can filter {"task": "42"}.
  for (const auto& a : e.attributes)
    if (a.key == "task") out["task"] = a.value;
  return out;
}

void publish_block(rpc::Server& server, const chain::CommittedBlock& cb) {
  json head = header_to_json(cb.block.header);
  head["tx_count"] = cb.block.txs.size();
  server.publish("newHeads", head);
  if (!server.has_subscribers("events")) return;  // don't build JSON nobody receives
  for (const auto& r : cb.receipts)
    for (const auto& e : r.events) server.publish("events", event_notification(e, r.height, r.tx_hash));
  for (const auto& e : cb.block_events) server.publish("events", event_notification(e, cb.block.header.height, std::nullopt));
}

}  // namespace ig::node
