// --check: compares a run's output with the facts under a case's "expect" (u16/u64 values
// exactly, `_f` values within the case's tolerance), and --reference: with a full output file.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ig::yuma::tool {

struct CheckReport {
  std::size_t facts = 0;                 // leaf values compared
  std::vector<std::string> mismatches;   // one line per failed fact
  bool ok() const { return mismatches.empty(); }
};

inline constexpr double kDefaultTolerance = 1e-3;

// `expect` = {"tolerance": {"f": t}, "epochs": {"<index>": {"<field>": value}}}; a value is a
// dense list, or an object keyed by uid (nested for bond rows).
CheckReport check_facts(const nlohmann::json& expect, const nlohmann::ordered_json& output);

// Every field of every epoch of `reference` (a full output document) against `output`.
CheckReport compare_outputs(const nlohmann::json& reference, const nlohmann::ordered_json& output,
                            double float_tolerance);

}  // namespace ig::yuma::tool
