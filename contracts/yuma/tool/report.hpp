// The output format of docs/yuma.md §13: one object per epoch, u16 fields as the chain stores
// them and `_f` fields holding the underlying I32F32 value as a float.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "contracts/yuma/tool/case.hpp"
#include "contracts/yuma/tool/simulate.hpp"

namespace ig::yuma::tool {

nlohmann::ordered_json epoch_to_json(const EpochRecord& r, std::size_t index, std::size_t n);
nlohmann::ordered_json report(const Case& c, const std::vector<EpochRecord>& records);

}  // namespace ig::yuma::tool
