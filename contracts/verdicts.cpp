// Verdicts on submitted results, what the chain checks of a rejection's evidence, and the
// consequences of a 2/3 rejection.
//
// The chain checks what it can from its own data before a reject counts: a reject with
// StepEvidence must prove, with a Merkle path to the receipt's fingerprint_root, the
// fingerprint the miner itself committed to at first_bad_step (whose token must be the output's
// token there) and name a recomputed fingerprint that differs from it. Whether the
// recomputation is right the chain cannot know; that is what the >2/3 rule decides. A reject
// without evidence is allowed only for the reasons the chain has no data to check at all
// (chain::reason_needs_no_evidence: text_mismatch, stop_rule, and logit_drift, the verifier's
// statistical test over a whole output); it counts through the >2/3 rule alone.
#include <algorithm>

#include "contracts/registry.hpp"
#include "contracts/staking.hpp"
#include "contracts/tasks_internal.hpp"

namespace ig::contracts::tasks {

namespace {

using namespace detail;

ig::Status bad_evidence(const std::string& why) { return fail("tasks.bad_evidence", why); }

ig::Status check_evidence(const Task& t, const chain::Verdict& v) {
  const auto& e = *v.evidence;
  const uint32_t steps = t.receipt ? t.receipt->steps : 0;
  const uint32_t step = v.first_bad_step;
  if (step >= steps)
    return bad_evidence("first_bad_step " + std::to_string(step) + " is beyond the output (" + std::to_string(steps) + " steps)");
  if (e.proof.index != step || e.proof.leaf_count != steps)
    return bad_evidence("the proof is for leaf " + std::to_string(e.proof.index) + " of " + std::to_string(e.proof.leaf_count) +
                        ", not step " + std::to_string(step) + " of " + std::to_string(steps));
  if (!ig::merkle_verify(t.receipt->fingerprint_root, ig::fingerprint_leaf(step, e.claimed), e.proof))
    return bad_evidence("the claimed fingerprint at step " + std::to_string(step) +
                        " is not in the receipt's fingerprint_root (the Merkle proof does not verify)");
  if (e.claimed.token < 0 || step >= t.output_tokens.size() || static_cast<uint32_t>(e.claimed.token) != t.output_tokens[step])
    return bad_evidence("the claimed fingerprint's token is not the output token at step " + std::to_string(step));
  if (e.recomputed == e.claimed)
    return bad_evidence("the recomputed fingerprint equals the miner's at step " + std::to_string(step) + ": nothing is wrong there");
  return {};
}

}  // namespace

// The shape rules of a verdict, then (for a reject) its evidence against the task.
ig::Status check_verdict(const Task& t, const chain::Verdict& v) {
  if (!v.reason.empty())
    if (auto why = chain::reason_problem(v.reason); !why.empty()) return fail("tasks.bad_reason", why);
  if (v.accept) {
    if (v.evidence) return fail("tasks.bad_verdict", "an accept carries no evidence");
    if (v.first_bad_step != 0) return fail("tasks.bad_verdict", "an accept names no bad step (first_bad_step must be 0)");
    return {};
  }
  if (v.reason.empty()) return fail("tasks.bad_reason", "a reject must give a reason code, e.g. verify.token_mismatch");
  if (v.evidence) return check_evidence(t, v);
  if (!chain::reason_needs_no_evidence(v.reason))
    return bad_evidence("a reject for \"" + v.reason + "\" needs step evidence; only " + std::string(chain::kReasonTextMismatch) +
                        ", " + std::string(chain::kReasonStopRule) + " and " + std::string(chain::kReasonLogitDrift) +
                        " may come without");
  const uint32_t steps = t.receipt ? t.receipt->steps : 0;
  if (v.first_bad_step > steps)  // == steps: "the output should have gone on" (stop rule)
    return fail("tasks.bad_verdict", "first_bad_step " + std::to_string(v.first_bad_step) + " is beyond the output (" +
                                         std::to_string(steps) + " steps)");
  return {};
}

namespace {

// Fraud proven: slash the miner and every validator that accepted, refund the user in full.
void resolve_rejected(State& s, const Params& p, Task& t, std::vector<Event>& events) {
  s.erase(window_key(t.window_end, t.id));
  t.status = Status::kRejected;
  refund(s, t, t.max_fee);
  const Amount slashed = staking::slash(s, t.miner, chain::StakeRole::kMiner, p.miner_fraud_slash_bps,
                                        "fraudulent result for task " + std::to_string(t.id), events);
  for (const auto& v : t.verdicts)
    if (v.accept)
      staking::slash(s, v.account, chain::StakeRole::kValidator, p.approver_slash_bps, "approved fraudulent task " + std::to_string(t.id),
                     events);
  if (auto m = registry::get_miner(s, t.miner)) {
    registry::record_failure(*m);
    registry::put_miner(s, *m);
  }
  Event e = task_event("task_rejected", t);
  with(e, "miner", chain::address_to_string(t.miner));
  with(e, "miner_slashed", std::to_string(slashed));
  events.push_back(with(e, "refunded", std::to_string(t.refunded)));
}

}  // namespace

namespace detail {

Tally tally(const State& s, const Task& t) {
  Tally out;
  auto vs = chain::read_validator_set(s);
  if (!vs) return out;
  for (const auto& v : *vs) {
    out.total += v.power;
    for (const auto& vr : t.verdicts)
      if (vr.validator == v.consensus_key) (vr.accept ? out.accept : out.reject) += v.power;
  }
  return out;
}

}  // namespace detail

Expected<void> submit_verdict(State& s, const Params& p, uint64_t height, const Address& account, const chain::Verdict& v,
                              const chain::Hash& tx_hash, std::vector<Event>& events) {
  auto validator = staking::active_by_account(s, account);
  if (!validator) return fail("tasks.not_validator", "only validators may post verdicts");
  auto t = get_task(s, v.task_id);
  if (!t) return fail("tasks.unknown_task", "no task " + std::to_string(v.task_id));
  if (t->status != Status::kSubmitted || height > t->window_end)
    return fail("tasks.not_in_window", "task " + std::to_string(v.task_id) + " is not awaiting verdicts (it is " +
                                           status_name(t->status) + ")");
  for (const auto& prev : t->verdicts)
    if (prev.validator == validator->consensus_key) return fail("tasks.duplicate_verdict", "this validator already judged the task");
  IG_TRY(check_verdict(*t, v));
  t->verdicts.push_back(VerdictRecord{validator->consensus_key, account, v.accept, v.first_bad_step, v.reason,
                                      v.evidence.has_value(), tx_hash, height});
  Event e = task_event("verdict", *t);
  with(e, "validator", chain::address_to_string(account));
  with(e, "miner", chain::address_to_string(t->miner));
  with(e, "accept", v.accept ? "true" : "false");
  with(e, "reason", v.reason);
  with(e, "first_bad_step", std::to_string(v.first_bad_step));
  events.push_back(with(e, "evidence", v.evidence ? "true" : "false"));
  if (tally(s, *t).rejected()) resolve_rejected(s, p, *t, events);
  put_task(s, *t);
  return {};
}

}  // namespace ig::contracts::tasks
