// Task submission, cancellation, results, deadlines and settlement.
#include <algorithm>

#include "contracts/registry.hpp"
#include "contracts/staking.hpp"
#include "contracts/tasks_internal.hpp"

namespace ig::contracts::tasks {

namespace {

using namespace detail;
using chain::StatePrefix;

void change_open_tasks(State& s, const Address& miner, int delta) {
  auto m = registry::get_miner(s, miner);
  if (!m) return;
  if (delta < 0 && m->open_tasks == 0) return;  // never wraps below zero
  m->open_tasks = delta < 0 ? m->open_tasks - 1 : m->open_tasks + 1;
  registry::put_miner(s, *m);
}

std::string hex_prefix(const chain::Hash& h) { return chain::to_hex(h).substr(0, 16) + "…"; }

// Everything a result must agree with before it is stored. Each failure has its own code so
// a miner's worker can tell what it got wrong; nothing is written before all pass.
ig::Status check_result(const Task& t, const chain::SubmitResult& r) {
  const auto& rc = r.receipt;
  const std::string task = "task " + std::to_string(t.id);
  if (rc.model_id != t.model_id)
    return fail("tasks.wrong_model", "the receipt is for model " + hex_prefix(rc.model_id) + " but " + task + " is for model " +
                                         hex_prefix(t.model_id));
  if (rc.prompt_hash != ig::prompt_hash(t.prompt))
    return fail("tasks.wrong_prompt", "the receipt's prompt_hash is not SHA-256 of " + task + "'s prompt text");
  if (rc.params_hash != chain::sampling_params_hash(t.params))
    return fail("tasks.wrong_params", "the receipt's params_hash is not the hash of " + task + "'s sampling parameters");
  if (r.output_tokens.size() > t.params.max_tokens)
    return fail("tasks.too_many_tokens", std::to_string(r.output_tokens.size()) + " output tokens but " + task + " allows " +
                                             std::to_string(t.params.max_tokens));
  if (rc.steps != r.output_tokens.size() || r.fingerprints.size() != r.output_tokens.size())
    return fail("tasks.step_count_mismatch", "the receipt says " + std::to_string(rc.steps) + " steps; the result has " +
                                                 std::to_string(r.output_tokens.size()) + " output tokens and " +
                                                 std::to_string(r.fingerprints.size()) + " fingerprints (all three must be equal)");
  if (rc.output_hash != ig::output_hash(r.output_tokens))
    return fail("tasks.output_hash_mismatch", "the receipt's output_hash is not the hash of the output tokens");
  for (size_t i = 0; i < r.output_tokens.size(); ++i) {
    const auto& f = r.fingerprints[i];
    if (f.token < 0 || static_cast<uint32_t>(f.token) != r.output_tokens[i])
      return fail("tasks.fingerprint_token_mismatch", "step " + std::to_string(i) + ": the fingerprint names token " +
                                                          std::to_string(f.token) + " but the output has " +
                                                          std::to_string(r.output_tokens[i]));
  }
  if (ig::fingerprint_root(r.fingerprints) != rc.fingerprint_root)
    return fail("tasks.fingerprint_root_mismatch", "the fingerprints' Merkle root is not the receipt's fingerprint_root");
  if (auto why = ig::backend_problem(rc.backend); !why.empty()) return fail("tasks.bad_backend", why);
  if (r.text.size() > chain::kMaxResultTextBytes)
    return fail("tasks.bad_text", "the text is longer than " + std::to_string(chain::kMaxResultTextBytes) + " bytes");
  if (!chain::is_valid_utf8(r.text)) return fail("tasks.bad_text", "the text is not valid UTF-8");
  return {};
}

// The verification window passed without a 2/3 rejection: pay the miner (a share to the
// validators by power), refund the rest; accusers the 2/3 majority contradicted are slashed.
void settle(State& s, const Params& p, Task& t, std::vector<Event>& events) {
  Tally tl = tally(s, t);
  if (tl.accepted())
    for (const auto& v : t.verdicts)
      if (!v.accept)
        staking::slash(s, v.account, chain::StakeRole::kValidator, p.false_accuser_slash_bps,
                       "false accusation on task " + std::to_string(t.id), events);
  // fee_due <= max_fee (submit_result caps it), and every cut below is a share of it.
  const Amount validators_share = static_cast<Amount>(static_cast<unsigned __int128>(t.fee_due) * p.validator_fee_share_bps / kBps);
  Amount paid_to_validators = 0;
  if (validators_share > 0 && tl.total > 0) {
    for (const auto& v : chain::read_validator_set(s).value_or(std::vector<chain::Validator>{})) {
      Amount cut = static_cast<Amount>(static_cast<unsigned __int128>(validators_share) * v.power / tl.total);
      if (cut) (void)bank::move(s, escrow(), v.account, cut);
      paid_to_validators += cut;
    }
  }
  const Amount to_miner = t.fee_due - paid_to_validators;  // rounding dust goes to the miner
  if (to_miner) (void)bank::move(s, escrow(), t.miner, to_miner);
  t.miner_paid = to_miner;
  t.validators_paid = paid_to_validators;
  refund(s, t, t.max_fee - t.fee_due);
  t.status = Status::kSettled;
  if (auto m = registry::get_miner(s, t.miner)) {
    registry::record_success(*m, t.result_height - t.assigned_height);
    registry::put_miner(s, *m);
  }
  Event e = task_event("task_settled", t);
  with(e, "miner", chain::address_to_string(t.miner));
  with(e, "fee_paid", std::to_string(t.fee_due));
  with(e, "miner_paid", std::to_string(to_miner));
  with(e, "validators_paid", std::to_string(paid_to_validators));
  events.push_back(with(e, "refunded", std::to_string(t.refunded)));
}

// Collects the ids under a height-ordered index up to and including `height`.
std::vector<std::pair<kv::Bytes, uint64_t>> due(const State& s, char table, uint64_t height) {
  std::vector<std::pair<kv::Bytes, uint64_t>> out;
  s.scan(kv::key(StatePrefix::kTasks, table), [&](chain::ByteView k, chain::ByteView) {
    if (kv::read_be64(k.subspan(2, 8)) > height) return false;
    out.emplace_back(kv::Bytes(k.begin(), k.end()), kv::read_be64(k.subspan(10, 8)));
    return true;
  });
  return out;
}

}  // namespace

namespace detail {

void refund(State& s, Task& t, Amount amount) {
  if (amount == 0) return;
  (void)bank::move(s, escrow(), t.submitter, amount);  // escrow holds every open task's max_fee
  t.refunded += amount;
}

}  // namespace detail

Expected<uint64_t> submit_task(State& s, const Params& p, uint64_t height, const Address& user, const chain::SubmitTask& st,
                               std::vector<Event>& events) {
  auto model = registry::get_model(s, st.model_id);
  if (!model) return fail("tasks.unknown_model", "model " + chain::to_hex(st.model_id) + " is not registered");
  if (st.params.max_tokens == 0 || st.params.max_tokens > chain::kMaxOutputTokens)
    return fail("tasks.bad_params", "max_tokens must be within 1.." + std::to_string(chain::kMaxOutputTokens));
  if (st.params.max_tokens > model->context_limit)
    return fail("tasks.bad_params", "max_tokens exceeds the model's context limit " + std::to_string(model->context_limit));
  if (auto why = ig::sampling_params_problem(st.params)) return fail("tasks.bad_params", *why);
  if (st.prompt.empty()) return fail("tasks.bad_params", "the prompt is empty");
  // The engine tokenizes the text and every JSON view shows it: it must be UTF-8.
  if (!chain::is_valid_utf8(st.prompt)) return fail("tasks.bad_params", "the prompt is not valid UTF-8");
  unsigned __int128 worst = static_cast<unsigned __int128>(model->price_per_token) * st.params.max_tokens;
  if (st.max_fee < worst)
    return fail("tasks.fee_too_low", "max_fee " + std::to_string(st.max_fee) + " cannot pay " + std::to_string(st.params.max_tokens) +
                                         " tokens at " + std::to_string(model->price_per_token) + " each");
  uint64_t pending = 0;
  s.scan(kv::key(StatePrefix::kTasks, 'p'), [&](chain::ByteView, chain::ByteView) { return ++pending < p.max_pending_tasks; });
  if (pending >= p.max_pending_tasks) return fail("tasks.queue_full", "too many pending tasks; try again later");
  IG_TRY(bank::move(s, user, escrow(), st.max_fee));
  Task t;
  t.id = kv::next_id(s, kv::key(StatePrefix::kTasks, 'n'));
  t.submitter = user;
  t.model_id = st.model_id;
  t.prompt = st.prompt;
  t.params = st.params;
  t.max_fee = st.max_fee;
  t.submitted_height = height;
  put_task(s, t);
  s.put(pending_key(t.id), {});
  Event e = task_event("task_submitted", t);
  with(e, "model", chain::to_hex(t.model_id));
  events.push_back(with(e, "max_fee", std::to_string(t.max_fee)));
  return t.id;
}

Expected<void> cancel_task(State& s, const Address& user, uint64_t id, std::vector<Event>& events) {
  auto t = get_task(s, id);
  if (!t) return fail("tasks.unknown_task", "no task " + std::to_string(id));
  if (t->submitter != user) return fail("tasks.not_owner", "only the submitter may cancel task " + std::to_string(id));
  if (t->status != Status::kPending) return fail("tasks.not_pending", "task " + std::to_string(id) + " is " + status_name(t->status));
  s.erase(pending_key(id));
  t->status = Status::kCancelled;
  refund(s, *t, t->max_fee);
  put_task(s, *t);
  Event e = task_event("task_cancelled", *t);
  events.push_back(with(e, "refunded", std::to_string(t->refunded)));
  return {};
}

Expected<void> submit_result(State& s, const Params& p, uint64_t height, const Address& miner, const chain::SubmitResult& r,
                             const chain::Hash& tx_hash, std::vector<Event>& events) {
  auto t = get_task(s, r.task_id);
  if (!t) return fail("tasks.unknown_task", "no task " + std::to_string(r.task_id));
  if (t->status == Status::kSubmitted && t->miner == miner)
    return fail("tasks.duplicate_result", "a result for task " + std::to_string(r.task_id) + " was already submitted");
  if (t->status != Status::kAssigned || t->miner != miner)
    return fail("tasks.not_assigned", "task " + std::to_string(r.task_id) + " is not assigned to this miner");
  if (height > t->deadline)
    return fail("tasks.late", "the deadline of task " + std::to_string(r.task_id) + " (height " + std::to_string(t->deadline) +
                                  ") has passed");
  IG_TRY(check_result(*t, r));
  auto model = registry::get_model(s, t->model_id);
  unsigned __int128 due = static_cast<unsigned __int128>(model ? model->price_per_token : 0) * r.output_tokens.size();
  s.erase(deadline_key(t->deadline, t->id));
  t->status = Status::kSubmitted;
  t->output_tokens = r.output_tokens;
  t->text = r.text;
  t->receipt = r.receipt;
  t->result_tx = tx_hash;
  t->result_height = height;
  t->window_end = height + p.verification_window_blocks;
  t->fee_due = static_cast<Amount>(std::min<unsigned __int128>(due, t->max_fee));
  s.put(window_key(t->window_end, t->id), {});
  put_task(s, *t);
  change_open_tasks(s, miner, -1);
  Event e = task_event("task_result", *t);
  with(e, "miner", chain::address_to_string(miner));
  with(e, "tokens", std::to_string(r.output_tokens.size()));
  with(e, "backend", r.receipt.backend);
  events.push_back(with(e, "window_end", std::to_string(t->window_end)));
  return {};
}

void expire_task(State& s, Task& t, std::vector<Event>& events) {
  s.erase(pending_key(t.id));
  t.status = Status::kExpired;
  refund(s, t, t.max_fee);
  Event e = task_event("task_expired", t);
  events.push_back(with(e, "refunded", std::to_string(t.refunded)));
}

void expire_deadlines(State& s, const Params& p, uint64_t height, std::vector<Event>& events) {
  // A deadline is the last height at which a result is accepted: expire the ones before this block's.
  if (height == 0) return;
  for (const auto& [key, id] : due(s, 'd', height - 1)) {
    s.erase(key);
    auto t = get_task(s, id);
    if (!t || t->status != Status::kAssigned) continue;
    if (auto m = registry::get_miner(s, t->miner)) {
      registry::record_failure(*m);
      if (m->open_tasks) --m->open_tasks;
      registry::put_miner(s, *m);
    }
    Event e = task_event("task_timeout", *t);
    events.push_back(with(e, "miner", chain::address_to_string(t->miner)));
    t->tried.push_back(t->miner);
    t->miner = Address{};
    if (t->attempts >= p.max_task_attempts) {
      expire_task(s, *t, events);
    } else {
      t->status = Status::kPending;
      s.put(pending_key(t->id), {});
    }
    put_task(s, *t);
  }
}

void settle_windows(State& s, const Params& p, uint64_t height, std::vector<Event>& events) {
  for (const auto& [key, id] : due(s, 'w', height)) {
    s.erase(key);
    auto t = get_task(s, id);
    if (!t || t->status != Status::kSubmitted) continue;
    settle(s, p, *t, events);
    put_task(s, *t);
  }
}

}  // namespace ig::contracts::tasks
