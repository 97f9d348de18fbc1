// staking: validator and miner stakes, the unbonding queue, the permissioned validator
// registry (genesis members plus admissions approved by >2/3 of the power), slashing, and the
// validator set that takes effect at each epoch boundary (DESIGN §5).
//
// State (prefix kStaking):
//   's' || account          -> validator stake u64 || miner stake u64
//   'u' || mature(be64) || seq(be64) -> account || role u8 || amount u64   (unbonding queue)
//   'q'                     -> next unbonding seq
//   'v' || consensus key    -> ValidatorRecord
//   'p' || id(be64)         -> AdmissionProposal
//   'n'                     -> next proposal id
// Staked tokens sit in the bank's "staking" module account; slashing burns them.
#pragma once

#include "chain/application.hpp"
#include "contracts/params.hpp"

namespace ig::contracts::staking {

using chain::Address;
using chain::Amount;
using chain::Event;
using chain::State;
using chain::StakeRole;

struct Stakes {
  Amount validator = 0;
  Amount miner = 0;
  bool operator==(const Stakes&) const = default;
};

struct ValidatorRecord {
  chain::PublicKey consensus_key{};
  Address account{};
  std::string name;
  bool removed = false;  // double-sign or persistent deviation: leaves the set at the next epoch boundary
  uint32_t low_trust_epochs = 0;
  bool operator==(const ValidatorRecord&) const = default;
};

struct AdmissionProposal {
  uint64_t id = 0;
  ValidatorRecord candidate;
  std::vector<chain::PublicKey> approvals;  // consensus keys of approving validators
  bool admitted = false;
};

Stakes get_stakes(const State& s, const Address& account);
Amount role_stake(const Stakes& st, StakeRole role);

Status init_genesis(State& s, const std::vector<chain::Validator>& validators);

Expected<void> stake(State& s, const Address& who, StakeRole role, Amount amount, std::vector<Event>& events);
Expected<void> unstake(State& s, const Params& p, uint64_t height, const Address& who, StakeRole role, Amount amount,
                       std::vector<Event>& events);
// Returns matured unbonding entries to their owners' balances (end of every block).
void mature_unbonding(State& s, uint64_t height, std::vector<Event>& events);

// Burns bps/10,000 of an account's stake in one role; returns the amount burned.
Amount slash(State& s, const Address& who, StakeRole role, uint32_t bps, const std::string& reason, std::vector<Event>& events);

std::optional<ValidatorRecord> get_validator(const State& s, const chain::PublicKey& consensus_key);
void put_validator(State& s, const ValidatorRecord& v);
std::vector<ValidatorRecord> all_validators(const State& s);  // by consensus key
// The active validator whose account is `account`, if any (from the chain's current set).
std::optional<chain::Validator> active_by_account(const State& s, const Address& account);
std::optional<AdmissionProposal> get_proposal(const State& s, uint64_t id);

Expected<uint64_t> propose_validator(State& s, const Address& sender, const chain::ProposeValidator& p, std::vector<Event>& events);
Expected<void> approve_validator(State& s, const Address& sender, uint64_t proposal_id, std::vector<Event>& events);

// Epoch boundary: admitted, not removed validators with at least the minimum stake, power =
// stake. Keeps the old set if the new one would be empty.
void update_validator_set(State& s, const Params& p, std::vector<Event>& events);

}  // namespace ig::contracts::staking
