// Shared inside the tasks contract only (tasks.cpp, verdicts.cpp, task_store.cpp,
// scheduler.cpp): state keys, the escrow account, event helpers and the verdict tally.
#pragma once

#include "contracts/bank.hpp"
#include "contracts/kv.hpp"
#include "contracts/tasks.hpp"

namespace ig::contracts::tasks::detail {

inline kv::Bytes task_key(uint64_t id) { return kv::key(chain::StatePrefix::kTasks, 't', {kv::be64(id)}); }
inline kv::Bytes pending_key(uint64_t id) { return kv::key(chain::StatePrefix::kTasks, 'p', {kv::be64(id)}); }
inline kv::Bytes deadline_key(uint64_t h, uint64_t id) {
  return kv::key(chain::StatePrefix::kTasks, 'd', {kv::be64(h), kv::be64(id)});
}
inline kv::Bytes window_key(uint64_t h, uint64_t id) {
  return kv::key(chain::StatePrefix::kTasks, 'w', {kv::be64(h), kv::be64(id)});
}

inline const Address& escrow() {
  static const Address a = bank::module_account("tasks");
  return a;
}

// Every task event names the task and its user; those about a miner's work name the miner.
inline Event task_event(const char* type, const Task& t) {
  return Event{type, {{"task", std::to_string(t.id)}, {"user", chain::address_to_string(t.submitter)}}};
}
inline Event& with(Event& e, std::string key, std::string value) {
  e.attributes.push_back({std::move(key), std::move(value)});
  return e;
}

// Power of the validators that voted accept / reject, out of the current set's total.
struct Tally {
  unsigned __int128 accept = 0, reject = 0, total = 0;
  bool rejected() const { return reject * 3 > total * 2; }
  bool accepted() const { return accept * 3 > total * 2; }
};
Tally tally(const State& s, const Task& t);

// Pays `amount` of the escrow back to the task's user and counts it in t.refunded.
void refund(State& s, Task& t, Amount amount);

}  // namespace ig::contracts::tasks::detail
