#include "chain/genesis.hpp"

#include <cctype>
#include <optional>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "chain/hash.hpp"
#include "chain/state.hpp"

namespace ig::chain {

using json = nlohmann::json;

namespace {

// JSON integers above 2^53 lose precision in many tools, so amounts may also be decimal strings.
Expected<uint64_t> read_u64(const json& j, const std::string& field) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0) return static_cast<uint64_t>(j.get<int64_t>());
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos)
      return fail("genesis.field", field + " must be a non-negative integer, got \"" + s + "\"");
    unsigned __int128 v = 0;
    for (char c : s) v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > UINT64_MAX) return fail("genesis.field", field + " exceeds 2^64-1");
    return static_cast<uint64_t>(v);
  }
  return fail("genesis.field", field + " must be a non-negative integer");
}

Expected<uint64_t> field_u64(const json& obj, const std::string& key, const std::string& path, std::optional<uint64_t> dflt) {
  if (!obj.contains(key)) {
    if (dflt) return *dflt;
    return fail("genesis.missing", "missing field " + path + key);
  }
  return read_u64(obj[key], path + key);
}

Expected<std::string> field_str(const json& obj, const std::string& key, const std::string& path) {
  if (!obj.contains(key) || !obj[key].is_string()) return fail("genesis.missing", path + key + " must be a string");
  return obj[key].get<std::string>();
}

Expected<ChainParams> parse_params(const json& j) {
  ChainParams p;
  if (j.is_null()) return p;
  if (!j.is_object()) return fail("genesis.field", "params must be an object");
  IG_TRY_ASSIGN(bt, field_u64(j, "block_time_ms", "params.", p.block_time_ms));
  IG_TRY_ASSIGN(mt, field_u64(j, "max_block_txs", "params.", p.max_block_txs));
  IG_TRY_ASSIGN(mb, field_u64(j, "max_block_bytes", "params.", p.max_block_bytes));
  IG_TRY_ASSIGN(mx, field_u64(j, "max_tx_bytes", "params.", p.max_tx_bytes));
  p.block_time_ms = bt;
  if (bt < 10 || bt > 3'600'000) return fail("genesis.field", "params.block_time_ms must be within 10..3600000");
  if (mt < 1 || mt > kMaxTxsPerBlock) return fail("genesis.field", "params.max_block_txs must be within 1.." + std::to_string(kMaxTxsPerBlock));
  if (mx < 256 || mx > kMaxTxBytes) return fail("genesis.field", "params.max_tx_bytes must be within 256.." + std::to_string(kMaxTxBytes));
  if (mb < mx || mb > kMaxBlockBytes / 2) return fail("genesis.field", "params.max_block_bytes must be at least max_tx_bytes and at most " + std::to_string(kMaxBlockBytes / 2));
  p.max_block_txs = static_cast<uint32_t>(mt);
  p.max_block_bytes = mb;
  p.max_tx_bytes = mx;
  if (j.contains("fee")) {
    const json& f = j["fee"];
    if (!f.is_object()) return fail("genesis.field", "params.fee must be an object");
    IG_TRY_ASSIGN(base, field_u64(f, "base", "params.fee.", p.fee.base));
    IG_TRY_ASSIGN(per_byte, field_u64(f, "per_byte", "params.fee.", p.fee.per_byte));
    p.fee = FeeSchedule{base, per_byte};
  }
  return p;
}

bool is_hex64(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

// "host:port" (IPv6 in brackets) with a port in 1..65535.
bool is_host_port(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size() || s.size() > 255) return false;
  const std::string port = s.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  const unsigned long n = std::stoul(port);
  return n >= 1 && n <= 65535;
}

Expected<std::optional<GenesisNode>> parse_validator_node(const json& j, size_t i, const PublicKey& key) {
  const std::string path = "validators[" + std::to_string(i) + "].";
  const bool has_id = j.contains("node_id"), has_addr = j.contains("p2p_address");
  if (!has_id && !has_addr) return std::optional<GenesisNode>();
  if (!has_id || !has_addr) return fail("genesis.field", path + "node_id and p2p_address go together");
  if (!j["node_id"].is_string() || !is_hex64(j["node_id"].get<std::string>()))
    return fail("genesis.field", path + "node_id must be 64 hex digits (the node key's public key)");
  if (!j["p2p_address"].is_string() || !is_host_port(j["p2p_address"].get<std::string>()))
    return fail("genesis.field", path + "p2p_address must be host:port");
  std::string id = j["node_id"].get<std::string>();
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::optional<GenesisNode>(GenesisNode{key, id, j["p2p_address"].get<std::string>()});
}

