// The case format of docs/yuma.md §13: initial subnet state, hyperparameters, a schedule of
// epochs with the events between them, and the facts to check.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/expected.hpp"
#include "contracts/yuma/yuma.hpp"

namespace ig::yuma::tool {

// Parameters of a case: the epoch's hyperparameters plus the runner's own keys. A
// default-constructed CaseParams holds yuma::Params{}, i.e. subtensor's storage defaults; a
// case starts from default_params() instead.
struct CaseParams {
  Params epoch;
  std::uint64_t current_block = 10000;
  std::uint64_t last_mechanism_step_block = 0;
  std::uint64_t rao_emission = 1000000000;
};

struct Replacement {
  std::uint32_t uid = 0;
  std::uint64_t block = 0;
  Q64 stake;
};

// One scheduled epoch and what happens before it, applied in this order: stake, replace,
// set_weights, reset_bonds, params.
struct EpochStep {
  std::optional<std::uint64_t> block;
  std::optional<std::vector<Q64>> stake;
  std::vector<Replacement> replace;
  std::map<std::uint32_t, U16Row> set_weights;  // already max-upscaled, ordered by uid
  std::optional<std::uint64_t> weights_block;
  std::vector<std::uint32_t> reset_bonds;
  nlohmann::json params = nlohmann::json::object();  // overrides, kept for later epochs
  std::optional<std::string> label;
};

struct Case {
  std::size_t n = 0;
  CaseParams params;
  nlohmann::json params_json;  // the merged parameter object, for the output
  std::vector<Q64> stake;
  std::vector<U16Row> weights;
  std::vector<U16Row> bonds;
  std::optional<std::vector<std::uint64_t>> last_update;  // default: first epoch block
  std::vector<std::uint64_t> registered_at;
  std::optional<std::vector<bool>> permits;  // default: steady state (top-K)
  std::vector<std::optional<std::uint64_t>> commit_block;
  std::vector<EpochStep> epochs;
  nlohmann::json expect;      // null when absent
  nlohmann::json expect_log;  // null when absent
};

// What a key missing from a case's "params" means.
enum class Defaults {
  kChain,    // this chain's values (contracts::Params{}: Yuma3 on, 64 permits, tempo 100, ...)
  kStorage,  // subtensor's runtime storage defaults of yuma.md §4 (Yuma3 off, 128 permits, ...)
};

CaseParams default_params(Defaults d);
// "chain" or "storage", as --defaults spells them.
Expected<Defaults> parse_defaults(const std::string& name);

// Parses and validates a case document; every shape error names the offending field.
Expected<Case> parse_case(const nlohmann::json& doc, Defaults defaults = Defaults::kChain);

// Applies parameter overrides (the "params" object) to `base`; unknown keys are errors.
Status apply_params(const nlohmann::json& overrides, CaseParams& base);

// The parameter object as the output prints it (every key, defaults filled in).
nlohmann::ordered_json params_to_json(const CaseParams& p);

}  // namespace ig::yuma::tool
