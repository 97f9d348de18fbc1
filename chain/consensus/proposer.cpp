#include "chain/consensus/proposer.hpp"

#include <algorithm>
#include <numeric>

namespace ig::chain::bft {

namespace {

// CometBFT's safeAddClip / safeSubClip: saturate at the int64 range instead of wrapping.
int64_t clip(__int128 v) {
  if (v > INT64_MAX) return INT64_MAX;
  if (v < INT64_MIN) return INT64_MIN;
  return static_cast<int64_t>(v);
}

// Floor division (Go's big.Int Div is Euclidean; for a positive divisor that is the floor).
__int128 floor_div(__int128 a, __int128 b) {
  __int128 q = a / b;
  if ((a % b != 0) && (a < 0)) --q;
  return q;
}

}  // namespace

ProposerSelector::ProposerSelector(const ValidatorSet& set) : ProposerSelector(set, std::vector<int64_t>(set.size(), 0)) {}

ProposerSelector::ProposerSelector(const ValidatorSet& set, std::vector<int64_t> priorities)
    : priorities_(std::move(priorities)) {
  priorities_.resize(set.size(), 0);
  Power total = set.total_power();
  int shift = 0;
  while ((total >> shift) > static_cast<Power>(kMaxTotalVotingPower)) ++shift;
  // Shifting every power may leave the sum a little above the limit when powers round up to 1;
  // shift further until the scaled sum itself fits.
  for (;; ++shift) {
    powers_.clear();
    Power sum = 0;
    for (const auto& v : set.validators()) {
      uint64_t p = std::max<uint64_t>(1, v.power >> shift);
      powers_.push_back(static_cast<int64_t>(p));
      sum += p;
    }
    if (sum <= static_cast<Power>(kMaxTotalVotingPower)) {
      total_ = static_cast<int64_t>(sum);
      break;
    }
  }
  for (const auto& v : set.validators()) keys_.push_back(v.consensus_key);
}

void ProposerSelector::rescale_and_center() {
  if (priorities_.empty()) return;
  // RescalePriorities(2·total): divide by ceil(diff / diffMax) when the spread exceeds diffMax.
  const __int128 diff_max = static_cast<__int128>(total_) * 2;
  auto [mn, mx] = std::minmax_element(priorities_.begin(), priorities_.end());
  const __int128 diff = static_cast<__int128>(*mx) - *mn;
  if (diff > diff_max) {
    const __int128 ratio = (diff + diff_max - 1) / diff_max;
    for (auto& p : priorities_) p = static_cast<int64_t>(p / ratio);  // truncating, as Go's int64 division
  }
  // shiftByAvgProposerPriority.
  __int128 sum = 0;
  for (int64_t p : priorities_) sum += p;
  const __int128 avg = floor_div(sum, static_cast<__int128>(priorities_.size()));
  for (auto& p : priorities_) p = clip(static_cast<__int128>(p) - avg);
}

void ProposerSelector::elect_once() {
  size_t best = 0;
  for (size_t i = 0; i < priorities_.size(); ++i) {
    priorities_[i] = clip(static_cast<__int128>(priorities_[i]) + powers_[i]);
    if (i == 0) continue;
    if (priorities_[i] > priorities_[best] || (priorities_[i] == priorities_[best] && keys_[i] < keys_[best])) best = i;
  }
  priorities_[best] = clip(static_cast<__int128>(priorities_[best]) - total_);
  proposer_ = best;
}

void ProposerSelector::increment(uint64_t times) {
  if (priorities_.empty() || times == 0) return;
  rescale_and_center();
  for (uint64_t i = 0; i < times; ++i) elect_once();
}

ProposerSchedule::ProposerSchedule(ValidatorSet set) : set_(std::move(set)), cursor_(set_), anchor_(set_) {
  uint64_t g = 0;
  for (int64_t p : cursor_.powers()) g = std::gcd(g, static_cast<uint64_t>(p));
  candidate_ = g ? static_cast<uint64_t>(cursor_.total()) / g : 0;
}

size_t ProposerSchedule::at(uint64_t election) {
  if (election == 0) election = 1;
  const uint64_t target = period_ ? (election - 1) % period_ + 1 : election;
  const bool backwards = target < cursor_at_;
  if (backwards) {
    if (target >= anchor_at_) {
      cursor_ = anchor_;
      cursor_at_ = anchor_at_;
    } else {
      cursor_ = ProposerSelector(set_);
      cursor_at_ = 0;
    }
  }
  while (cursor_at_ < target) {
    cursor_.increment(1);
    ++cursor_at_;
    if (!period_checked_ && cursor_at_ == candidate_) {
      period_checked_ = true;
      const auto& pr = cursor_.priorities();
      // All-zero again: the state machine is back where it started, so it repeats from here.
      if (std::all_of(pr.begin(), pr.end(), [](int64_t p) { return p == 0; })) {
        period_ = candidate_;
        anchor_ = ProposerSelector(set_);
        anchor_at_ = 0;
        return at(election);
      }
    }
  }
  if (backwards) {
    anchor_ = cursor_;
    anchor_at_ = cursor_at_;
  }
  return *cursor_.proposer();
}

}  // namespace ig::chain::bft
