// How a validator's verifier turns what it saw during a weight window into a weight vector
// over miners (docs/workers.md, "Scoring"). Pure integer arithmetic, so two runs over the same
// tallies give the same weights and tests can state them exactly.
//
//   correctness first: a miner with any result this validator rejected in the window gets 0;
//   otherwise   score = verified × reliability × speed, where
//     reliability = verified / (verified + missed deadlines)
//     speed       = L / (L + mean latency in blocks from assignment to result), L = 4
//   weights are scores scaled so that the best miner gets 65535 (max-upscaled, as Bittensor
//   normalizes weight rows); a positive score never rounds to 0; ascending uid.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "chain/payloads.hpp"

namespace ig::workers {

struct MinerTally {
  uint64_t verified = 0;       // results this validator checked and accepted
  uint64_t rejected = 0;       // results it rejected
  uint64_t missed = 0;         // assignments that timed out
  uint64_t latency_blocks = 0; // sum over verified results of (result height - assignment height)
  bool operator==(const MinerTally&) const = default;
};

inline constexpr uint64_t kLatencyScaleBlocks = 4;

std::vector<chain::WeightEntry> weights_from_tallies(const std::map<uint16_t, MinerTally>& by_uid);

}  // namespace ig::workers
