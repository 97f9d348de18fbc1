// The task record's encoding in state and the queries over it (by id, and through the
// deadline and verification-window indexes for open tasks).
#include <algorithm>

#include "contracts/tasks_internal.hpp"

namespace ig::contracts::tasks {

namespace {

using namespace detail;
using chain::StatePrefix;

// The record's field order IS its state encoding; changing it changes every state root.
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
  w.str(t.text);
  // No receipt before a result: an empty byte string (a receipt is never empty).
  if (t.receipt)
    chain::encode_inference_receipt(w, *t.receipt);
  else
    w.bytes({});
  w.fixed(t.result_tx);
  w.u64(t.result_height);
  w.u64(t.window_end);
  w.u64(t.fee_due);
  w.u32(static_cast<uint32_t>(t.verdicts.size()));
  for (const auto& v : t.verdicts) {
    w.fixed(v.validator);
    w.fixed(v.account);
    w.boolean(v.accept);
    w.u32(v.first_bad_step);
    w.str(v.reason);
    w.boolean(v.evidence);
    w.fixed(v.tx_hash);
    w.u64(v.height);
  }
  w.u64(t.miner_paid);
  w.u64(t.validators_paid);
  w.u64(t.refunded);
}

Task read_task(chain::Reader& r) {
  Task t;
  t.id = r.u64();
  t.submitter = r.fixed<32>();
  t.model_id = r.fixed<32>();
  t.prompt = r.str(chain::kMaxPromptBytes);
  t.params = chain::read_sampling(r);
  t.max_fee = r.u64();
  const uint8_t status = r.u8();
  if (status > static_cast<uint8_t>(Status::kCancelled)) r.set_error("tasks.bad_status", "unknown task status");
  t.status = static_cast<Status>(status);
  t.submitted_height = r.u64();
  t.miner = r.fixed<32>();
  t.assigned_height = r.u64();
  t.deadline = r.u64();
  t.attempts = r.u32();
  t.tried.resize(r.count(1000, 32));
  for (auto& a : t.tried) a = r.fixed<32>();
  t.output_tokens.resize(r.count(chain::kMaxOutputTokens, 4));
  for (auto& tok : t.output_tokens) tok = r.u32();
  t.text = r.str(chain::kMaxResultTextBytes);
  // An empty byte string: no result yet.
  if (chain::Bytes raw = r.bytes(ig::kMaxReceiptBytes); !raw.empty()) {
    auto rc = ig::decode_receipt(raw);
    if (rc)
      t.receipt = std::move(*rc);
    else
      r.set_error("codec.bad_receipt", rc.error().to_string());
  }
  t.result_tx = r.fixed<32>();
  t.result_height = r.u64();
  t.window_end = r.u64();
  t.fee_due = r.u64();
  t.verdicts.resize(r.count(chain::kMaxValidators, 114));
  for (auto& v : t.verdicts) {
    v.validator = r.fixed<32>();
    v.account = r.fixed<32>();
    v.accept = r.boolean();
    v.first_bad_step = r.u32();
    v.reason = r.str(chain::kMaxReasonBytes);
    v.evidence = r.boolean();
    v.tx_hash = r.fixed<32>();
    v.height = r.u64();
  }
  t.miner_paid = r.u64();
  t.validators_paid = r.u64();
  t.refunded = r.u64();
  return t;
}

// The ids under a (height, id) index, ascending id, at least from_id.
std::vector<uint64_t> indexed_ids(const State& s, char table, uint64_t from_id) {
  std::vector<uint64_t> ids;
  s.scan(kv::key(StatePrefix::kTasks, table), [&](chain::ByteView k, chain::ByteView) {
    const uint64_t id = kv::read_be64(k.subspan(10, 8));
    if (id >= from_id) ids.push_back(id);
    return true;
  });
  std::sort(ids.begin(), ids.end());
  return ids;
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

std::optional<Status> status_from_name(std::string_view name) {
  for (uint8_t i = 0; i <= static_cast<uint8_t>(Status::kCancelled); ++i)
    if (status_name(static_cast<Status>(i)) == name) return static_cast<Status>(i);
  return std::nullopt;
}

std::optional<Task> get_task(const State& s, uint64_t id) { return kv::load<Task>(s, task_key(id), read_task); }

void put_task(State& s, const Task& t) {
  chain::Writer w;
  write_task(w, t);
  s.put(task_key(t.id), w.data());
}

std::vector<Task> tasks_in(const State& s, uint64_t from_id, size_t limit) {
  std::vector<Task> out;
  if (limit == 0) return out;
  kv::Bytes prefix = kv::key(StatePrefix::kTasks, 't');
  s.scan(prefix, [&](chain::ByteView k, chain::ByteView v) {
    if (kv::read_be64(k.subspan(2, 8)) < from_id) return true;
    chain::Reader r(v);
    out.push_back(read_task(r));
    return out.size() < limit;
  });
  return out;
}

std::vector<Task> assigned_to(const State& s, const Address& miner, uint64_t from_id, size_t limit) {
  std::vector<Task> out;
  for (uint64_t id : indexed_ids(s, 'd', from_id)) {
    if (out.size() >= limit) break;
    auto t = get_task(s, id);
    if (t && t->status == Status::kAssigned && t->miner == miner) out.push_back(std::move(*t));
  }
  return out;
}

std::vector<Task> awaiting_verdicts(const State& s, const std::optional<Address>& validator, uint64_t from_id, size_t limit) {
  std::vector<Task> out;
  for (uint64_t id : indexed_ids(s, 'w', from_id)) {
    if (out.size() >= limit) break;
    auto t = get_task(s, id);
    if (!t || t->status != Status::kSubmitted) continue;
    if (validator && std::any_of(t->verdicts.begin(), t->verdicts.end(), [&](const VerdictRecord& v) { return v.account == *validator; }))
      continue;
    out.push_back(std::move(*t));
  }
  return out;
}

}  // namespace ig::contracts::tasks
