#include "workers/tx_sender.hpp"

#include <thread>

#include "chain/address.hpp"
#include "wallet/transaction.hpp"
#include "workers/task_view.hpp"

namespace ig::workers {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kExpiryBlocks = 300;

}  // namespace

TxSender::TxSender(std::string node_url, chain::SecretKey key, const std::atomic<bool>* stop)
    : link_(std::move(node_url), stop), key_(std::move(key)), address_(key_.public_key()), stop_(stop) {}

std::string TxSender::address_text() const { return chain::address_to_string(address_); }

Status TxSender::load_chain_facts() {
  if (chain_id_) return {};
  IG_TRY_ASSIGN(info, link_.call("node_info", json::array()));
  if (!info.is_object() || !info.contains("chain_id") || !info["chain_id"].is_string())
    return fail("rpc.bad_reply", "node_info: field 'chain_id' missing");
  IG_TRY_ASSIGN(params, link_.call("chain_params", json::array()));
  if (!params.is_object() || !params.contains("fee")) return fail("rpc.bad_reply", "chain_params: field 'fee' missing");
  IG_TRY_ASSIGN(base, json_uint(params["fee"], "base", "chain_params"));
  IG_TRY_ASSIGN(per_byte, json_uint(params["fee"], "per_byte", "chain_params"));
  fee_ = chain::FeeSchedule{base, per_byte};
  chain_id_ = info["chain_id"].get<std::string>();
  return {};
}

Expected<json> TxSender::call(const std::string& method, const json& params) {
  std::lock_guard lock(mu_);
  return link_.call(method, params);
}

Expected<SentTx> TxSender::send(const chain::Payload& payload, const BeforeSend& before_send) {
  std::lock_guard lock(mu_);
  IG_TRY(load_chain_facts());
  for (int attempt = 0;; ++attempt) {
    IG_TRY_ASSIGN(account, link_.call("state_getAccount", json::array({address_text()})));
    IG_TRY_ASSIGN(nonce, json_uint(account, "next_nonce", "state_getAccount"));
    IG_TRY_ASSIGN(head, link_.call("chain_head", json::array()));
    IG_TRY_ASSIGN(height, json_uint(head, "height", "chain_head"));
    wallet::TxSpec spec{*chain_id_, 0, nonce, height + kExpiryBlocks};
    spec.fee = wallet::minimum_fee(fee_, wallet::tx_body(spec, payload, address_));
    IG_TRY_ASSIGN(tx, wallet::sign_payload(spec, payload, key_));
    SentTx out{chain::to_hex(chain::tx_hash(tx)), chain::to_hex(chain::encode_tx(tx)), nonce};
    if (before_send) IG_TRY(before_send(out));
    auto sent = link_.call("tx_send", json::array({out.tx_hex}));
    if (sent) return out;
    const std::string& msg = sent.error().message;
    const bool nonce_race = msg.find("nonce") != std::string::npos;
    if (nonce_race && attempt == 0) continue;
    if (sent.error().code.rfind("rpc.", 0) == 0 && sent.error().code != "rpc.transport")
      return fail("tx.rejected", chain::payload_name(payload) + " refused by the node: " + msg);
    return fail(sent.error());
  }
}

Status TxSender::resend(const SentTx& tx) {
  std::lock_guard lock(mu_);
  auto sent = link_.call("tx_send", json::array({tx.tx_hex}));
  if (sent) return {};
  IG_TRY_ASSIGN(receipt, link_.call("tx_receipt", json::array({tx.hash})));
  if (!receipt.is_null()) return {};  // already in a block
  if (sent.error().message.find("duplicate") != std::string::npos) return {};  // already in the mempool
  return fail("tx.rejected", "re-sending " + tx.hash.substr(0, 16) + ": " + sent.error().message);
}

Expected<json> TxSender::wait_receipt(const std::string& hash, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      IG_TRY_ASSIGN(r, link_.call("tx_receipt", json::array({hash})));
      if (!r.is_null()) return r;
    }
    if (std::chrono::steady_clock::now() > deadline)
      return fail("tx.timeout", "transaction " + hash.substr(0, 16) + " not in a block yet");
    if (stop_ && stop_->load()) return fail("link.stopped", "stopping");
    std::this_thread::sleep_for(100ms);
  }
}

}  // namespace ig::workers
