// How set_weights stores a submitted weight row (docs/yuma.md §9): max-upscaled so that the
// largest value becomes 65535, rounding half away from zero.
#pragma once

#include <cstdint>
#include <vector>

namespace ig::yuma {

std::vector<std::uint16_t> max_upscale_weights(const std::vector<std::uint16_t>& values);

}  // namespace ig::yuma
