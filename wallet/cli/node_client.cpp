#include "wallet/cli/node_client.hpp"

#include "rpc/client.hpp"
#include "wallet/cli/reply.hpp"
#include "wallet/parse.hpp"

namespace ig::wallet::cli {

using json = nlohmann::json;

namespace {

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

// Compares decoded addresses: "ig1..." and "IG1..." are one account.
bool same_address(const std::string& a, const std::string& b) {
  auto x = chain::address_from_string(a);
  auto y = chain::address_from_string(b);
  return x && y && *x == *y;
}

// A task as task_get / task_list return it (docs/rpc.md "Tasks"): every field the wallet reads.
Status check_task(const ReplyReader& rd, const json& t, const std::string& where) {
  IG_TRY(rd.object(t, where.empty() ? "result" : where.substr(0, where.size() - 1)));
  IG_TRY(rd.uint(t, "id", where));
  IG_TRY(rd.string(t, "status", where));
  IG_TRY(rd.string(t, "user", where));
  IG_TRY(rd.optional_string(t, "miner", where));
  for (const char* k : {"assigned_height", "deadline", "attempts"})
    if (t.contains(k)) IG_TRY(rd.uint(t, k, where));
  if (t.contains("tried")) {
    IG_TRY(rd.array_field(t, "tried", where));
    for (size_t i = 0; i < t["tried"].size(); ++i)
      if (!t["tried"][i].is_string())
        return rd.bad("field '" + where + "tried[" + std::to_string(i) + "]' is " + json_type_words(t["tried"][i]) + ", expected a string");
  }
  IG_TRY(rd.array_field(t, "verdicts", where));
  for (size_t i = 0; i < t["verdicts"].size(); ++i) {
    const std::string at = where + "verdicts[" + std::to_string(i) + "].";
    IG_TRY(rd.object(t["verdicts"][i], at.substr(0, at.size() - 1)));
    IG_TRY(rd.string(t["verdicts"][i], "account", at));
    IG_TRY(rd.boolean(t["verdicts"][i], "accept", at));
    IG_TRY(rd.string(t["verdicts"][i], "reason", at));
    IG_TRY(rd.uint(t["verdicts"][i], "first_bad_step", at));
  }
  for (const char* k : {"fee_paid", "refunded"}) IG_TRY(rd.amount(t, k, where));
  for (const char* k : {"miner_paid", "validators_paid"})
    if (t.contains(k)) IG_TRY(rd.amount(t, k, where));
  if (t.contains("result")) {
    IG_TRY(rd.object_field(t, "result", where));
    const json& r = t["result"];
    IG_TRY(rd.array_field(r, "output_tokens", where + "result."));
    IG_TRY(rd.string(r, "text", where + "result."));
    IG_TRY(rd.uint(r, "height", where + "result."));
    IG_TRY(rd.uint(r, "window_end", where + "result."));
    IG_TRY(rd.optional_string(r, "tx_hash", where + "result."));
  }
  return {};
}

}  // namespace

struct NodeClient::Impl {
  std::string url;
  std::chrono::milliseconds timeout{};
  std::optional<rpc::Client> ws;  // empty for http:// nodes
  int64_t next_id = 1;

