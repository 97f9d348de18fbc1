// Runs a case's epoch schedule through ig::yuma::run_epoch, carrying bonds, permits, weights
// and registrations from one epoch to the next as the chain would.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "contracts/yuma/tool/case.hpp"

namespace ig::yuma::tool {

struct EpochRecord {
  std::uint64_t block = 0;
  std::optional<std::string> label;
  EpochOutput out;
};

Expected<std::vector<EpochRecord>> simulate(const Case& c);

}  // namespace ig::yuma::tool
