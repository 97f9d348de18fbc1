#include "contracts/yuma/tool/case.hpp"

#include <cmath>
#include <set>
#include <stdexcept>

#include "contracts/epoch.hpp"
#include "contracts/params.hpp"
#include "contracts/yuma/tool/convert.hpp"

namespace ig::yuma::tool {
namespace {

using nlohmann::json;

// Shape errors inside the parser; parse_case turns them into ig::Error.
struct CaseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void shape(const std::string& path, const std::string& what) {
  throw CaseError(path + ": " + what);
}

std::uint64_t as_u64(const json& v, const std::string& path) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return v.get<std::uint64_t>();
  shape(path, "expected a non-negative integer, got " + v.dump());
}

std::uint64_t as_bounded(const json& v, const std::string& path, std::uint64_t max) {
  const std::uint64_t x = as_u64(v, path);
  if (x > max) shape(path, std::to_string(x) + " exceeds " + std::to_string(max));
  return x;
}

bool as_bool(const json& v, const std::string& path) {
  if (!v.is_boolean()) shape(path, "expected true or false, got " + v.dump());
  return v.get<bool>();
}

std::uint32_t as_uid(const json& v, const std::string& path, std::size_t n) {
  const std::uint64_t u = as_u64(v, path);
  if (u >= n) shape(path, "uid " + std::to_string(u) + " out of range (n = " + std::to_string(n) + ")");
  return static_cast<std::uint32_t>(u);
}

std::uint32_t key_uid(const std::string& key, const std::string& path, std::size_t n) {
  std::uint64_t u = 0;
  if (key.empty() || key.size() > 9) shape(path, "\"" + key + "\" is not a uid");
  for (char c : key) {
    if (c < '0' || c > '9') shape(path, "\"" + key + "\" is not a uid");
    u = u * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (u >= n) shape(path, "uid " + key + " out of range (n = " + std::to_string(n) + ")");
  return static_cast<std::uint32_t>(u);
}

const json& array_of(const json& v, const std::string& path, std::optional<std::size_t> len) {
  if (!v.is_array()) shape(path, "expected an array, got " + v.dump());
  if (len && v.size() != *len)
    shape(path, "has " + std::to_string(v.size()) + " entries, expected " + std::to_string(*len));
  return v;
}

Q64 as_stake(const json& v, const std::string& path) {
  if (v.is_number_float()) {
    auto q = q64_from_double(v.get<double>());
    if (!q) shape(path, "stake must be a finite non-negative number below 2^63");
    return *q;
  }
  const std::uint64_t s = as_u64(v, path);
  if (s >> 63) shape(path, "stake exceeds the I64F64 range");
  return Q64::from_u64(s);
}

std::vector<Q64> parse_stake(const json& v, const std::string& path, std::optional<std::size_t> n) {
  std::vector<Q64> out;
  for (std::size_t k = 0; const json& s : array_of(v, path, n)) out.push_back(as_stake(s, path + "[" + std::to_string(k++) + "]"));
  return out;
}

// Weight values as a caller passes them to set_weights: u16 integers, or floats that the SDK
// scales by their maximum. Returns the u16 values in input order.
std::vector<std::uint16_t> weight_values(const std::vector<const json*>& vals, const std::string& path) {
  bool any_float = false;
  for (const json* v : vals) any_float = any_float || v->is_number_float();
  std::vector<std::uint16_t> out;
  if (!any_float) {
    for (const json* v : vals) out.push_back(static_cast<std::uint16_t>(as_bounded(*v, path, 65535)));
    return out;
  }
  std::vector<double> w;
  for (const json* v : vals) {
    if (!v->is_number() || v->get<double>() < 0 || !std::isfinite(v->get<double>()))
      shape(path, "weights must be non-negative numbers, got " + v->dump());
    w.push_back(v->get<double>());
  }
  return sdk_u16_weights(w);
}

// A stored weight row: dense list (zeros = no entry), {"uid": value} (zeros kept), null / [].
U16Row parse_weight_row(const json& v, const std::string& path, std::size_t n) {
  std::vector<std::uint32_t> uids;
  std::vector<const json*> vals;
  bool dense = false;
  if (v.is_null() || (v.is_array() && v.empty())) return {};
  if (v.is_array()) {
    array_of(v, path, n);
    dense = true;
    for (std::size_t j = 0; j < n; ++j) {
      uids.push_back(static_cast<std::uint32_t>(j));
      vals.push_back(&v[j]);
    }
  } else if (v.is_object()) {
    for (const auto& [key, val] : v.items()) {
      uids.push_back(key_uid(key, path, n));
      vals.push_back(&val);
    }
  } else {
    shape(path, "a weight row is a list, an object or null, got " + v.dump());
  }
  std::vector<std::uint16_t> values = weight_values(vals, path);
  std::vector<std::uint32_t> kept_uids;
  std::vector<std::uint16_t> kept;
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (dense && values[k] == 0) continue;  // the SDK omits zero weights
    kept_uids.push_back(uids[k]);
    kept.push_back(values[k]);
  }
  const std::vector<std::uint16_t> stored = max_upscale_weights(kept);
  U16Row row;
  for (std::size_t k = 0; k < stored.size(); ++k) row.push_back({kept_uids[k], stored[k]});
  return row;
}

U16Row parse_bond_row(const json& v, const std::string& path, std::size_t n) {
  U16Row row;
  if (v.is_null()) return row;
  if (v.is_array()) {
    if (v.empty()) return row;
    array_of(v, path, n);
    for (std::size_t j = 0; j < n; ++j) {
      const auto b = static_cast<std::uint16_t>(as_bounded(v[j], path + "[" + std::to_string(j) + "]", 65535));
      if (b != 0) row.push_back({static_cast<std::uint32_t>(j), b});
    }
    return row;
  }
  if (!v.is_object()) shape(path, "a bond row is a list, an object or null, got " + v.dump());
  for (const auto& [key, val] : v.items())
    row.push_back({key_uid(key, path, n), static_cast<std::uint16_t>(as_bounded(val, path + "." + key, 65535))});
  return row;
}

// A list of rows may stop early: cases list the validators' rows first and leave out the
// miners that set nothing, so uids past the end have empty rows (docs/yuma-runner.md).
template <typename F>
std::vector<U16Row> parse_matrix(const json& v, const std::string& path, std::size_t n, F row_fn) {
  std::vector<U16Row> rows(n);
  if (v.is_null() || (v.is_array() && v.empty())) return rows;
  if (v.is_array()) {
    if (v.size() > n)
      shape(path, "has " + std::to_string(v.size()) + " rows, expected at most " + std::to_string(n) + " (one per uid)");
    for (std::size_t i = 0; i < v.size(); ++i) rows[i] = row_fn(v[i], path + "[" + std::to_string(i) + "]", n);
  } else if (v.is_object()) {
    for (const auto& [key, val] : v.items()) rows[key_uid(key, path, n)] = row_fn(val, path + "." + key, n);
  } else {
    shape(path, "expected a list of rows or an object of rows");
  }
  return rows;
}

std::vector<std::uint64_t> parse_u64s(const json& v, const std::string& path, std::size_t n) {
  std::vector<std::uint64_t> out;
  for (std::size_t k = 0; const json& x : array_of(v, path, n)) out.push_back(as_u64(x, path + "[" + std::to_string(k++) + "]"));
  return out;
}

void check_keys(const json& obj, const std::string& path, const std::set<std::string>& allowed) {
  if (!obj.is_object()) shape(path, "expected an object, got " + obj.dump());
  for (const auto& [key, _] : obj.items())
    if (!allowed.count(key)) shape(path, "unknown key \"" + key + "\"");
}

void apply_param(const std::string& key, const json& v, CaseParams& c) {
  const std::string path = "params." + key;
  Params& p = c.epoch;
  if (key == "kappa") p.kappa = static_cast<std::uint16_t>(as_bounded(v, path, 65535));
  else if (key == "bonds_penalty") p.bonds_penalty = static_cast<std::uint16_t>(as_bounded(v, path, 65535));
  else if (key == "bonds_moving_average") p.bonds_moving_average = as_bounded(v, path, 1000000);
  else if (key == "yuma3") p.yuma3 = as_bool(v, path);
  else if (key == "liquid_alpha") p.liquid_alpha = as_bool(v, path);
  else if (key == "alpha_low") p.alpha_low = static_cast<std::uint16_t>(as_bounded(v, path, 65535));
  else if (key == "alpha_high") p.alpha_high = static_cast<std::uint16_t>(as_bounded(v, path, 65535));
  else if (key == "alpha_sigmoid_steepness") {
    if (!v.is_number_integer() || v.get<std::int64_t>() < INT16_MIN || v.get<std::int64_t>() > INT16_MAX)
      shape(path, "expected an i16 integer, got " + v.dump());
    p.alpha_sigmoid_steepness = static_cast<std::int16_t>(v.get<std::int64_t>());
  } else if (key == "max_allowed_validators") p.max_allowed_validators = static_cast<std::uint16_t>(as_bounded(v, path, 65535));
  else if (key == "tempo") p.tempo = as_bounded(v, path, 65535);
  else if (key == "activity_cutoff") p.activity_cutoff = v.is_null() ? std::nullopt : std::optional(as_u64(v, path));
  else if (key == "activity_cutoff_factor_milli") p.activity_cutoff_factor_milli = static_cast<std::uint32_t>(as_bounded(v, path, UINT32_MAX));
  else if (key == "stake_threshold") p.stake_threshold = as_u64(v, path);
  else if (key == "owner_uid") p.owner_uid = v.is_null() ? std::nullopt : std::optional(static_cast<std::uint32_t>(as_bounded(v, path, 65534)));
  else if (key == "commit_reveal") p.commit_reveal = as_bool(v, path);
  else if (key == "current_block") c.current_block = as_u64(v, path);
  else if (key == "last_mechanism_step_block") c.last_mechanism_step_block = as_u64(v, path);
  else if (key == "rao_emission") c.rao_emission = as_u64(v, path);
  else shape("params", "unknown key \"" + key + "\"");
}

EpochStep parse_step(const json& v, const std::string& path, std::size_t n) {
  check_keys(v, path, {"block", "set_weights", "weights_block", "stake", "replace", "reset_bonds", "params", "label"});
  EpochStep s;
  if (v.contains("block")) s.block = as_u64(v["block"], path + ".block");
  if (v.contains("weights_block")) s.weights_block = as_u64(v["weights_block"], path + ".weights_block");
  if (v.contains("stake")) s.stake = parse_stake(v["stake"], path + ".stake", n);
  if (v.contains("set_weights")) {
    const json& sw = v["set_weights"];
    if (!sw.is_object()) shape(path + ".set_weights", "expected an object {\"uid\": row}");
    for (const auto& [key, row] : sw.items())
      s.set_weights[key_uid(key, path + ".set_weights", n)] = parse_weight_row(row, path + ".set_weights." + key, n);
  }
  if (v.contains("replace")) {
    for (std::size_t k = 0; const json& r : array_of(v["replace"], path + ".replace", std::nullopt)) {
      const std::string rp = path + ".replace[" + std::to_string(k++) + "]";
      check_keys(r, rp, {"uid", "block", "stake"});
      if (!r.contains("uid") || !r.contains("block")) shape(rp, "needs \"uid\" and \"block\"");
      s.replace.push_back({as_uid(r["uid"], rp + ".uid", n), as_u64(r["block"], rp + ".block"),
                           r.contains("stake") ? as_stake(r["stake"], rp + ".stake") : Q64{}});
    }
  }
  if (v.contains("reset_bonds"))
    for (std::size_t k = 0; const json& u : array_of(v["reset_bonds"], path + ".reset_bonds", std::nullopt))
      s.reset_bonds.push_back(as_uid(u, path + ".reset_bonds[" + std::to_string(k++) + "]", n));
  if (v.contains("params")) {
    CaseParams probe;  // validate now so errors point at the schedule entry
    check_keys(v["params"], path + ".params", {"kappa", "bonds_penalty", "bonds_moving_average", "yuma3", "liquid_alpha",
                                                "alpha_low", "alpha_high", "alpha_sigmoid_steepness", "max_allowed_validators",
                                                "tempo", "activity_cutoff", "activity_cutoff_factor_milli", "stake_threshold",
                                                "owner_uid", "commit_reveal", "current_block", "last_mechanism_step_block",
                                                "rao_emission"});
    for (const auto& [key, val] : v["params"].items()) apply_param(key, val, probe);
    s.params = v["params"];
  }
  if (v.contains("label")) {
    if (!v["label"].is_string()) shape(path + ".label", "expected a string");
    s.label = v["label"].get<std::string>();
  }
  return s;
}

Case parse(const json& doc, Defaults defaults) {
  check_keys(doc, "case", {"description", "source", "note", "stake", "weights", "bonds_prev", "last_update",
                           "block_at_registration", "commit_blocks", "validator_permits", "params", "epochs",
                           "expect", "expect_log"});
  if (!doc.contains("stake")) shape("case", "\"stake\" is required");
  Case c;
  c.params = default_params(defaults);
  c.stake = parse_stake(doc["stake"], "stake", std::nullopt);
  c.n = c.stake.size();
  if (c.n == 0) shape("stake", "a subnet needs at least one uid");
  if (c.n > 65535) shape("stake", "more than 65535 uids");
  const std::size_t n = c.n;
  if (doc.contains("params")) {
    if (!doc["params"].is_object()) shape("params", "expected an object");
    for (const auto& [key, val] : doc["params"].items()) apply_param(key, val, c.params);
  }
  c.weights = parse_matrix(doc.value("weights", json()), "weights", n, parse_weight_row);
  c.bonds = parse_matrix(doc.value("bonds_prev", json()), "bonds_prev", n, parse_bond_row);
  if (doc.contains("last_update")) c.last_update = parse_u64s(doc["last_update"], "last_update", n);
  c.registered_at = doc.contains("block_at_registration")
                        ? parse_u64s(doc["block_at_registration"], "block_at_registration", n)
                        : std::vector<std::uint64_t>(n, 0);
  if (doc.contains("commit_blocks")) {
    for (std::size_t k = 0; const json& x : array_of(doc["commit_blocks"], "commit_blocks", n)) {
      const std::string p = "commit_blocks[" + std::to_string(k++) + "]";
      c.commit_block.push_back(x.is_null() ? std::nullopt : std::optional(as_u64(x, p)));
    }
  }
  if (doc.contains("validator_permits")) {
    std::vector<bool> permits;
    for (std::size_t k = 0; const json& x : array_of(doc["validator_permits"], "validator_permits", n))
      permits.push_back(as_bool(x, "validator_permits[" + std::to_string(k++) + "]"));
    c.permits = std::move(permits);
  }
  if (doc.contains("epochs")) {
    for (std::size_t k = 0; const json& e : array_of(doc["epochs"], "epochs", std::nullopt))
      c.epochs.push_back(parse_step(e, "epochs[" + std::to_string(k++) + "]", n));
  }
  if (c.epochs.empty()) c.epochs.push_back(EpochStep{});
  c.expect = doc.value("expect", json());
  c.expect_log = doc.value("expect_log", json());
  if (!c.expect.is_null() && !c.expect.is_object()) shape("expect", "expected an object");
  return c;
}

}  // namespace