Expected<Validator> parse_validator(const json& j, size_t i) {
  std::string path = "validators[" + std::to_string(i) + "].";
  if (!j.is_object()) return fail("genesis.field", path + " must be an object");
  Validator v;
  IG_TRY_ASSIGN(key_hex, field_str(j, "consensus_key", path));
  IG_TRY_ASSIGN(key, from_hex_fixed<32>(key_hex));
  IG_TRY_ASSIGN(account_str, field_str(j, "account", path));
  IG_TRY_ASSIGN(account, address_from_string(account_str));
  IG_TRY_ASSIGN(power, field_u64(j, "stake", path, std::nullopt));
  if (power == 0) return fail("genesis.field", path + "stake must be positive");
  v.consensus_key = key;
  v.account = account;
  v.power = power;
  if (j.contains("name") && !j["name"].is_string()) return fail("genesis.field", path + "name must be a string");
  v.name = j.value("name", "validator-" + std::to_string(i));
  if (v.name.size() > 64) return fail("genesis.field", path + "name is longer than 64 bytes");
  return v;
}

}  // namespace

Expected<Genesis> parse_genesis(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("genesis.json", "genesis is not a JSON object");
  Genesis g;
  IG_TRY_ASSIGN(chain_id, field_str(j, "chain_id", ""));
  if (chain_id.empty() || chain_id.size() > kMaxChainIdBytes) return fail("genesis.field", "chain_id must be 1..64 bytes");
  g.chain_id = chain_id;
  IG_TRY_ASSIGN(t, field_u64(j, "genesis_time_ms", "", std::nullopt));
  g.genesis_time_ms = t;
  IG_TRY_ASSIGN(params, parse_params(j.value("params", json())));
  g.params = params;
  if (!j.contains("validators") || !j["validators"].is_array() || j["validators"].empty())
    return fail("genesis.field", "validators must be a non-empty array");
  if (j["validators"].size() > kMaxValidators) return fail("genesis.field", "too many validators");
  for (size_t i = 0; i < j["validators"].size(); ++i) {
    IG_TRY_ASSIGN(v, parse_validator(j["validators"][i], i));
    for (const auto& other : g.validators)
      if (other.consensus_key == v.consensus_key) return fail("genesis.field", "duplicate validator consensus_key");
    IG_TRY_ASSIGN(node, parse_validator_node(j["validators"][i], i, v.consensus_key));
    if (node) {
      for (const auto& other : g.nodes)
        if (other.node_id == node->node_id) return fail("genesis.field", "duplicate validator node_id");
      g.nodes.push_back(*node);
    }
    g.validators.push_back(v);
  }
  unsigned __int128 supply = 0;
  const json accounts = j.value("accounts", json::array());
  if (!accounts.is_array()) return fail("genesis.field", "accounts must be an array");
  for (size_t i = 0; i < accounts.size(); ++i) {
    const json& a = accounts[i];
    std::string path = "accounts[" + std::to_string(i) + "].";
    if (!a.is_object()) return fail("genesis.field", path + " must be an object");
    IG_TRY_ASSIGN(addr_str, field_str(a, "address", path));
    IG_TRY_ASSIGN(addr, address_from_string(addr_str));
    IG_TRY_ASSIGN(balance, field_u64(a, "balance", path, std::nullopt));
    for (const auto& other : g.accounts)
      if (other.address == addr) return fail("genesis.field", "duplicate account " + addr_str);
    supply += balance;
    if (supply > UINT64_MAX) return fail("genesis.field", "total supply exceeds 2^64-1");
    g.accounts.push_back(GenesisAccount{addr, balance});
  }
  if (j.contains("contracts")) {
    if (!j["contracts"].is_object()) return fail("genesis.field", "contracts must be an object");
    g.contracts_json = j["contracts"].dump();  // nlohmann objects are key-sorted: canonical
  }
  return g;
}

