#include "contracts/yuma/tool/report.hpp"

#include "contracts/yuma/tool/convert.hpp"

namespace ig::yuma::tool {
namespace {

using ojson = nlohmann::ordered_json;

ojson floats(const std::vector<q32>& v) {
  ojson a = ojson::array();
  for (q32 x : v) a.push_back(q32_to_double(x));
  return a;
}

ojson bools(const std::vector<bool>& v) {
  ojson a = ojson::array();
  for (bool b : v) a.push_back(b);
  return a;
}

template <typename T>
ojson ints(const std::vector<T>& v) {
  ojson a = ojson::array();
  for (T x : v) a.push_back(x);
  return a;
}

std::vector<std::vector<std::uint16_t>> dense(const std::vector<U16Row>& rows, std::size_t n) {
  std::vector<std::vector<std::uint16_t>> m(rows.size(), std::vector<std::uint16_t>(n, 0));
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (const U16Entry& e : rows[i]) m[i][e.col] = e.val;
  return m;
}

}  // namespace

ojson epoch_to_json(const EpochRecord& r, std::size_t index, std::size_t n) {
  const EpochOutput& o = r.out;
  ojson e;
  e["block"] = r.block;
  e["active"] = bools(o.active);
  e["stake_weight"] = ints(to_u16(o.stake_weight));
  e["active_stake_f"] = floats(o.active_stake);
  e["validator_permits_used"] = bools(o.permits_used);
  e["new_validator_permits"] = bools(o.new_permits);
  e["consensus"] = ints(to_u16(o.consensus));
  e["consensus_f"] = floats(o.consensus);
  e["incentive"] = ints(to_u16(o.incentive));
  e["incentive_f"] = floats(o.incentive);
  e["dividends"] = ints(to_u16(o.dividends));
  e["dividends_f"] = floats(o.dividends);
  e["validator_trust"] = ints(to_u16(o.validator_trust));
  e["validator_trust_f"] = floats(o.validator_trust);
  e["trust_legacy"] = ints(to_u16(o.trust_legacy));
  e["pruning_score_legacy"] = ints(o.pruning_score_legacy);
  e["server_emission"] = ints(o.server_emission);
  e["validator_emission"] = ints(o.validator_emission);
  e["emission"] = ints(o.emission);
  ojson bonds = ojson::array(), bonds_f = ojson::array();
  for (const auto& row : dense(o.bonds, n)) {
    bonds.push_back(ints(row));
    ojson frow = ojson::array();
    // bonds_f: the stored u16 read back as a proportion, as the next epoch reads it.
    for (std::uint16_t b : row) frow.push_back(q32_to_double(fx::from_u16_proportion(b)));
    bonds_f.push_back(std::move(frow));
  }
  e["bonds"] = std::move(bonds);
  e["bonds_f"] = std::move(bonds_f);
  if (o.liquid_alphas) {
    ojson la = ojson::array();
    for (const auto& row : *o.liquid_alphas) la.push_back(floats(row));
    e["liquid_alphas_f"] = std::move(la);
  }
  if (r.label) e["label"] = *r.label;
  e["epoch"] = index;
  return e;
}

ojson report(const Case& c, const std::vector<EpochRecord>& records) {
  ojson doc;
  doc["n"] = c.n;
  doc["params"] = params_to_json(c.params);
  ojson epochs = ojson::array();
  for (std::size_t k = 0; k < records.size(); ++k) epochs.push_back(epoch_to_json(records[k], k, c.n));
  ojson last = epochs.empty() ? ojson() : epochs.back();
  doc["epochs"] = std::move(epochs);
  doc["final"] = std::move(last);
  return doc;
}

}  // namespace ig::yuma::tool