Status apply_params(const nlohmann::json& overrides, CaseParams& base) {
  try {
    for (const auto& [key, val] : overrides.items()) apply_param(key, val, base);
  } catch (const CaseError& e) {
    return fail("yuma.case", e.what());
  }
  return {};
}

CaseParams default_params(Defaults d) {
  CaseParams p;
  // The chain's values come from the chain's own table (contracts::Params) through the same
  // mapping its epoch uses, so the two cannot drift apart.
  if (d == Defaults::kChain) p.epoch = contracts::epoch::yuma_params(contracts::Params{});
  return p;
}

Expected<Defaults> parse_defaults(const std::string& name) {
  if (name == "chain") return Defaults::kChain;
  if (name == "storage") return Defaults::kStorage;
  return fail("yuma.args", "--defaults must be \"chain\" or \"storage\", got \"" + name + "\"");
}

Expected<Case> parse_case(const nlohmann::json& doc, Defaults defaults) {
  try {
    return parse(doc, defaults);
  } catch (const CaseError& e) {
    return fail("yuma.case", e.what());
  } catch (const nlohmann::json::exception& e) {
    return fail("yuma.case", std::string("malformed case: ") + e.what());
  }
}

nlohmann::ordered_json params_to_json(const CaseParams& c) {
  const Params& p = c.epoch;
  nlohmann::ordered_json j;
  j["kappa"] = p.kappa;
  j["bonds_penalty"] = p.bonds_penalty;
  j["bonds_moving_average"] = p.bonds_moving_average;
  j["yuma3"] = p.yuma3;
  j["liquid_alpha"] = p.liquid_alpha;
  j["alpha_low"] = p.alpha_low;
  j["alpha_high"] = p.alpha_high;
  j["alpha_sigmoid_steepness"] = p.alpha_sigmoid_steepness;
  j["max_allowed_validators"] = p.max_allowed_validators;
  j["tempo"] = p.tempo;
  j["activity_cutoff"] = p.activity_cutoff ? nlohmann::ordered_json(*p.activity_cutoff) : nlohmann::ordered_json();
  j["activity_cutoff_factor_milli"] = p.activity_cutoff_factor_milli;
  j["current_block"] = c.current_block;
  j["last_mechanism_step_block"] = c.last_mechanism_step_block;
  j["stake_threshold"] = p.stake_threshold;
  j["owner_uid"] = p.owner_uid ? nlohmann::ordered_json(*p.owner_uid) : nlohmann::ordered_json();
  j["rao_emission"] = c.rao_emission;
  j["commit_reveal"] = p.commit_reveal;
  return j;
}

}  // namespace ig::yuma::tool
