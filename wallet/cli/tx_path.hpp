// The one way every transaction command reaches the chain: take a payload, fill in the chain
// id, nonce, expiry and minimum fee from the node (or from the command line when --offline),
// sign, then either write a signed-transaction file or send it and optionally wait for its
// receipt. Commands differ only in how they build the payload and what they print afterwards.
#pragma once

#include <functional>
#include <optional>

#include "chain/tx.hpp"
#include "wallet/cli/cli.hpp"
#include "wallet/cli/node_client.hpp"

namespace ig::wallet::cli {

// Options shared by every transaction command (text, parsed strictly in send_payload).
struct TxOptions {
  std::string from, fee, nonce, expiry_blocks = "100", expiry_height, chain_id, out_file;
  bool wait = false;
  bool offline = false;
};

// --from, --fee, --nonce, --expiry-blocks, --expiry-height, --wait, --offline, --chain-id, -o.
// from_required = false where the command also has read-only subcommands (send_payload still
// insists on --from).
void add_tx_options(CLI::App* cmd, TxOptions& o, bool from_required = true);

// What a payload builder may use: the sender, the wallet and, unless offline, the node. The
// node is connected on first use, so a command line with a bad argument fails (exit 2) without
// needing a reachable node.
struct TxContext {
  const Globals& g;
  const Wallet& wallet;
  const WalletEntry& from;
  bool offline = false;
  std::optional<NodeClient> client;

  // "arg.missing" with --offline (the caller says which option would have avoided the node).
  Expected<NodeClient*> node(const std::string& needed_for = "this");
};

using PayloadBuilder = std::function<Expected<chain::Payload>(TxContext&)>;
// Runs after signing and before the transaction leaves the wallet (e.g. to save a salt).
using BeforeSend = std::function<Status(TxContext&, const chain::Transaction&)>;

struct SentTx {
  chain::Transaction tx;
  std::string hash;
  nlohmann::json receipt;  // null unless waited for
  Output out;              // the generic summary; commands add to it
};

struct SendRequest {
  PayloadBuilder build;
  BeforeSend before_send;
  bool need_receipt = false;  // wait for the receipt even without --wait (e.g. to learn a task id)
};

Expected<SentTx> send_payload(const Globals& g, const TxOptions& o, const SendRequest& req);
// send_payload for commands that print nothing beyond the generic summary.
Expected<Output> send_and_report(const Globals& g, const TxOptions& o, PayloadBuilder build);

Expected<NodeClient> connect(const Globals& g);
// tx_send, checking that the node's hash is the transaction's; returns the hash in hex.
Expected<std::string> broadcast_tx(NodeClient& node, const chain::Transaction& tx);
// Polls tx_receipt until the transaction is in a block or the timeout passes.
Expected<nlohmann::json> wait_for_receipt(NodeClient& node, const std::string& hash, std::chrono::milliseconds timeout);
// `r` is a receipt as NodeClient::receipt returns it (checked), not any JSON.
std::string receipt_text(const nlohmann::json& r);
// The value of attribute `key` of the first event of `type` in a receipt, if any.
std::optional<std::string> event_attribute(const nlohmann::json& receipt, const std::string& type, const std::string& key);
// "key:      value" lines for a JSON object's scalar members (nested values as compact JSON).
std::string fields_text(const nlohmann::json& obj, const std::string& indent = "");
// One block of fields per element of an array (or "(none)").
std::string list_text(const nlohmann::json& items);
// The address of a key name, or the address itself.
Expected<std::string> resolve_address(const Globals& g, const std::string& name_or_address);

}  // namespace ig::wallet::cli
