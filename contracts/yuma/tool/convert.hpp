// Float → fixed conversions of case inputs (docs/yuma.md §2 rule 8: nearest, ties to even).
// Floating point is confined to this tool; the library never sees a double.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "contracts/yuma/fixed.hpp"

namespace ig::yuma::tool {

// The exact binary value of a finite, non-negative double as a Q64 raw (ties to even);
// nullopt for negative, non-finite or out-of-range values.
std::optional<Q64> q64_from_double(double v);

// What the Python SDK submits for float weights: w / max · 65535 rounded half to even.
// Returns one u16 per input (zeros kept; the caller decides whether to drop them).
std::vector<std::uint16_t> sdk_u16_weights(const std::vector<double>& w);

// A Q32 raw as a float rounded to 10 decimals, as the reference output prints `_f` fields.
double q32_to_double(q32 raw);

}  // namespace ig::yuma::tool