  Expected<json> call_http(const std::string& method, const json& params) {
    json request = {{"jsonrpc", "2.0"}, {"id", next_id++}, {"method", method}, {"params", params}};
    IG_TRY_ASSIGN(reply, rpc::http_post(url, request.dump(), timeout));
    const ReplyReader rd(method);
    if (!reply.is_object()) return rd.bad("the reply is " + json_type_words(reply) + ", not a JSON-RPC object");
    if (auto err = reply.find("error"); err != reply.end()) {
      // The node's error is news to pass on, but only if it is one: a code and a message.
      IG_TRY(rd.object(*err, "error"));
      auto code = err->find("code");
      if (code == err->end() || !code->is_number_integer()) return rd.bad("error has no integer 'code'");
      IG_TRY_ASSIGN(message, rd.string(*err, "message", "error."));
      if (err->contains("data") && !(*err)["data"].is_null())
        message += " (data: " + (*err)["data"].dump(-1, ' ', false, json::error_handler_t::replace) + ")";
      return fail("rpc." + std::to_string(code->get<int64_t>()), message);
    }
    auto result = reply.find("result");
    if (result == reply.end()) return rd.bad("it has neither result nor error");
    return std::move(*result);
  }
};

NodeClient::NodeClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NodeClient::NodeClient(NodeClient&&) noexcept = default;
NodeClient& NodeClient::operator=(NodeClient&&) noexcept = default;
NodeClient::~NodeClient() = default;

Expected<NodeClient> NodeClient::connect(const std::string& url, std::chrono::milliseconds timeout) {
  auto impl = std::make_unique<Impl>();
  impl->url = url;
  impl->timeout = timeout;
  if (starts_with(url, "ws://")) {
    IG_TRY_ASSIGN(client, rpc::Client::connect(url, timeout));
    impl->ws.emplace(std::move(client));
  } else if (!starts_with(url, "http://")) {
    return fail("arg.bad_node_url", "node URL \"" + url + "\" must start with ws:// or http://");
  }
  return NodeClient(std::move(impl));
}

Expected<json> NodeClient::call(const std::string& method, const json& params) {
  if (impl_->ws) return impl_->ws->call(method, params);
  return impl_->call_http(method, params);
}

Expected<std::string> NodeClient::chain_id() {
  IG_TRY_ASSIGN(info, call("node_info", json::array()));
  return ReplyReader("node_info").string(info, "chain_id");
}

Expected<uint64_t> NodeClient::head_height() {
  IG_TRY_ASSIGN(head, call("chain_head", json::array()));
  return ReplyReader("chain_head").uint(head, "height");
}

Expected<chain::FeeSchedule> NodeClient::fee_schedule() {
  IG_TRY_ASSIGN(params, call("chain_params", json::array()));
  const ReplyReader rd("chain_params");
  IG_TRY(rd.object_field(params, "fee"));
  IG_TRY_ASSIGN(base, rd.amount(params["fee"], "base", "fee."));
  IG_TRY_ASSIGN(per_byte, rd.amount(params["fee"], "per_byte", "fee."));
  return chain::FeeSchedule{base, per_byte};
}

Expected<uint64_t> NodeClient::tempo() {
  IG_TRY_ASSIGN(params, call("contracts_params", json::array()));
  // params_to_json may write integers as numbers or decimal strings; amount() takes both.
  const ReplyReader rd("contracts_params");
  IG_TRY_ASSIGN(t, rd.amount(params, "tempo"));
  if (t == 0) return rd.bad("field 'tempo' is 0");
  return t;
}

Expected<AccountInfo> NodeClient::account(const std::string& address) {
  IG_TRY_ASSIGN(acc, call("state_getAccount", json::array({address})));
  const ReplyReader rd("state_getAccount");
  AccountInfo out;
  IG_TRY(rd.object(acc));
  IG_TRY(rd.optional_string(acc, "address"));
  out.address = acc.contains("address") ? acc["address"].get<std::string>() : address;
  if (!same_address(out.address, address)) return rd.bad("it is about account " + out.address + ", not " + address);
  IG_TRY_ASSIGN(balance, rd.amount(acc, "balance"));
  IG_TRY_ASSIGN(nonce, rd.uint(acc, "nonce"));
  IG_TRY_ASSIGN(next_nonce, rd.uint(acc, "next_nonce"));
  out.balance = balance;
  out.nonce = nonce;
  out.next_nonce = next_nonce;
  return out;
}

Expected<std::string> NodeClient::send_tx(const std::string& tx_hex) {
  IG_TRY_ASSIGN(hash, call("tx_send", json::array({tx_hex})));
  if (!hash.is_string()) return ReplyReader("tx_send").bad("result is " + json_type_words(hash) + ", expected a hash string");
  return hash.get<std::string>();
}

Expected<json> NodeClient::receipt(const std::string& hash_hex) {
  IG_TRY_ASSIGN(r, call("tx_receipt", json::array({hash_hex})));
  if (r.is_null()) return r;
  const ReplyReader rd("tx_receipt");
  IG_TRY(rd.object(r));
  IG_TRY(rd.string(r, "status"));
  IG_TRY(rd.optional_string(r, "error"));
  IG_TRY(rd.uint(r, "height"));
  IG_TRY(rd.uint(r, "index"));
  IG_TRY(rd.amount(r, "fee_paid"));
  IG_TRY(rd.optional_string(r, "tx_hash"));
  if (r.contains("tx_hash") && r["tx_hash"].get<std::string>() != hash_hex)
    return rd.bad("it is the receipt of " + r["tx_hash"].get<std::string>() + ", not of " + hash_hex);
  IG_TRY(rd.array_field(r, "events"));
  for (size_t i = 0; i < r["events"].size(); ++i) {
    const std::string where = "events[" + std::to_string(i) + "].";
    IG_TRY(rd.string(r["events"][i], "type", where));
    IG_TRY(rd.object_field(r["events"][i], "attributes", where));
  }
  return r;
}

Expected<json> NodeClient::get_tx(const std::string& hash_hex) {
  IG_TRY_ASSIGN(t, call("chain_getTx", json::array({hash_hex})));
  if (t.is_null()) return t;
  IG_TRY(ReplyReader("chain_getTx").object_field(t, "tx"));
  return t;
}

Expected<json> NodeClient::task(uint64_t id) {
  IG_TRY_ASSIGN(t, call("task_get", json::array({id})));
  const ReplyReader rd("task_get");
  IG_TRY(check_task(rd, t, ""));
  IG_TRY_ASSIGN(got, rd.uint(t, "id"));
  if (got != id) return rd.bad("it is task " + std::to_string(got) + ", not task " + std::to_string(id));
  return t;
}

Expected<json> NodeClient::task_list(uint64_t from_id, uint64_t limit) {
  IG_TRY_ASSIGN(list, call("task_list", json::array({from_id, limit})));
  const ReplyReader rd("task_list");
  IG_TRY(rd.array(list));
  for (size_t i = 0; i < list.size(); ++i) IG_TRY(check_task(rd, list[i], "[" + std::to_string(i) + "]."));
  return list;
}

Expected<json> NodeClient::models() {
  IG_TRY_ASSIGN(r, call("registry_models", json::array()));
  const ReplyReader rd("registry_models");
  IG_TRY(rd.array(r));
  for (size_t i = 0; i < r.size(); ++i) {
    const std::string where = "[" + std::to_string(i) + "].";
    IG_TRY(rd.object(r[i], where.substr(0, where.size() - 1)));
    IG_TRY(rd.string(r[i], "model_id", where));
    IG_TRY(rd.string(r[i], "name", where));
    IG_TRY(rd.amount(r[i], "price_per_token", where));
  }
  return r;
}

Expected<json> NodeClient::weights(const std::string& address) {
  IG_TRY_ASSIGN(r, call("weights_get", json::array({address})));
  if (r.is_null()) return r;
  const ReplyReader rd("weights_get");
  IG_TRY(rd.uint(r, "reveal_epoch"));
  IG_TRY(rd.uint(r, "reveal_height"));
  IG_TRY(rd.array_field(r, "weights"));
  for (size_t i = 0; i < r["weights"].size(); ++i) {
    const std::string where = "weights[" + std::to_string(i) + "].";
    IG_TRY(rd.uint(r["weights"][i], "uid", where));
    IG_TRY(rd.uint(r["weights"][i], "weight", where));
  }
  return r;
}

Expected<json> NodeClient::last_epoch() {
  IG_TRY_ASSIGN(r, call("yuma_lastEpoch", json::array()));
  if (r.is_null()) return r;
  const ReplyReader rd("yuma_lastEpoch");
  IG_TRY(rd.uint(r, "epoch"));
  IG_TRY(rd.uint(r, "height"));
  IG_TRY(rd.amount(r, "emission"));
  IG_TRY(rd.array_field(r, "uids"));
  for (size_t i = 0; i < r["uids"].size(); ++i) {
    const json& u = r["uids"][i];
    const std::string where = "uids[" + std::to_string(i) + "].";
    for (const char* k : {"uid", "stake_weight", "consensus", "incentive", "dividends", "validator_trust"})
      IG_TRY(rd.uint(u, k, where));
    IG_TRY(rd.string(u, "account", where));
    IG_TRY(rd.boolean(u, "validator_permit", where));
    IG_TRY(rd.amount(u, "emission", where));
  }
  return r;
}

Expected<json> NodeClient::stake(const std::string& address) {
  IG_TRY_ASSIGN(r, call("staking_getStake", json::array({address})));
  const ReplyReader rd("staking_getStake");
  IG_TRY_ASSIGN(about, rd.string(r, "address"));
  if (!same_address(about, address)) return rd.bad("it is about account " + about + ", not " + address);
  IG_TRY(rd.amount(r, "validator"));
  IG_TRY(rd.amount(r, "miner"));
  return r;
}

Expected<json> NodeClient::object_list(const std::string& method) {
  IG_TRY_ASSIGN(r, call(method, json::array()));
  const ReplyReader rd(method);
  IG_TRY(rd.array(r));
  for (size_t i = 0; i < r.size(); ++i) IG_TRY(rd.object(r[i], "[" + std::to_string(i) + "]"));
  return r;
}

}  // namespace ig::wallet::cli
