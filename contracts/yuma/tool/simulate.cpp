#include "contracts/yuma/tool/simulate.hpp"

namespace ig::yuma::tool {
namespace {

// The subnet state the epoch reads, as it evolves over the schedule.
struct State {
  CaseParams params;
  EpochInput input;
};

// A new hotkey takes slot u (docs/yuma.md §10): fresh registration, no rows, no permit,
// and every other validator's weight to the slot zeroed (the entry stays).
void replace_slot(State& s, const Replacement& r) {
  EpochInput& in = s.input;
  in.registered_at[r.uid] = r.block;
  in.last_update[r.uid] = r.block;
  in.stake[r.uid] = r.stake;
  in.permits[r.uid] = false;
  in.weights[r.uid].clear();
  in.bonds[r.uid].clear();
  if (!in.commit_block.empty()) in.commit_block[r.uid].reset();
  for (U16Row& row : in.weights)
    for (U16Entry& e : row)
      if (e.col == r.uid) e.val = 0;
}

void reset_bonds(State& s, std::uint32_t uid) {
  for (U16Row& row : s.input.bonds) std::erase_if(row, [uid](const U16Entry& e) { return e.col == uid; });
}

Status apply_step(State& s, const EpochStep& step, std::uint64_t block) {
  EpochInput& in = s.input;
  if (step.stake) in.stake = *step.stake;
  for (const Replacement& r : step.replace) replace_slot(s, r);
  const std::uint64_t weights_block = step.weights_block.value_or(block);
  for (const auto& [uid, row] : step.set_weights) {
    in.weights[uid] = row;
    in.last_update[uid] = weights_block;
  }
  for (std::uint32_t uid : step.reset_bonds) reset_bonds(s, uid);
  IG_TRY(apply_params(step.params, s.params));
  return {};
}

Expected<State> initial_state(const Case& c) {
  State s;
  s.params = c.params;
  EpochInput& in = s.input;
  in.stake = c.stake;
  in.weights = c.weights;
  in.bonds = c.bonds;
  in.registered_at = c.registered_at;
  in.commit_block = c.commit_block;
  const std::uint64_t first_block = c.epochs.front().block.value_or(c.params.current_block);
  in.last_update = c.last_update.value_or(std::vector<std::uint64_t>(c.n, first_block));
  in.params = c.params.epoch;
  if (c.permits) {
    in.permits = *c.permits;
  } else {
    in.permits.assign(c.n, false);
    IG_TRY_ASSIGN(steady, steady_state_permits(in));
    in.permits = std::move(steady);
  }
  return s;
}

}  // namespace

Expected<std::vector<EpochRecord>> simulate(const Case& c) {
  IG_TRY_ASSIGN(state, initial_state(c));
  std::vector<EpochRecord> records;
  std::uint64_t block = c.params.current_block;
  for (std::size_t k = 0; k < c.epochs.size(); ++k) {
    const EpochStep& step = c.epochs[k];
    block = step.block.value_or(k == 0 ? c.params.current_block : block + state.params.epoch.tempo);
    IG_TRY(apply_step(state, step, block));
    EpochInput& in = state.input;
    in.block = block;
    in.params = state.params.epoch;
    in.last_mechanism_step_block = state.params.last_mechanism_step_block;
    in.emission = state.params.rao_emission;
    in.record_liquid_alphas = true;
    auto out = run_epoch(in);
    if (!out) return fail("yuma.epoch", "epoch " + std::to_string(k) + ": " + out.error().to_string());
    in.bonds = out->bonds;
    in.permits = out->new_permits;
    records.push_back({block, step.label, std::move(*out)});
  }
  return records;
}

}  // namespace ig::yuma::tool
