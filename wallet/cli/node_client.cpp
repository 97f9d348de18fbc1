#include "wallet/cli/node_client.hpp"

#include "rpc/client.hpp"
#include "wallet/parse.hpp"

namespace ig::wallet::cli {

using json = nlohmann::json;

namespace {

Unexpected bad_reply(const std::string& method, const std::string& why) {
  return fail("rpc.bad_reply", "node's reply to " + method + " " + why);
}

// Amounts travel as decimal strings; a plain JSON integer is accepted too.
Expected<uint64_t> amount_field(const json& obj, const char* key, const std::string& method) {
  auto it = obj.find(key);
  if (it == obj.end()) return bad_reply(method, std::string("has no \"") + key + "\"");
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_string()) {
    auto v = parse_u64(it->get<std::string>(), key);
    if (v) return *v;
  }
  return bad_reply(method, std::string("has a malformed \"") + key + "\"");
}

Expected<uint64_t> uint_field(const json& obj, const char* key, const std::string& method) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_unsigned())
    return bad_reply(method, std::string("has no unsigned integer \"") + key + "\"");
  return it->get<uint64_t>();
}

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

struct NodeClient::Impl {
  std::string url;
  std::chrono::milliseconds timeout{};
  std::optional<rpc::Client> ws;  // empty for http:// nodes
  int64_t next_id = 1;

  Expected<json> call_http(const std::string& method, const json& params) {
    json request = {{"jsonrpc", "2.0"}, {"id", next_id++}, {"method", method}, {"params", params}};
    IG_TRY_ASSIGN(reply, rpc::http_post(url, request.dump(), timeout));
    if (!reply.is_object()) return bad_reply(method, "is not a JSON-RPC object");
    if (auto err = reply.find("error"); err != reply.end() && err->is_object()) {
      std::string message = err->value("message", std::string("(no message)"));
      if (err->contains("data") && !(*err)["data"].is_null()) message += " (data: " + (*err)["data"].dump() + ")";
      return fail("rpc." + std::to_string(err->value("code", 0)), message);
    }
    auto result = reply.find("result");
    if (result == reply.end()) return bad_reply(method, "has neither result nor error");
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
  if (!info.is_object() || !info.contains("chain_id") || !info["chain_id"].is_string())
    return bad_reply("node_info", "has no \"chain_id\" string");
  return info["chain_id"].get<std::string>();
}

Expected<uint64_t> NodeClient::head_height() {
  IG_TRY_ASSIGN(head, call("chain_head", json::array()));
  if (!head.is_object()) return bad_reply("chain_head", "is not an object");
  return uint_field(head, "height", "chain_head");
}

Expected<chain::FeeSchedule> NodeClient::fee_schedule() {
  IG_TRY_ASSIGN(params, call("chain_params", json::array()));
  if (!params.is_object() || !params.contains("fee") || !params["fee"].is_object())
    return bad_reply("chain_params", "has no \"fee\" object");
  IG_TRY_ASSIGN(base, amount_field(params["fee"], "base", "chain_params"));
  IG_TRY_ASSIGN(per_byte, amount_field(params["fee"], "per_byte", "chain_params"));
  return chain::FeeSchedule{base, per_byte};
}

Expected<uint64_t> NodeClient::tempo() {
  IG_TRY_ASSIGN(params, call("contracts_params", json::array()));
  if (!params.is_object()) return bad_reply("contracts_params", "is not an object");
  auto it = params.find("tempo");
  // params_to_json may write integers as numbers or decimal strings; accept both.
  if (it != params.end() && it->is_string()) {
    auto v = parse_u64(it->get<std::string>(), "tempo");
    if (v && *v > 0) return *v;
  }
  IG_TRY_ASSIGN(t, uint_field(params, "tempo", "contracts_params"));
  if (t == 0) return bad_reply("contracts_params", "has tempo 0");
  return t;
}

Expected<AccountInfo> NodeClient::account(const std::string& address) {
  IG_TRY_ASSIGN(acc, call("state_getAccount", json::array({address})));
  if (!acc.is_object()) return bad_reply("state_getAccount", "is not an object");
  AccountInfo out;
  out.address = acc.value("address", address);
  IG_TRY_ASSIGN(balance, amount_field(acc, "balance", "state_getAccount"));
  IG_TRY_ASSIGN(nonce, uint_field(acc, "nonce", "state_getAccount"));
  IG_TRY_ASSIGN(next_nonce, uint_field(acc, "next_nonce", "state_getAccount"));
  out.balance = balance;
  out.nonce = nonce;
  out.next_nonce = next_nonce;
  return out;
}

Expected<std::string> NodeClient::send_tx(const std::string& tx_hex) {
  IG_TRY_ASSIGN(hash, call("tx_send", json::array({tx_hex})));
  if (!hash.is_string()) return bad_reply("tx_send", "is not a hash string");
  return hash.get<std::string>();
}

Expected<json> NodeClient::receipt(const std::string& hash_hex) {
  IG_TRY_ASSIGN(r, call("tx_receipt", json::array({hash_hex})));
  if (!r.is_null() && !r.is_object()) return bad_reply("tx_receipt", "is neither null nor an object");
  return r;
}

Expected<json> NodeClient::get_tx(const std::string& hash_hex) {
  IG_TRY_ASSIGN(t, call("chain_getTx", json::array({hash_hex})));
  if (!t.is_null() && !t.is_object()) return bad_reply("chain_getTx", "is neither null nor an object");
  return t;
}

}  // namespace ig::wallet::cli
