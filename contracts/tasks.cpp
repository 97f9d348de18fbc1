#include "contracts/tasks.hpp"

#include <algorithm>

#include "chain/hash.hpp"
#include "contracts/bank.hpp"
#include "contracts/kv.hpp"
#include "contracts/registry.hpp"
#include "contracts/staking.hpp"

namespace ig::contracts::tasks {

namespace {

using chain::StatePrefix;

const Address& escrow() {
  static const Address a = bank::module_account("tasks");
  return a;
}

kv::Bytes task_key(uint64_t id) { return kv::key(StatePrefix::kTasks, 't', {kv::be64(id)}); }
kv::Bytes pending_key(uint64_t id) { return kv::key(StatePrefix::kTasks, 'p', {kv::be64(id)}); }
kv::Bytes deadline_key(uint64_t h, uint64_t id) { return kv::key(StatePrefix::kTasks, 'd', {kv::be64(h), kv::be64(id)}); }
kv::Bytes window_key(uint64_t h, uint64_t id) { return kv::key(StatePrefix::kTasks, 'w', {kv::be64(h), kv::be64(id)}); }

void write_task(chain::Writer& w, const Task& t) {
  w.u64(t.id);
  w.fixed(t.submitter);
  w.fixed(t.model_id);
  w.str(t.prompt);
  chain::encode_sampling(w, t.params);
  w.u64(t.max_fee);
  w.u8(static_cast<uint8_t>(t.status));
  w.u64(t.submitted_height);
  w.fixed(t.miner);
  w.u64(t.assigned_height);
  w.u64(t.deadline);
  w.u32(t.attempts);
  w.u32(static_cast<uint32_t>(t.tried.size()));
  for (const auto& a : t.tried) w.fixed(a);
  w.u32(static_cast<uint32_t>(t.output_tokens.size()));
  for (uint32_t tok : t.output_tokens) w.u32(tok);
  chain::encode_result_receipt(w, t.receipt);
  w.u64(t.result_height);
  w.u64(t.window_end);
  w.u64(t.fee_due);
  w.u32(static_cast<uint32_t>(t.verdicts.size()));
  for (const auto& v : t.verdicts) {
    w.fixed(v.validator);
    w.fixed(v.account);
    w.boolean(v.accept);
    w.u32(v.first_bad_step);
  }
}

Task read_task(chain::Reader& r) {
  Task t;
  t.id = r.u64();
  t.submitter = r.fixed<32>();
  t.model_id = r.fixed<32>();
  t.prompt = r.str(chain::kMaxPromptBytes);
  t.params = chain::read_sampling(r);
  t.max_fee = r.u64();
  t.status = static_cast<Status>(r.u8());
  t.submitted_height = r.u64();
  t.miner = r.fixed<32>();
  t.assigned_height = r.u64();
  t.deadline = r.u64();
  t.attempts = r.u32();
  t.tried.resize(r.count(1000, 32));
  for (auto& a : t.tried) a = r.fixed<32>();
  t.output_tokens.resize(r.count(chain::kMaxOutputTokens, 4));
  for (auto& tok : t.output_tokens) tok = r.u32();
  t.receipt = chain::read_result_receipt(r);
  t.result_height = r.u64();
  t.window_end = r.u64();
  t.fee_due = r.u64();
  t.verdicts.resize(r.count(chain::kMaxValidators, 69));
  for (auto& v : t.verdicts) {
    v.validator = r.fixed<32>();
    v.account = r.fixed<32>();
    v.accept = r.boolean();
    v.first_bad_step = r.u32();
  }
  return t;
}

Event task_event(const char* type, const Task& t) {
  return Event{type, {{"task", std::to_string(t.id)}, {"user", chain::address_to_string(t.submitter)}}};
}

Event& with(Event& e, std::string key, std::string value) {
  e.attributes.push_back({std::move(key), std::move(value)});
  return e;
}

// Power of the validators that voted accept / reject, out of the current set's total.
struct Tally {
  unsigned __int128 accept = 0, reject = 0, total = 0;
  bool rejected() const { return reject * 3 > total * 2; }
  bool accepted() const { return accept * 3 > total * 2; }
};

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

void refund(State& s, Task& t, Amount amount) {
  if (amount) (void)bank::move(s, escrow(), t.submitter, amount);  // escrow holds every open task's max_fee
}

void change_open_tasks(State& s, const Address& miner, int delta) {
  auto m = registry::get_miner(s, miner);
  if (!m) return;
  m->open_tasks = static_cast<uint32_t>(static_cast<int64_t>(m->open_tasks) + delta);
  registry::put_miner(s, *m);
}

// Fraud proven: slash the miner and every validator that accepted, refund the user in full.
void resolve_rejected(State& s, const Params& p, Task& t, std::vector<Event>& events) {
  s.erase(window_key(t.window_end, t.id));
  t.status = Status::kRejected;
  refund(s, t, t.max_fee);
  staking::slash(s, t.miner, chain::StakeRole::kMiner, p.miner_fraud_slash_bps, "fraudulent result for task " + std::to_string(t.id), events);
  for (const auto& v : t.verdicts)
    if (v.accept)
      staking::slash(s, v.account, chain::StakeRole::kValidator, p.approver_slash_bps,
                     "approved fraudulent task " + std::to_string(t.id), events);
  if (auto m = registry::get_miner(s, t.miner)) {
    registry::record_failure(*m);
    registry::put_miner(s, *m);
  }
  Event e = task_event("task_rejected", t);
  events.push_back(with(e, "miner", chain::address_to_string(t.miner)));
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
  Amount validators_share = static_cast<Amount>(static_cast<unsigned __int128>(t.fee_due) * p.validator_fee_share_bps / kBps);
  Amount paid_to_validators = 0;
  if (validators_share > 0 && tl.total > 0) {
    for (const auto& v : chain::read_validator_set(s).value_or(std::vector<chain::Validator>{})) {
      Amount cut = static_cast<Amount>(static_cast<unsigned __int128>(validators_share) * v.power / tl.total);
      if (cut) (void)bank::move(s, escrow(), v.account, cut);
      paid_to_validators += cut;
    }
  }
  Amount to_miner = t.fee_due - paid_to_validators;  // rounding dust goes to the miner
  if (to_miner) (void)bank::move(s, escrow(), t.miner, to_miner);
  refund(s, t, t.max_fee - t.fee_due);
  t.status = Status::kSettled;
  if (auto m = registry::get_miner(s, t.miner)) {
    registry::record_success(*m, t.result_height - t.assigned_height);
    registry::put_miner(s, *m);
  }
  Event e = task_event("task_settled", t);
  with(e, "miner", chain::address_to_string(t.miner));
  with(e, "miner_paid", std::to_string(to_miner));
  with(e, "validators_paid", std::to_string(paid_to_validators));
  events.push_back(with(e, "refunded", std::to_string(t.max_fee - t.fee_due)));
}

}  // namespace

std::string status_name(Status s) {
  switch (s) {
    case Status::kPending: return "pending";
    case Status::kAssigned: return "assigned";
    case Status::kSubmitted: return "submitted";
    case Status::kSettled: return "settled";
    case Status::kExpired: return "expired";
    case Status::kRejected: return "rejected";
    case Status::kCancelled: return "cancelled";
  }
  return "unknown";
}

chain::Hash prompt_hash(const std::string& prompt) { return chain::sha256(chain::view(prompt)); }

std::optional<Task> get_task(const State& s, uint64_t id) { return kv::load<Task>(s, task_key(id), read_task); }

void put_task(State& s, const Task& t) {
  chain::Writer w;
  write_task(w, t);
  s.put(task_key(t.id), w.data());
}

std::vector<Task> tasks_in(const State& s, uint64_t from_id, size_t limit) {
  std::vector<Task> out;
  kv::Bytes prefix = kv::key(StatePrefix::kTasks, 't');
  s.scan(prefix, [&](chain::ByteView k, chain::ByteView v) {
    if (kv::read_be64(k.subspan(2, 8)) < from_id) return true;
    chain::Reader r(v);
    out.push_back(read_task(r));
    return out.size() < limit;
  });
  return out;
}

Expected<uint64_t> submit_task(State& s, const Params& p, uint64_t height, const Address& user, const chain::SubmitTask& st,
                               std::vector<Event>& events) {
  auto model = registry::get_model(s, st.model_id);
  if (!model) return fail("tasks.unknown_model", "model " + chain::to_hex(st.model_id) + " is not registered");
  if (st.params.max_tokens == 0 || st.params.max_tokens > chain::kMaxOutputTokens)
    return fail("tasks.bad_params", "max_tokens must be within 1.." + std::to_string(chain::kMaxOutputTokens));
  if (st.params.max_tokens > model->context_limit)
    return fail("tasks.bad_params", "max_tokens exceeds the model's context limit " + std::to_string(model->context_limit));
  if (st.params.top_p_milli == 0 || st.params.top_p_milli > 1000) return fail("tasks.bad_params", "top_p must be within (0, 1]");
  if (st.prompt.empty()) return fail("tasks.bad_params", "the prompt is empty");
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
  events.push_back(task_event("task_cancelled", *t));
  return {};
}

Expected<void> submit_result(State& s, const Params& p, uint64_t height, const Address& miner, const chain::SubmitResult& r,
                             std::vector<Event>& events) {
  auto t = get_task(s, r.task_id);
  if (!t) return fail("tasks.unknown_task", "no task " + std::to_string(r.task_id));
  if (t->status == Status::kSubmitted && t->miner == miner) return fail("tasks.duplicate_result", "a result was already submitted");
  if (t->status != Status::kAssigned || t->miner != miner)
    return fail("tasks.not_assigned", "task " + std::to_string(r.task_id) + " is not assigned to this miner");
  if (height > t->deadline) return fail("tasks.late", "the deadline (height " + std::to_string(t->deadline) + ") has passed");
  if (r.output_tokens.size() > t->params.max_tokens) return fail("tasks.bad_result", "more tokens than max_tokens");
  const auto& rc = r.receipt;
  if (rc.model_id != t->model_id) return fail("tasks.bad_result", "receipt names another model");
  if (rc.prompt_hash != prompt_hash(t->prompt)) return fail("tasks.bad_result", "receipt's prompt hash does not match the task");
  if (rc.params_hash != chain::sampling_params_hash(t->params)) return fail("tasks.bad_result", "receipt's parameters do not match the task");
  if (rc.output_hash != chain::output_tokens_hash(r.output_tokens)) return fail("tasks.bad_result", "receipt's output hash does not match the tokens");
  if (rc.steps != r.output_tokens.size()) return fail("tasks.bad_result", "receipt's step count does not match the tokens");
  auto model = registry::get_model(s, t->model_id);
  unsigned __int128 due = static_cast<unsigned __int128>(model ? model->price_per_token : 0) * r.output_tokens.size();
  s.erase(deadline_key(t->deadline, t->id));
  t->status = Status::kSubmitted;
  t->output_tokens = r.output_tokens;
  t->receipt = rc;
  t->result_height = height;
  t->window_end = height + p.verification_window_blocks;
  t->fee_due = static_cast<Amount>(std::min<unsigned __int128>(due, t->max_fee));
  s.put(window_key(t->window_end, t->id), {});
  put_task(s, *t);
  change_open_tasks(s, miner, -1);
  Event e = task_event("task_result", *t);
  with(e, "miner", chain::address_to_string(miner));
  events.push_back(with(e, "tokens", std::to_string(r.output_tokens.size())));
  return {};
}

Expected<void> submit_verdict(State& s, const Params& p, uint64_t height, const Address& account, const chain::Verdict& v,
                              std::vector<Event>& events) {
  auto validator = staking::active_by_account(s, account);
  if (!validator) return fail("tasks.not_validator", "only validators may post verdicts");
  auto t = get_task(s, v.task_id);
  if (!t) return fail("tasks.unknown_task", "no task " + std::to_string(v.task_id));
  if (t->status != Status::kSubmitted || height > t->window_end)
    return fail("tasks.not_in_window", "task " + std::to_string(v.task_id) + " is not awaiting verdicts");
  for (const auto& prev : t->verdicts)
    if (prev.validator == validator->consensus_key) return fail("tasks.duplicate_verdict", "this validator already judged the task");
  if (!v.accept && v.first_bad_step >= std::max<size_t>(t->output_tokens.size(), 1))
    return fail("tasks.bad_verdict", "first_bad_step is beyond the output");
  t->verdicts.push_back(VerdictRecord{validator->consensus_key, account, v.accept, v.first_bad_step});
  Event e = task_event("verdict", *t);
  with(e, "validator", chain::address_to_string(account));
  with(e, "accept", v.accept ? "true" : "false");
  events.push_back(with(e, "first_bad_step", std::to_string(v.first_bad_step)));
  if (tally(s, *t).rejected()) resolve_rejected(s, p, *t, events);
  put_task(s, *t);
  return {};
}

// Collects the ids under a height-ordered index up to and including `height`.
static std::vector<std::pair<kv::Bytes, uint64_t>> due(const State& s, char table, uint64_t height) {
  std::vector<std::pair<kv::Bytes, uint64_t>> out;
  s.scan(kv::key(StatePrefix::kTasks, table), [&](chain::ByteView k, chain::ByteView) {
    if (kv::read_be64(k.subspan(2, 8)) > height) return false;
    out.emplace_back(kv::Bytes(k.begin(), k.end()), kv::read_be64(k.subspan(10, 8)));
    return true;
  });
  return out;
}

void expire_task(State& s, Task& t, std::vector<Event>& events) {
  s.erase(pending_key(t.id));
  t.status = Status::kExpired;
  refund(s, t, t.max_fee);
  events.push_back(task_event("task_expired", t));
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
