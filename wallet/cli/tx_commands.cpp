// Commands that make or look up transfers and transactions: balance, send, sign (offline), broadcast, tx.
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "wallet/cli/cli.hpp"
#include "wallet/cli/node_client.hpp"
#include "wallet/cli/tx_path.hpp"
#include "wallet/parse.hpp"
#include "wallet/secure_file.hpp"
#include "wallet/transfer.hpp"

namespace ig::wallet::cli {
namespace {

// Options are taken as text and parsed strictly here: CLI11's own number parsing would accept
// forms like "1e3" or "+5" that an amount must not.
struct TransferArgs {
  TxOptions tx;
  std::string to, amount, memo;
};

struct LookupArgs {
  std::string target;  // a name, an address, a hash or a file, depending on the command
};

Expected<chain::Payload> transfer_payload(const TransferArgs& a) {
  IG_TRY_ASSIGN(to, parse_address(a.to));
  IG_TRY_ASSIGN(amount, parse_amount(a.amount, "--amount"));
  IG_TRY(validate_memo(a.memo));
  return chain::Payload{chain::Transfer{to, amount, a.memo}};
}

std::string scalar_text(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The node's view of a transaction, one field per line; the payload's fields are flattened.
std::string node_tx_text(const json& tx) {
  std::string s;
  auto line = [&](const std::string& k, const json& v) {
    s += k + ":" + std::string(k.size() < 9 ? 9 - k.size() : 1, ' ') + scalar_text(v) + "\n";
  };
  for (const char* k : {"type", "sender", "nonce", "fee", "expiry_height", "chain_id"})
    if (tx.contains(k)) line(k, tx[k]);
  if (tx.contains("payload") && tx["payload"].is_object())
    for (const auto& [k, v] : tx["payload"].items()) line(k, v);
  return s;
}

Expected<Output> run_balance(const Globals& g, const LookupArgs& a) {
  IG_TRY_ASSIGN(address, resolve_address(g, a.target));
  IG_TRY_ASSIGN(node, connect(g));
  IG_TRY_ASSIGN(acc, node.account(address));
  Output out;
  out.data = {{"address", address}, {"balance", std::to_string(acc.balance)}, {"nonce", acc.nonce},
              {"next_nonce", acc.next_nonce}};
  out.text = "address:    " + address + "\nbalance:    " + std::to_string(acc.balance) +
             "\nnonce:      " + std::to_string(acc.nonce) + "\nnext nonce: " + std::to_string(acc.next_nonce) + "\n";
  return out;
}

// send and sign are the same command; sign is send --offline with the offline options required.
Expected<Output> run_transfer(const Globals& g, const TransferArgs& a) {
  SendRequest req;
  req.build = [&a](TxContext&) { return transfer_payload(a); };
  IG_TRY_ASSIGN(sent, send_payload(g, a.tx, req));
  return sent.out;
}

Expected<Output> run_broadcast(const Globals& g, const LookupArgs& a) {
  auto file = read_signed_tx_file(a.target);
  if (!file && file.error().code.rfind("file.", 0) == 0)
    return fail("arg.tx_file", "cannot read " + a.target + ": " + file.error().message);
  if (!file) return fail(file.error());
  IG_TRY_ASSIGN(node, connect(g));
  IG_TRY_ASSIGN(hash, broadcast_tx(node, file->tx));
  Output out;
  out.data = tx_to_json(file->tx);
  out.data["tx_hash"] = hash;
  out.text = "sent " + hash + "\n";
  return out;
}

Expected<Output> run_tx(const Globals& g, const LookupArgs& a) {
  IG_TRY_ASSIGN(hash, parse_hash_hex(a.target));
  const std::string hex = chain::to_hex(hash);
  IG_TRY_ASSIGN(node, connect(g));
  IG_TRY_ASSIGN(receipt, node.receipt(hex));
  IG_TRY_ASSIGN(tx, node.get_tx(hex));
  if (receipt.is_null() && tx.is_null())
    return fail("node.tx_not_found", "transaction " + hex + " is not in a block (unknown, or still pending)");
  Output out;
  out.data = {{"tx_hash", hex}, {"receipt", receipt}, {"tx", tx}};
  out.text = "tx:       " + hex + "\n";
  // Both replies come checked from NodeClient: a "tx" object, and a receipt's fields.
  if (!tx.is_null()) out.text += node_tx_text(tx["tx"]);
  out.text += receipt.is_null() ? "receipt:  none yet\n" : receipt_text(receipt);
  if (!receipt.is_null())
    for (const auto& ev : receipt["events"]) out.text += "event:    " + ev.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  return out;
}

void add_transfer_options(CLI::App* cmd, TransferArgs& t) {
  cmd->add_option("--to", t.to, "Recipient ig1... address")->required();
  cmd->add_option("--amount", t.amount, "Amount in base units (a whole number)")->required();
  cmd->add_option("--memo", t.memo, "Free text, at most 256 bytes");
}

}  // namespace

void add_tx_commands(CLI::App& app, const Globals& g, Action& chosen) {
  auto ba = std::make_shared<LookupArgs>();
  auto* cmd_balance = app.add_subcommand("balance", "Show the balance and nonce of a key or address");
  cmd_balance->add_option("account", ba->target, "Key name or ig1... address")->required();
  cmd_balance->callback([&, ba] { chosen = [&g, ba] { return run_balance(g, *ba); }; });

  auto sa = std::make_shared<TransferArgs>();
  auto* cmd_send = app.add_subcommand("send", "Sign a transfer and send it to the node (or write it, with --offline)");
  add_transfer_options(cmd_send, *sa);
  add_tx_options(cmd_send, sa->tx);
  cmd_send->callback([&, sa] { chosen = [&g, sa] { return run_transfer(g, *sa); }; });

  auto ga = std::make_shared<TransferArgs>();
  ga->tx.offline = true;
  ga->tx.expiry_blocks = "0";
  auto* cmd_sign = app.add_subcommand("sign", "Sign a transfer offline and write it to a file (send --offline)");
  add_transfer_options(cmd_sign, *ga);
  cmd_sign->add_option("--from", ga->tx.from, "Key name or address that pays")->required();
  cmd_sign->add_option("--fee", ga->tx.fee, "Fee in base units")->required();
  cmd_sign->add_option("--nonce", ga->tx.nonce, "Nonce")->required();
  cmd_sign->add_option("--chain-id", ga->tx.chain_id, "Chain id of the target network")->required();
  cmd_sign->add_option("--expiry-height", ga->tx.expiry_height, "Last height at which it may be included; 0 = never");
  cmd_sign->add_option("-o,--out", ga->tx.out_file, "Output file ({\"tx\",\"hash\"} JSON); - for stdout")->required();
  cmd_sign->callback([&, ga] { chosen = [&g, ga] { return run_transfer(g, *ga); }; });

  auto ra = std::make_shared<LookupArgs>();
  auto* cmd_broadcast = app.add_subcommand("broadcast", "Send a transaction signed with 'sign'");
  cmd_broadcast->add_option("file", ra->target, "File written by 'sign'")->required();
  cmd_broadcast->callback([&, ra] { chosen = [&g, ra] { return run_broadcast(g, *ra); }; });

  auto ta = std::make_shared<LookupArgs>();
  auto* cmd_tx = app.add_subcommand("tx", "Show a transaction and its receipt");
  cmd_tx->add_option("hash", ta->target, "Transaction hash (hex)")->required();
  cmd_tx->callback([&, ta] { chosen = [&g, ta] { return run_tx(g, *ta); }; });
}

}  // namespace ig::wallet::cli
