// Contract parameters: the "contracts" object of genesis.json (docs/genesis.md lists every
// field and its default). Stored in state at genesis so every node reads the same values.
#pragma once

#include <string_view>

#include "chain/amount.hpp"
#include "chain/state.hpp"

namespace ig::contracts {

// Basis points: 10,000 = 100%.
inline constexpr uint32_t kBps = 10'000;

struct Params {
  // staking
  chain::Amount min_validator_stake = 1'000;
  chain::Amount min_miner_stake = 1'000;
  uint64_t unbonding_blocks = 100;
  // tasks and scheduling
  uint64_t result_timeout_blocks = 20;      // assignment -> result deadline
  uint32_t max_task_attempts = 3;           // assignments before a task is refunded
  uint64_t verification_window_blocks = 10; // result -> settlement
  uint32_t validator_fee_share_bps = 1'000; // of the task fee, to validators by stake
  uint32_t max_pending_tasks = 10'000;
  // verdicts and slashing
  uint32_t miner_fraud_slash_bps = 1'000;
  uint32_t approver_slash_bps = 500;
  uint32_t false_accuser_slash_bps = 200;
  uint32_t double_sign_slash_bps = 5'000;
  uint32_t deviation_slash_bps = 100;
  uint16_t deviation_trust_threshold = 32'768;  // validator trust (u16) below this is "deviating"
  uint32_t deviation_epochs = 3;                // ... for this many consecutive epochs -> slash
  bool remove_on_deviation = false;             // also remove the validator from the set
  // epochs, weights and Yuma
  uint64_t tempo = 100;                  // blocks per epoch
  uint64_t reveal_window_blocks = 50;    // reveals for epoch e are accepted in the first blocks of e+1
  chain::Amount emission_per_epoch = 1'000'000;
  uint16_t kappa = 32'767;
  uint64_t bonds_moving_average = 900'000;  // of 1,000,000
  uint16_t bonds_penalty = 65'535;
  bool yuma3 = true;
  bool liquid_alpha = false;
  uint16_t alpha_low = 45'875;
  uint16_t alpha_high = 58'982;
  uint16_t max_allowed_validators = 64;
  uint64_t activity_cutoff = 5'000;

  bool operator==(const Params&) const = default;
};

// Parses the genesis "contracts" object (empty text = all defaults); rejects unknown keys and
// out-of-range values with the field's name.
Expected<Params> parse_params(std::string_view json_text);
std::string params_to_json(const Params& p);

void write_params(chain::State& s, const Params& p);
Expected<Params> read_params(const chain::State& s);

}  // namespace ig::contracts
