#include "wallet/cli/tx_path.hpp"

#include <thread>

#include "wallet/parse.hpp"
#include "wallet/secure_file.hpp"
#include "wallet/transaction.hpp"

namespace ig::wallet::cli {

namespace {

std::optional<std::string> opt(const std::string& s) { return s.empty() ? std::nullopt : std::optional(s); }

// The options after strict parsing; what is absent comes from the node.
struct Envelope {
  std::optional<chain::Amount> fee;
  std::optional<uint64_t> nonce;
  std::optional<uint64_t> expiry_height;
  uint64_t expiry_blocks = 0;
};

Expected<Envelope> parse_envelope(const TxOptions& o) {
  Envelope e;
  if (auto f = opt(o.fee)) {
    IG_TRY_ASSIGN(fee, parse_amount(*f, "--fee"));
    e.fee = fee;
  }
  if (auto n = opt(o.nonce)) {
    IG_TRY_ASSIGN(nonce, parse_u64(*n, "--nonce"));
    e.nonce = nonce;
  }
  if (auto h = opt(o.expiry_height)) {
    IG_TRY_ASSIGN(height, parse_u64(*h, "--expiry-height"));
    e.expiry_height = height;
  }
  IG_TRY_ASSIGN(blocks, parse_u64(o.expiry_blocks, "--expiry-blocks"));
  e.expiry_blocks = blocks;
  if (o.offline) {
    if (o.chain_id.empty()) return fail("arg.missing", "--offline signs without the node: give the chain id with --chain-id");
    if (!e.fee || !e.nonce || o.out_file.empty())
      return fail("arg.missing", "--offline signs without the node: give --chain-id, --nonce, --fee and -o FILE");
    if (o.wait) return fail("arg.conflict", "--wait needs the node; it cannot be combined with --offline");
    IG_TRY(validate_chain_id(o.chain_id));
  } else if (!o.chain_id.empty() || !o.out_file.empty()) {
    return fail("arg.conflict", "--chain-id and -o are for --offline signing");
  }
  return e;
}

// Fills chain id, expiry and nonce from the node where the command line left them open.
Expected<TxSpec> online_spec(NodeClient& node, const Envelope& e, const chain::Address& sender) {
  TxSpec spec;
  IG_TRY_ASSIGN(chain_id, node.chain_id());
  spec.chain_id = chain_id;
  if (e.expiry_height) {
    spec.expiry_height = *e.expiry_height;
  } else if (e.expiry_blocks > 0) {
    IG_TRY_ASSIGN(head, node.head_height());
    auto expiry = chain::checked_add(head, e.expiry_blocks);
    if (!expiry) return fail("arg.invalid", "--expiry-blocks is too large");
    spec.expiry_height = *expiry;
  }
  if (e.nonce) {
    spec.nonce = *e.nonce;
  } else {
    IG_TRY_ASSIGN(acc, node.account(chain::address_to_string(sender)));
    spec.nonce = acc.next_nonce;
  }
  return spec;
}

// One "key:   value" line, values aligned in one column across a whole summary.
std::string field_line(const std::string& key, const std::string& value) {
  const std::string k = key + ":";
  return k + std::string(k.size() < 18 ? 18 - k.size() : 1, ' ') + value + "\n";
}

std::string envelope_text(const chain::Transaction& tx, const WalletEntry& from) {
  const auto& b = tx.body;
  return field_line("type", chain::payload_name(b.payload)) +
         field_line("from", from.name + " (" + chain::address_to_string(b.sender) + ")") + fields_text(payload_to_json(b.payload)) +
         field_line("fee", std::to_string(b.fee)) + field_line("nonce", std::to_string(b.nonce)) +
         field_line("expiry", b.expiry_height ? "height " + std::to_string(b.expiry_height) : std::string("never")) +
         field_line("chain", b.chain_id);
}

// `r` as NodeClient::receipt returns it: "status" is there and a string.
bool receipt_ok(const json& r) { return r.at("status").get<std::string>() == "ok"; }

std::string receipt_error(const json& r) { return r.contains("error") ? r["error"].get<std::string>() : std::string(); }

}  // namespace

void add_tx_options(CLI::App* cmd, TxOptions& o, bool from_required) {
  auto* from = cmd->add_option("--from", o.from, "Key name or address that signs and pays");
  if (from_required) from->required();
  cmd->add_option("--fee", o.fee, "Fee in base units (default: the node's minimum)");
  cmd->add_option("--nonce", o.nonce, "Nonce (default: the account's next nonce)");
  cmd->add_option("--expiry-blocks", o.expiry_blocks, "Valid for this many blocks after the head; 0 = never expires")
      ->capture_default_str();
  cmd->add_option("--expiry-height", o.expiry_height, "Last height at which it may be included (overrides --expiry-blocks)");
  cmd->add_flag("--wait", o.wait, "Wait (up to --timeout) for the receipt and print it");
  cmd->add_flag("--offline", o.offline, "Sign without the node and write the transaction to -o FILE (needs --chain-id, --nonce, --fee)");
  cmd->add_option("--chain-id", o.chain_id, "Chain id of the target network (with --offline)");
  cmd->add_option("-o,--out", o.out_file, "With --offline: output file ({\"tx\",\"hash\"} JSON); - for stdout");
}

Expected<std::string> broadcast_tx(NodeClient& node, const chain::Transaction& tx) {
  const std::string local = chain::to_hex(chain::tx_hash(tx));
  auto sent = node.send_tx(chain::to_hex(chain::encode_tx(tx)));
  if (!sent) return fail(sent.error().code, "node rejected the transaction: " + sent.error().message);
  if (*sent != local)
    return fail("rpc.bad_reply", "node reported hash " + *sent + " for a transaction that hashes to " + local);
  return local;
}

Expected<NodeClient> connect(const Globals& g) { return NodeClient::connect(g.node_url, g.timeout()); }

Expected<json> wait_for_receipt(NodeClient& node, const std::string& hash, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    IG_TRY_ASSIGN(r, node.receipt(hash));
    if (!r.is_null()) return r;
    if (std::chrono::steady_clock::now() >= deadline)
      return fail("node.wait_timeout", "transaction " + hash + " was not included within " +
                                             std::to_string(timeout.count() / 1000) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string receipt_text(const json& r) {
  std::string status = r.at("status").get<std::string>();
  if (const std::string error = receipt_error(r); !error.empty()) status += " (" + error + ")";
  const json& fee = r.at("fee_paid");
  return field_line("included", "height " + std::to_string(r.at("height").get<uint64_t>()) + ", index " +
                                    std::to_string(r.at("index").get<uint64_t>())) +
         field_line("status", status) + field_line("fee paid", fee.is_string() ? fee.get<std::string>() : fee.dump());
}

std::optional<std::string> event_attribute(const json& receipt, const std::string& type, const std::string& key) {
  if (!receipt.is_object() || !receipt.contains("events") || !receipt["events"].is_array()) return std::nullopt;
  for (const auto& ev : receipt["events"]) {
    if (!ev.is_object() || !ev.contains("type") || ev["type"] != type || !ev.contains("attributes")) continue;
    const json& attrs = ev["attributes"];
    if (attrs.is_object() && attrs.contains(key) && attrs[key].is_string()) return attrs[key].get<std::string>();
  }
  return std::nullopt;
}

std::string fields_text(const json& obj, const std::string& indent) {
  std::string s;
  if (!obj.is_object()) return s;
  for (const auto& [k, v] : obj.items())
    s += field_line(indent + k, v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, json::error_handler_t::replace));
  return s;
}

std::string list_text(const json& items) {
  if (!items.is_array() || items.empty()) return "(none)\n";
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : "\n") + fields_text(item);
  return s;
}

Expected<std::string> resolve_address(const Globals& g, const std::string& name_or_address) {
  if (auto a = chain::address_from_string(name_or_address)) return chain::address_to_string(*a);
  IG_TRY_ASSIGN(w, open_wallet(g));
  IG_TRY_ASSIGN(e, w.find(name_or_address));
  return chain::address_to_string(e.address);
}

Expected<NodeClient*> TxContext::node(const std::string& needed_for) {
  if (offline) return fail("arg.missing", "--offline cannot ask the node for " + needed_for);
  if (!client) {
    IG_TRY_ASSIGN(c, connect(g));
    client.emplace(std::move(c));
  }
  return &*client;
}

Expected<SentTx> send_payload(const Globals& g, const TxOptions& o, const SendRequest& req) {
  if (o.from.empty()) return fail("arg.missing", "--from is required");
  IG_TRY_ASSIGN(w, open_wallet(g));
  IG_TRY_ASSIGN(env, parse_envelope(o));
  IG_TRY_ASSIGN(from, w.find(o.from));
  TxContext ctx{g, w, from, o.offline, std::nullopt};
  // The payload is built and checked before the password is asked for: a typo costs nothing.
  IG_TRY_ASSIGN(payload, req.build(ctx));
  IG_TRY(check_payload(payload));
  IG_TRY_ASSIGN(key, unlock_key(g, w, from));

  TxSpec spec{o.chain_id, 0, env.nonce.value_or(0), env.expiry_height.value_or(0)};
  NodeClient* node = nullptr;
  if (!o.offline) {
    IG_TRY_ASSIGN(n, ctx.node());
    node = n;
    IG_TRY_ASSIGN(s, online_spec(*node, env, from.address));
    spec = s;
  }
  if (env.fee) {
    spec.fee = *env.fee;
  } else {
    IG_TRY_ASSIGN(schedule, node->fee_schedule());
    spec.fee = minimum_fee(schedule, tx_body(spec, payload, from.address));
  }
  IG_TRY_ASSIGN(tx, sign_payload(spec, payload, key));
  if (req.before_send) IG_TRY(req.before_send(ctx, tx));

  SentTx sent{tx, chain::to_hex(chain::tx_hash(tx)), json(nullptr), Output{}};
  sent.out.data = tx_to_json(tx);
  sent.out.data["tx_hash"] = sent.hash;
  sent.out.data["from"] = from.name;
  if (o.offline) {
    const std::string file_text = signed_tx_to_json(tx);
    sent.out.data["tx"] = chain::to_hex(chain::encode_tx(tx));
    if (o.out_file == "-") {
      sent.out.text = file_text;  // the file itself, for piping
    } else {
      auto written = write_file_atomic(o.out_file, file_text, /*overwrite=*/true);
      if (!written) return fail("arg.out_file", "cannot write " + o.out_file + ": " + written.error().message);
      sent.out.data["file"] = o.out_file;
      sent.out.text = "signed " + sent.hash + " -> " + o.out_file + "\n" + envelope_text(tx, from);
    }
    return sent;
  }
  IG_TRY(broadcast_tx(*node, tx));
  sent.out.text = "sent " + sent.hash + "\n" + envelope_text(tx, from);
  if (o.wait || req.need_receipt) {
    IG_TRY_ASSIGN(receipt, wait_for_receipt(*node, sent.hash, g.timeout()));
    sent.receipt = receipt;
    sent.out.data["receipt"] = receipt;
    sent.out.text += receipt_text(receipt);
    if (!receipt_ok(receipt)) {
      sent.out.exit_code = kExitFailure;
      sent.out.error = "transaction failed: " + receipt.at("status").get<std::string>() + ": " + receipt_error(receipt);
    }
  }
  return sent;
}

Expected<Output> send_and_report(const Globals& g, const TxOptions& o, PayloadBuilder build) {
  SendRequest req;
  req.build = std::move(build);
  IG_TRY_ASSIGN(sent, send_payload(g, o, req));
  return sent.out;
}

}  // namespace ig::wallet::cli
