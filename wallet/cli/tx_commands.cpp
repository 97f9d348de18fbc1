// Commands that make or look up transactions: balance, send, sign (offline), broadcast, tx.
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "wallet/cli/cli.hpp"
#include "wallet/cli/node_client.hpp"
#include "wallet/parse.hpp"
#include "wallet/secure_file.hpp"
#include "wallet/transfer.hpp"

namespace ig::wallet::cli {
namespace {

// Options are taken as text and parsed strictly here: CLI11's own number parsing would accept
// forms like "1e3" or "+5" that an amount must not.
struct TransferArgs {
  std::string from, to, amount, fee, nonce, memo;
};

struct SendArgs {
  TransferArgs t;
  std::string expiry_blocks = "100";
  bool wait = false;
};

struct SignArgs {
  TransferArgs t;
  std::string chain_id, expiry_height = "0", out_file;
};

struct LookupArgs {
  std::string target;  // a name, an address, a hash or a file, depending on the command
};

std::optional<std::string> opt(const std::string& s) { return s.empty() ? std::nullopt : std::optional(s); }

// The parts of a transfer that need neither the node nor the password.
struct LocalTransfer {
  WalletEntry from;
  chain::Address to{};
  chain::Amount amount = 0;
  std::optional<chain::Amount> fee;
  std::optional<uint64_t> nonce;
  std::string memo;
};

Expected<LocalTransfer> parse_transfer(const Wallet& w, const TransferArgs& a) {
  LocalTransfer t;
  IG_TRY_ASSIGN(to, parse_address(a.to));
  t.to = to;
  IG_TRY_ASSIGN(amount, parse_amount(a.amount, "--amount"));
  t.amount = amount;
  if (auto f = opt(a.fee)) {
    IG_TRY_ASSIGN(fee, parse_amount(*f, "--fee"));
    t.fee = fee;
  }
  if (auto n = opt(a.nonce)) {
    IG_TRY_ASSIGN(nonce, parse_u64(*n, "--nonce"));
    t.nonce = nonce;
  }
  IG_TRY(validate_memo(a.memo));
  t.memo = a.memo;
  IG_TRY_ASSIGN(from, w.find(a.from));
  t.from = std::move(from);
  return t;
}

json transfer_summary(const chain::Transaction& tx, const WalletEntry& from) {
  json s = tx_to_json(tx);
  s["tx_hash"] = s["hash"];
  s["from"] = from.name;
  return s;
}

std::string transfer_text(const chain::Transaction& tx, const WalletEntry& from) {
  const auto& body = tx.body;
  const auto& t = std::get<chain::Transfer>(body.payload);
  return "from:     " + from.name + " (" + chain::address_to_string(body.sender) + ")\n" +
         "to:       " + chain::address_to_string(t.to) + "\n" + "amount:   " + std::to_string(t.amount) + "\n" +
         "fee:      " + std::to_string(body.fee) + "\n" + "nonce:    " + std::to_string(body.nonce) + "\n" +
         "expiry:   " + (body.expiry_height ? "height " + std::to_string(body.expiry_height) : std::string("never")) +
         "\nchain:    " + body.chain_id + "\n";
}

Expected<NodeClient> connect(const Globals& g) { return NodeClient::connect(g.node_url, g.timeout()); }

std::string receipt_text(const json& r) {
  std::string s = "included: height " + r.value("height", json(nullptr)).dump() + ", index " +
                  r.value("index", json(nullptr)).dump() + "\nstatus:   " + r.value("status", std::string("?"));
  if (r.contains("error") && r["error"].is_string() && !r["error"].get<std::string>().empty())
    s += " (" + r["error"].get<std::string>() + ")";
  s += "\n";
  if (r.contains("fee_paid")) s += "fee paid: " + (r["fee_paid"].is_string() ? r["fee_paid"].get<std::string>() : r["fee_paid"].dump()) + "\n";
  return s;
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

bool receipt_ok(const json& r) { return r.is_object() && r.value("status", std::string()) == "ok"; }

// Polls tx_receipt until the transaction is in a block or the timeout passes.
Expected<json> wait_for_receipt(NodeClient& node, const std::string& hash, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    IG_TRY_ASSIGN(r, node.receipt(hash));
    if (!r.is_null()) return r;
    if (std::chrono::steady_clock::now() >= deadline)
      return fail("node.wait_timeout", "transaction " + hash + " was not included within " +
                                             std::to_string(timeout.count() / 1000) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Expected<std::string> broadcast(NodeClient& node, const chain::Transaction& tx) {
  const std::string local = chain::to_hex(chain::tx_hash(tx));
  auto sent = node.send_tx(chain::to_hex(chain::encode_tx(tx)));
  if (!sent) return fail(sent.error().code, "node rejected the transaction: " + sent.error().message);
  if (*sent != local)
    return fail("rpc.bad_reply", "node reported hash " + *sent + " for a transaction that hashes to " + local);
  return local;
}

Expected<Output> run_balance(const Globals& g, const LookupArgs& a) {
  std::string address;
  if (chain::address_from_string(a.target)) {
    address = a.target;
  } else {
    IG_TRY_ASSIGN(w, open_wallet(g));
    IG_TRY_ASSIGN(e, w.find(a.target));
    address = chain::address_to_string(e.address);
  }
  IG_TRY_ASSIGN(node, connect(g));
  IG_TRY_ASSIGN(acc, node.account(address));
  Output out;
  out.data = {{"address", address}, {"balance", std::to_string(acc.balance)}, {"nonce", acc.nonce},
              {"next_nonce", acc.next_nonce}};
  out.text = "address:    " + address + "\nbalance:    " + std::to_string(acc.balance) +
             "\nnonce:      " + std::to_string(acc.nonce) + "\nnext nonce: " + std::to_string(acc.next_nonce) + "\n";
  return out;
}

Expected<Output> run_send(const Globals& g, const SendArgs& a) {
  IG_TRY_ASSIGN(w, open_wallet(g));
  IG_TRY_ASSIGN(local, parse_transfer(w, a.t));
  IG_TRY_ASSIGN(expiry_blocks, parse_u64(a.expiry_blocks, "--expiry-blocks"));
  IG_TRY_ASSIGN(key, unlock_key(g, w, local.from));
  IG_TRY_ASSIGN(node, connect(g));

  TransferSpec spec;
  IG_TRY_ASSIGN(chain_id, node.chain_id());
  spec.chain_id = chain_id;
  spec.to = local.to;
  spec.amount = local.amount;
  spec.memo = local.memo;
  if (expiry_blocks > 0) {
    IG_TRY_ASSIGN(head, node.head_height());
    auto expiry = chain::checked_add(head, expiry_blocks);
    if (!expiry) return fail("arg.invalid", "--expiry-blocks is too large");
    spec.expiry_height = *expiry;
  }
  if (local.nonce) {
    spec.nonce = *local.nonce;
  } else {
    IG_TRY_ASSIGN(acc, node.account(chain::address_to_string(local.from.address)));
    spec.nonce = acc.next_nonce;
  }
  if (local.fee) {
    spec.fee = *local.fee;
  } else {
    IG_TRY_ASSIGN(schedule, node.fee_schedule());
    spec.fee = minimum_fee(schedule, spec, local.from.address);
  }
  IG_TRY_ASSIGN(tx, sign_transfer(spec, key));
  IG_TRY_ASSIGN(hash, broadcast(node, tx));

  Output out;
  out.data = transfer_summary(tx, local.from);
  out.text = "sent " + hash + "\n" + transfer_text(tx, local.from);
  if (a.wait) {
    IG_TRY_ASSIGN(receipt, wait_for_receipt(node, hash, g.timeout()));
    out.data["receipt"] = receipt;
    out.text += receipt_text(receipt);
    if (!receipt_ok(receipt)) out.exit_code = kExitFailure;
  }
  return out;
}

Expected<Output> run_sign(const Globals& g, const SignArgs& a) {
  IG_TRY_ASSIGN(w, open_wallet(g));
  IG_TRY_ASSIGN(local, parse_transfer(w, a.t));
  IG_TRY(validate_chain_id(a.chain_id));
  IG_TRY_ASSIGN(expiry, parse_u64(a.expiry_height, "--expiry-height"));
  if (!local.fee || !local.nonce) return fail("arg.missing", "sign works offline: give --nonce and --fee");
  IG_TRY_ASSIGN(key, unlock_key(g, w, local.from));
  TransferSpec spec{a.chain_id, local.to, local.amount, *local.fee, *local.nonce, expiry, local.memo};
  IG_TRY_ASSIGN(tx, sign_transfer(spec, key));
  const std::string file_text = signed_tx_to_json(tx);
  Output out;
  out.data = transfer_summary(tx, local.from);
  out.data["tx"] = chain::to_hex(chain::encode_tx(tx));
  if (a.out_file == "-") {
    out.text = file_text;  // the file itself, for piping
  } else {
    auto written = write_file_atomic(a.out_file, file_text, /*overwrite=*/true);
    if (!written) return fail("arg.out_file", "cannot write " + a.out_file + ": " + written.error().message);
    out.data["file"] = a.out_file;
    out.text = "signed " + out.data["tx_hash"].get<std::string>() + " -> " + a.out_file + "\n" + transfer_text(tx, local.from);
  }
  return out;
}

Expected<Output> run_broadcast(const Globals& g, const LookupArgs& a) {
  auto file = read_signed_tx_file(a.target);
  if (!file && file.error().code.rfind("file.", 0) == 0)
    return fail("arg.tx_file", "cannot read " + a.target + ": " + file.error().message);
  if (!file) return fail(file.error());
  IG_TRY_ASSIGN(node, connect(g));
  IG_TRY_ASSIGN(hash, broadcast(node, file->tx));
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
  if (tx.is_object() && tx.contains("tx") && tx["tx"].is_object()) out.text += node_tx_text(tx["tx"]);
  out.text += receipt.is_null() ? "receipt:  none yet\n" : receipt_text(receipt);
  if (receipt.is_object() && receipt.contains("events"))
    for (const auto& ev : receipt["events"]) out.text += "event:    " + ev.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  return out;
}

void add_transfer_options(CLI::App* cmd, TransferArgs& t) {
  cmd->add_option("--from", t.from, "Key name or address that pays")->required();
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

  auto sa = std::make_shared<SendArgs>();
  auto* cmd_send = app.add_subcommand("send", "Sign a transfer and send it to the node");
  add_transfer_options(cmd_send, sa->t);
  cmd_send->add_option("--fee", sa->t.fee, "Fee in base units (default: the node's minimum)");
  cmd_send->add_option("--nonce", sa->t.nonce, "Nonce (default: the account's next nonce)");
  cmd_send->add_option("--expiry-blocks", sa->expiry_blocks, "Valid for this many blocks after the head; 0 = never expires")
      ->capture_default_str();
  cmd_send->add_flag("--wait", sa->wait, "Wait (up to --timeout) for the receipt and print it");
  cmd_send->callback([&, sa] { chosen = [&g, sa] { return run_send(g, *sa); }; });

  auto ga = std::make_shared<SignArgs>();
  auto* cmd_sign = app.add_subcommand("sign", "Sign a transfer offline and write it to a file");
  add_transfer_options(cmd_sign, ga->t);
  cmd_sign->add_option("--fee", ga->t.fee, "Fee in base units")->required();
  cmd_sign->add_option("--nonce", ga->t.nonce, "Nonce")->required();
  cmd_sign->add_option("--chain-id", ga->chain_id, "Chain id of the target network")->required();
  cmd_sign->add_option("--expiry-height", ga->expiry_height, "Last height at which it may be included; 0 = never")
      ->capture_default_str();
  cmd_sign->add_option("-o,--out", ga->out_file, "Output file ({\"tx\",\"hash\"} JSON); - for stdout")->required();
  cmd_sign->callback([&, ga] { chosen = [&g, ga] { return run_sign(g, *ga); }; });

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
