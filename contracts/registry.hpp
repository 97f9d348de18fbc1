// registry: miners (capabilities and track record), models, and the uid of every participant.
//
// State (prefix kRegistry):
//   'm' || account        -> Miner
//   'M' || model id       -> Model
//   'u' || uid(be64)      -> account || role u8     (uids are dense, 0.., never reused)
//   'a' || account        -> uid
//   'n'                   -> next uid
// A uid is a participant's column/row in the Yuma matrices: validators get one when they
// first appear in the validator set, miners when they register.
#pragma once

#include "chain/application.hpp"
#include "contracts/params.hpp"

namespace ig::contracts::registry {

using chain::Address;
using chain::Event;
using chain::State;

inline constexpr uint16_t kReliabilityOne = 65535;  // reliability EMA is Q16 in [0, 1]
inline constexpr uint32_t kMaxConcurrent = 1024;
inline constexpr uint64_t kMaxUids = 4096;

struct Miner {
  Address account{};
  chain::MinerProfile profile;
  uint64_t uid = 0;
  uint64_t registered_height = 0;
  uint16_t reliability = kReliabilityOne / 2;  // EMA of verified (1) vs failed (0) results
  uint64_t latency_milli = 0;                   // EMA of blocks from assignment to result, x1000
  uint32_t open_tasks = 0;
  uint64_t completed = 0;
  uint64_t failed = 0;
  bool operator==(const Miner&) const = default;
};

struct Model {
  chain::Hash id{};
  std::string name;
  std::string architecture;
  chain::Amount price_per_token = 0;
  uint32_t context_limit = 0;
  Address registered_by{};
  uint64_t registered_height = 0;
  bool operator==(const Model&) const = default;
};

enum class Role : uint8_t { kValidator = 0, kMiner = 1 };
struct Participant {
  uint64_t uid = 0;
  Address account{};
  Role role = Role::kMiner;
};

std::optional<Miner> get_miner(const State& s, const Address& account);
void put_miner(State& s, const Miner& m);
std::vector<Miner> all_miners(const State& s);  // by account
std::optional<Model> get_model(const State& s, const chain::Hash& id);
std::vector<Model> all_models(const State& s);

Expected<void> register_miner(State& s, const Params& p, uint64_t height, const Address& who, const chain::MinerProfile& profile,
                              std::vector<Event>& events);
Expected<void> update_miner(State& s, const Address& who, const chain::MinerProfile& profile, std::vector<Event>& events);
Expected<void> register_model(State& s, uint64_t height, const Address& who, const chain::RegisterModel& m,
                              std::vector<Event>& events);

// The participant's uid, assigning the next one on first sight (validators at epoch boundaries).
Expected<uint64_t> ensure_uid(State& s, const Address& account, Role role);
std::optional<uint64_t> uid_of(const State& s, const Address& account);
std::vector<Participant> participants(const State& s);  // by uid

// Track record updates used by the task contract.
void record_success(Miner& m, uint64_t latency_blocks);
void record_failure(Miner& m);

}  // namespace ig::contracts::registry
