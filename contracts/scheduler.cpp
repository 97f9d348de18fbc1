// The deterministic scheduler (DESIGN §1 step 2): every node computes the same assignment
// from on-chain facts alone.
#include <algorithm>

#include "chain/hash.hpp"
#include "contracts/kv.hpp"
#include "contracts/registry.hpp"
#include "contracts/staking.hpp"
#include "contracts/tasks_internal.hpp"

namespace ig::contracts::tasks {

namespace {

using chain::StatePrefix;
constexpr uint64_t kUnit = 65535;

// A miner's desirability in [0, 8 * 65535]: reliability counts most, then speed and free
// capacity, then stake (capped at 10x the minimum, so stake cannot buy all the work).
uint64_t score(const registry::Miner& m, Amount stake, const Params& p) {
  uint64_t reliability = m.reliability;
  uint64_t budget_milli = p.result_timeout_blocks * 1000;
  uint64_t speed = kUnit - std::min(kUnit, m.latency_milli * kUnit / budget_milli);
  uint64_t free = (m.profile.max_concurrent - m.open_tasks) * kUnit / m.profile.max_concurrent;
  unsigned __int128 cap = static_cast<unsigned __int128>(p.min_miner_stake) * 10;
  uint64_t stake_part = static_cast<uint64_t>(std::min<unsigned __int128>(stake, cap) * kUnit / cap);
  return 3 * reliability + 2 * speed + 2 * free + stake_part;
}

// Ties are broken by H(seed || task id || miner): unpredictable before the seed block exists.
chain::Hash tie_break(const chain::Hash& seed, uint64_t task_id, const chain::Address& miner) {
  chain::Sha256 h;
  auto id = kv::be64(task_id);
  h.update(seed).update(id).update(miner);
  return h.finish();
}

bool eligible(const registry::Miner& m, const Task& t, Amount stake, const Params& p) {
  if (m.open_tasks >= m.profile.max_concurrent) return false;
  if (stake < p.min_miner_stake) return false;
  if (std::find(m.profile.models.begin(), m.profile.models.end(), t.model_id) == m.profile.models.end()) return false;
  return std::find(t.tried.begin(), t.tried.end(), m.account) == t.tried.end();
}

}  // namespace

void schedule(State& s, const Params& p, uint64_t height, const chain::Hash& seed, std::vector<Event>& events) {
  std::vector<uint64_t> pending;
  s.scan(kv::key(StatePrefix::kTasks, 'p'), [&](chain::ByteView k, chain::ByteView) {
    pending.push_back(kv::read_be64(k.subspan(2, 8)));
    return true;
  });
  if (pending.empty()) return;
  std::vector<registry::Miner> miners = registry::all_miners(s);
  std::vector<Amount> stakes;
  for (const auto& m : miners) stakes.push_back(staking::get_stakes(s, m.account).miner);

  for (uint64_t id : pending) {
    auto t = get_task(s, id);
    if (!t) continue;
    int best = -1;
    uint64_t best_score = 0;
    std::optional<chain::Hash> best_tie;  // computed only when a tie needs breaking
    for (size_t i = 0; i < miners.size(); ++i) {
      if (!eligible(miners[i], *t, stakes[i], p)) continue;
      uint64_t sc = score(miners[i], stakes[i], p);
      bool take = best < 0 || sc > best_score;
      if (!take && sc == best_score) {
        if (!best_tie) best_tie = tie_break(seed, id, miners[best].account);
        chain::Hash tie = tie_break(seed, id, miners[i].account);
        if (tie < *best_tie) {
          take = true;
          best_tie = tie;
        }
      } else if (take) {
        best_tie.reset();
      }
      if (take) {
        best = static_cast<int>(i);
        best_score = sc;
      }
    }
    if (best < 0) {
      // A reassigned task that every miner serving its model has already failed would wait
      // forever: refund it instead. A fresh task waits for a miner to free up or register.
      bool untried_left = std::any_of(miners.begin(), miners.end(), [&](const registry::Miner& m) {
        const auto& models = m.profile.models;
        return std::find(models.begin(), models.end(), t->model_id) != models.end() &&
               std::find(t->tried.begin(), t->tried.end(), m.account) == t->tried.end();
      });
      if (t->attempts > 0 && !untried_left) {
        expire_task(s, *t, events);
        put_task(s, *t);
      }
      continue;
    }
    registry::Miner& m = miners[best];
    ++m.open_tasks;
    registry::put_miner(s, m);
    s.erase(kv::key(StatePrefix::kTasks, 'p', {kv::be64(id)}));
    t->status = Status::kAssigned;
    t->miner = m.account;
    t->assigned_height = height;
    t->deadline = height + p.result_timeout_blocks;
    ++t->attempts;
    s.put(kv::key(StatePrefix::kTasks, 'd', {kv::be64(t->deadline), kv::be64(id)}), {});
    put_task(s, *t);
    Event e = detail::task_event("task_assigned", *t);
    detail::with(e, "miner", chain::address_to_string(m.account));
    detail::with(e, "model", chain::to_hex(t->model_id));
    detail::with(e, "deadline", std::to_string(t->deadline));
    events.push_back(detail::with(e, "attempt", std::to_string(t->attempts)));
  }
}

}  // namespace ig::contracts::tasks
