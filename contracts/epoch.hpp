// epoch: every `tempo` blocks, at the end of the epoch's last block — run Yuma over stake and
// the revealed weights, mint the epoch emission 50/50 to miners by incentive and validators by
// dividends, slash persistent deviation, and let validator-set changes take effect.
//
// State (prefix kYuma):
//   'b' || uid(be64)  -> bond row (u32 column, u16 value)*
//   'P'               -> validator permits from the last epoch (u8 per uid)
//   'l'               -> EpochRecord of the last epoch (for RPC)
#pragma once

#include "chain/application.hpp"
#include "contracts/params.hpp"
#include "contracts/yuma/epoch.hpp"

namespace ig::contracts::epoch {

// The Yuma hyperparameters the chain runs its epoch with. infergrid-yuma starts from
// yuma_params(Params{}) so that a case with no "params" means what it means on this chain.
yuma::Params yuma_params(const Params& p);

inline bool is_boundary(const Params& p, uint64_t height) { return (height + 1) % p.tempo == 0; }

struct UidResult {
  uint64_t uid = 0;
  chain::Address account{};
  uint16_t stake_weight = 0;
  uint16_t consensus = 0;
  uint16_t incentive = 0;
  uint16_t dividends = 0;
  uint16_t validator_trust = 0;
  bool permit = false;
  chain::Amount emission = 0;
  bool operator==(const UidResult&) const = default;
};

struct EpochRecord {
  uint64_t epoch = 0;
  uint64_t height = 0;
  chain::Amount emission = 0;
  std::vector<UidResult> uids;
  bool operator==(const EpochRecord&) const = default;
};

// Runs the boundary work for the epoch ending at `height`.
void run(chain::State& s, const Params& p, uint64_t height, std::vector<chain::Event>& events);

std::optional<EpochRecord> last_epoch(const chain::State& s);

}  // namespace ig::contracts::epoch
