#include "node/config.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ig::node {

using json = nlohmann::json;

namespace {

template <typename T>
Status read_uint(const json& obj, const char* key, T& out, uint64_t min, uint64_t max, const std::string& where) {
  if (!obj.contains(key)) return {};
  const json& v = obj[key];
  if (!v.is_number_unsigned() || v.get<uint64_t>() < min || v.get<uint64_t>() > max)
    return fail("config.field", where + key + " must be an integer within " + std::to_string(min) + ".." + std::to_string(max));
  out = static_cast<T>(v.get<uint64_t>());
  return {};
}

// A list of at most 64 strings of at most 256 bytes each.
Status read_strings(const json& obj, const char* key, std::vector<std::string>& out, const std::string& where) {
  if (!obj.contains(key)) return {};
  const json& v = obj[key];
  auto bad = [&] { return fail("config.field", where + key + " must be a list of at most 64 strings"); };
  if (!v.is_array() || v.size() > 64) return bad();
  std::vector<std::string> items;
  for (const auto& item : v) {
    if (!item.is_string() || item.get_ref<const std::string&>().size() > 256) return bad();
    items.push_back(item.get<std::string>());
  }
  out = std::move(items);
  return {};
}

}  // namespace

Expected<NodeConfig> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail("config.io", "cannot read " + path + " (run `infergridd init --home DIR` first)");
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("config.json", path + " is not a JSON object");
  NodeConfig c;
  if (j.contains("moniker")) {
    if (!j["moniker"].is_string() || j["moniker"].get<std::string>().size() > 64)
      return fail("config.field", "moniker must be a string of at most 64 bytes");
    c.moniker = j["moniker"];
  }
  if (j.contains("rpc")) {
    const json& r = j["rpc"];
    if (!r.is_object()) return fail("config.field", "rpc must be an object");
    if (r.contains("host")) {
      if (!r["host"].is_string()) return fail("config.field", "rpc.host must be a string");
      c.rpc.host = r["host"];
    }
    IG_TRY(read_uint(r, "port", c.rpc.port, 0, 65535, "rpc."));
    IG_TRY(read_uint(r, "max_message_bytes", c.rpc.max_message_bytes, 1024, 64u << 20, "rpc."));
    IG_TRY(read_uint(r, "max_batch", c.rpc.max_batch, 1, 10000, "rpc."));
    IG_TRY(read_uint(r, "max_subscriptions_per_conn", c.rpc.max_subscriptions_per_conn, 1, 10000, "rpc."));
    IG_TRY(read_uint(r, "max_connections", c.rpc.max_connections, 1, 100000, "rpc."));
    IG_TRY(read_uint(r, "max_queued_notifications", c.rpc.max_queued_notifications, 16, 1u << 20, "rpc."));
    IG_TRY(read_uint(r, "max_queued_bytes", c.rpc.max_queued_bytes, 64u << 10, 1ull << 32, "rpc."));
    IG_TRY(read_uint(r, "max_filter_keys", c.rpc.max_filter_keys, 1, 64, "rpc."));
    IG_TRY(read_uint(r, "max_filter_value_bytes", c.rpc.max_filter_value_bytes, 16, 64u << 10, "rpc."));
    IG_TRY(read_uint(r, "max_connections_per_ip", c.rpc.max_connections_per_ip, 1, 100000, "rpc."));
    IG_TRY(read_uint(r, "reserved_connections", c.rpc.reserved_connections, 0, 10000, "rpc."));
    IG_TRY(read_uint(r, "idle_timeout_ms", c.rpc.idle_timeout_ms, 100, 86'400'000, "rpc."));
    IG_TRY(read_uint(r, "request_timeout_ms", c.rpc.request_timeout_ms, 100, 3'600'000, "rpc."));
    IG_TRY(read_uint(r, "threads", c.rpc.threads, 1, 64, "rpc."));
    IG_TRY(read_strings(r, "trusted_addresses", c.rpc.trusted_addresses, "rpc."));
    IG_TRY(read_strings(r, "allowed_origins", c.rpc.allowed_origins, "rpc."));
    IG_TRY(read_strings(r, "allowed_hosts", c.rpc.allowed_hosts, "rpc."));
  }
  if (j.contains("store")) IG_TRY(read_uint(j["store"], "initial_map_mb", c.store_initial_map_mb, 1, 1u << 20, "store."));
  if (j.contains("mempool")) {
    const json& m = j["mempool"];
    IG_TRY(read_uint(m, "max_txs", c.mempool.max_txs, 1, 10'000'000, "mempool."));
    IG_TRY(read_uint(m, "max_bytes", c.mempool.max_bytes, 1024, 1ull << 34, "mempool."));
    IG_TRY(read_uint(m, "max_per_sender", c.mempool.max_per_sender, 1, 1'000'000, "mempool."));
  }
  if (j.contains("p2p")) {
    const json& p = j["p2p"];
    if (!p.is_object()) return fail("config.field", "p2p must be an object");
    if (p.contains("listen")) {
      if (!p["listen"].is_string()) return fail("config.field", "p2p.listen must be host:port or \"\"");
      c.p2p.listen = p["listen"];
    }
    IG_TRY(read_strings(p, "persistent_peers", c.p2p.persistent_peers, "p2p."));
    IG_TRY(read_strings(p, "allowed_peers", c.p2p.allowed_peers, "p2p."));
    IG_TRY(read_uint(p, "max_inbound", c.p2p.max_inbound, 1, 10000, "p2p."));
  }
  if (j.contains("consensus")) {
    const json& k = j["consensus"];
    if (!k.is_object()) return fail("config.field", "consensus must be an object");
    auto& t = c.consensus;
    for (auto [key, field] : {std::pair{"timeout_propose_ms", &t.timeout_propose_ms},
                              {"timeout_propose_delta_ms", &t.timeout_propose_delta_ms},
                              {"timeout_prevote_ms", &t.timeout_prevote_ms},
                              {"timeout_prevote_delta_ms", &t.timeout_prevote_delta_ms},
                              {"timeout_precommit_ms", &t.timeout_precommit_ms},
                              {"timeout_precommit_delta_ms", &t.timeout_precommit_delta_ms}})
      IG_TRY(read_uint(k, key, *field, 0, 600'000, "consensus."));
  }
  if (j.contains("block_time_ms") && !j["block_time_ms"].is_null()) {
    uint64_t bt = 0;
    IG_TRY(read_uint(j, "block_time_ms", bt, 10, 3'600'000, ""));
    c.block_time_ms = bt;
  }
  return c;
}

Status save_config(const std::string& path, const NodeConfig& c) {
  json j = {{"moniker", c.moniker},
            {"rpc",
             {{"host", c.rpc.host},
              {"port", c.rpc.port},
              {"max_message_bytes", c.rpc.max_message_bytes},
              {"max_batch", c.rpc.max_batch},
              {"max_subscriptions_per_conn", c.rpc.max_subscriptions_per_conn},
              {"max_connections", c.rpc.max_connections},
              {"max_queued_notifications", c.rpc.max_queued_notifications},
              {"max_queued_bytes", c.rpc.max_queued_bytes},
              {"max_filter_keys", c.rpc.max_filter_keys},
              {"max_filter_value_bytes", c.rpc.max_filter_value_bytes},
              {"max_connections_per_ip", c.rpc.max_connections_per_ip},
              {"reserved_connections", c.rpc.reserved_connections},
              {"trusted_addresses", c.rpc.trusted_addresses},
              {"idle_timeout_ms", c.rpc.idle_timeout_ms},
              {"request_timeout_ms", c.rpc.request_timeout_ms},
              {"allowed_origins", c.rpc.allowed_origins},
              {"allowed_hosts", c.rpc.allowed_hosts},
              {"threads", c.rpc.threads}}},
            {"store", {{"initial_map_mb", c.store_initial_map_mb}}},
            {"mempool",
             {{"max_txs", c.mempool.max_txs}, {"max_bytes", c.mempool.max_bytes}, {"max_per_sender", c.mempool.max_per_sender}}},
            {"block_time_ms", c.block_time_ms ? json(*c.block_time_ms) : json(nullptr)},
            {"p2p",
             {{"listen", c.p2p.listen},
              {"persistent_peers", c.p2p.persistent_peers},
              {"allowed_peers", c.p2p.allowed_peers},
              {"max_inbound", c.p2p.max_inbound}}},
            {"consensus",
             {{"timeout_propose_ms", c.consensus.timeout_propose_ms},
              {"timeout_propose_delta_ms", c.consensus.timeout_propose_delta_ms},
              {"timeout_prevote_ms", c.consensus.timeout_prevote_ms},
              {"timeout_prevote_delta_ms", c.consensus.timeout_prevote_delta_ms},
              {"timeout_precommit_ms", c.consensus.timeout_precommit_ms},
              {"timeout_precommit_delta_ms", c.consensus.timeout_precommit_delta_ms}}}};
  std::ofstream out(path, std::ios::trunc);
  if (!out) return fail("config.io", "cannot write " + path);
  out << j.dump(2) << "\n";
  if (!out) return fail("config.io", "write to " + path + " failed");
  return {};
}

}  // namespace ig::node