Expected<Genesis> load_genesis(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail("genesis.io", "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_genesis(ss.str());
}

std::string genesis_to_json(const Genesis& g) {
  json j;
  j["chain_id"] = g.chain_id;
  j["genesis_time_ms"] = g.genesis_time_ms;
  j["params"] = {{"block_time_ms", g.params.block_time_ms},
                 {"max_block_txs", g.params.max_block_txs},
                 {"max_block_bytes", g.params.max_block_bytes},
                 {"max_tx_bytes", g.params.max_tx_bytes},
                 {"fee", {{"base", std::to_string(g.params.fee.base)}, {"per_byte", std::to_string(g.params.fee.per_byte)}}}};
  j["validators"] = json::array();
  for (const auto& v : g.validators) {
    json entry = {{"name", v.name},
                  {"consensus_key", to_hex(v.consensus_key)},
                  {"account", address_to_string(v.account)},
                  {"stake", std::to_string(v.power)}};
    for (const auto& n : g.nodes)
      if (n.consensus_key == v.consensus_key) {
        entry["node_id"] = n.node_id;
        entry["p2p_address"] = n.p2p_address;
      }
    j["validators"].push_back(std::move(entry));
  }
  j["accounts"] = json::array();
  for (const auto& a : g.accounts)
    j["accounts"].push_back({{"address", address_to_string(a.address)}, {"balance", std::to_string(a.balance)}});
  if (!g.contracts_json.empty()) j["contracts"] = json::parse(g.contracts_json, nullptr, false);
  return j.dump(2) + "\n";
}

static void write_params_bytes(Writer& w, const ChainParams& p) {
  w.u64(p.block_time_ms);
  w.u32(p.max_block_txs);
  w.u64(p.max_block_bytes);
  w.u64(p.max_tx_bytes);
  w.u64(p.fee.base);
  w.u64(p.fee.per_byte);
}

static ChainParams read_params_bytes(Reader& r) {
  ChainParams p;
  p.block_time_ms = r.u64();
  p.max_block_txs = r.u32();
  p.max_block_bytes = r.u64();
  p.max_tx_bytes = r.u64();
  p.fee.base = r.u64();
  p.fee.per_byte = r.u64();
  return p;
}

Hash genesis_hash(const Genesis& g) {
  Writer w;
  w.str(g.chain_id);
  w.u64(g.genesis_time_ms);
  write_params_bytes(w, g.params);
  w.bytes(encode_validators(g.validators));
  w.u32(static_cast<uint32_t>(g.accounts.size()));
  for (const auto& a : g.accounts) {
    w.fixed(a.address);
    w.u64(a.balance);
  }
  w.str(g.contracts_json);
  return sha256(w.data());
}

Amount min_fee(const FeeSchedule& f, size_t tx_bytes) {
  unsigned __int128 v = static_cast<unsigned __int128>(f.per_byte) * tx_bytes + f.base;
  return v > UINT64_MAX ? UINT64_MAX : static_cast<Amount>(v);
}

static const Bytes& params_key() {
  static const Bytes k = state_key(StatePrefix::kChain, view(std::string("params")));
  return k;
}
static const Bytes& validators_key() {
  static const Bytes k = state_key(StatePrefix::kChain, view(std::string("validators")));
  return k;
}

void write_params(State& s, const ChainParams& p) {
  Writer w;
  write_params_bytes(w, p);
  s.put(params_key(), w.data());
}

Expected<ChainParams> read_params(const State& s) {
  auto raw = s.get(params_key());
  if (!raw) return fail("state.missing", "chain parameters are not in state");
  Reader r(*raw);
  ChainParams p = read_params_bytes(r);
  IG_TRY(r.finish());
  return p;
}

static const Bytes& signing_set_key() {
  static const Bytes k = state_key(StatePrefix::kChain, view(std::string("signing_validators")));
  return k;
}

void write_validator_set(State& s, const std::vector<Validator>& vs) { s.put(validators_key(), encode_validators(vs)); }

void write_signing_set(State& s, const std::vector<Validator>& vs) { s.put(signing_set_key(), encode_validators(vs)); }

Expected<std::vector<Validator>> read_signing_set(const State& s) {
  auto raw = s.get(signing_set_key());
  if (!raw) return fail("state.missing", "signing validator set is not in state");
  return decode_validators(*raw);
}

Expected<std::vector<Validator>> read_validator_set(const State& s) {
  auto raw = s.get(validators_key());
  if (!raw) return fail("state.missing", "validator set is not in state");
  return decode_validators(*raw);
}

}  // namespace ig::chain
