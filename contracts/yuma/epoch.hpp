// Yuma consensus as a pure function: one epoch of docs/yuma.md §6 over plain values.
// No I/O, no chain state, no floating point; iteration is by uid only.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/expected.hpp"
#include "contracts/yuma/fixed.hpp"

namespace ig::yuma {

// A stored u16 matrix entry (weights, bonds): column uid and value.
struct U16Entry {
  std::uint32_t col = 0;
  std::uint16_t val = 0;
  friend bool operator==(const U16Entry&, const U16Entry&) = default;
};
using U16Row = std::vector<U16Entry>;

// Hyperparameters (yuma.md §4); defaults are the chain's storage defaults.
struct Params {
  std::uint16_t kappa = 32767;
  std::uint16_t bonds_penalty = 65535;
  std::uint64_t bonds_moving_average = 900000;  // ≤ 1 000 000
  bool yuma3 = false;
  bool liquid_alpha = false;
  std::uint16_t alpha_low = 45875;
  std::uint16_t alpha_high = 58982;
  std::int16_t alpha_sigmoid_steepness = 1000;
  std::uint16_t max_allowed_validators = 128;
  std::uint64_t tempo = 360;
  std::uint32_t activity_cutoff_factor_milli = 13889;
  std::optional<std::uint64_t> activity_cutoff;  // legacy absolute cutoff; overrides the factor
  std::uint64_t stake_threshold = 0;
  std::optional<std::uint32_t> owner_uid;
  bool commit_reveal = true;
};

// Everything the epoch reads (§3). All per-uid vectors have the same length n; rows of
// `weights`/`bonds` may list columns in any order (no duplicates); weight columns ≥ n are
// ignored as the chain does.
struct EpochInput {
  std::uint64_t block = 0;                      // b
  std::uint64_t last_mechanism_step_block = 0;  // LMS (0 = none)
  std::uint64_t emission = 0;                   // E
  std::vector<Q64> stake;                       // s_k
  std::vector<std::uint64_t> last_update;       // L_k
  std::vector<std::uint64_t> registered_at;     // G_k
  std::vector<bool> permits;                    // p_k, from the previous epoch
  std::vector<std::optional<std::uint64_t>> commit_block;  // c_k; empty = no pending commits
  std::vector<U16Row> weights;                  // stored, max-upscaled rows
  std::vector<U16Row> bonds;                    // stored bond rows
  Params params;
  bool record_liquid_alphas = false;  // also return the dense n×n α matrix (diagnostics)
};

// Everything the epoch writes (§5). Q32 vectors are raw I32F32; `to_u16` gives the stored form.
struct EpochOutput {
  std::vector<bool> active;
  std::vector<q32> stake_weight;     // S
  std::vector<q32> active_stake;     // A
  std::vector<bool> permits_used;    // p (owner forced)
  std::vector<bool> new_permits;     // P, to store for the next epoch
  std::vector<q32> consensus;        // C
  std::vector<q32> incentive;        // I
  std::vector<q32> dividends;        // D
  std::vector<q32> validator_trust;  // V
  std::vector<q32> trust_legacy;     // R ⊘ prerank (removed from the chain in Oct 2025)
  std::vector<std::uint16_t> pruning_score_legacy;  // max-upscaled combined emission share
  std::vector<std::uint64_t> server_emission;
  std::vector<std::uint64_t> validator_emission;
  std::vector<std::uint64_t> emission;  // combined share · E
  std::vector<U16Row> bonds;            // new stored bond rows (ascending columns)
  std::optional<std::vector<std::vector<q32>>> liquid_alphas;  // when recorded and used
};

Expected<EpochOutput> run_epoch(const EpochInput& in);

// The permits an epoch over this input would grant (top-K non-zero stake, owner forced):
// what a subnet in steady state holds as "permits from the previous epoch".
Expected<std::vector<bool>> steady_state_permits(const EpochInput& in);

// ⌊x⌋₁₆ of each value: the chain's stored u16 form of a published proportion.
std::vector<std::uint16_t> to_u16(const std::vector<q32>& v);

}  // namespace ig::yuma
