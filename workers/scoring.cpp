#include "workers/scoring.hpp"

#include <algorithm>

namespace ig::workers {

std::vector<chain::WeightEntry> weights_from_tallies(const std::map<uint16_t, MinerTally>& by_uid) {
  using u128 = unsigned __int128;
  constexpr u128 kPpm = 1'000'000;
  std::vector<std::pair<uint16_t, u128>> scores;
  u128 best = 0;
  for (const auto& [uid, t] : by_uid) {
    if (t.rejected > 0 || t.verified == 0) continue;
    const u128 reliability = kPpm * t.verified / (t.verified + t.missed);
    // L / (L + sum/verified) = L*verified / (L*verified + sum)
    const u128 speed = kPpm * kLatencyScaleBlocks * t.verified / (u128(kLatencyScaleBlocks) * t.verified + t.latency_blocks);
    const u128 score = u128(t.verified) * reliability * speed;
    if (score == 0) continue;
    scores.emplace_back(uid, score);
    best = std::max(best, score);
  }
  std::vector<chain::WeightEntry> out;
  for (const auto& [uid, score] : scores) {
    auto w = static_cast<uint16_t>(std::max<u128>(1, score * 65535 / best));
    out.push_back(chain::WeightEntry{uid, w});
  }
  return out;  // by_uid is ordered, so uids ascend
}

}  // namespace ig::workers
