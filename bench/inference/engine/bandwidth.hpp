// bench_engine --bandwidth: the machine's streaming read speed, the bound decode is measured
// against (docs/inference.md, "Speed").
#pragma once

#include <vector>

namespace ig::bench {

// For each thread count T: T threads each read its share of a 1 GiB buffer (four independent
// chains of vector loads), best of 5; prints {"bench":"bandwidth","threads":T,"gb_per_s":..,
// "checksum":..} per line. Returns 1 when the buffer cannot be allocated.
int bench_bandwidth(const std::vector<int>& threads);

}  // namespace ig::bench
