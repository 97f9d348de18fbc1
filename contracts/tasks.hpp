// tasks: escrowed inference tasks, the deterministic scheduler, results, verdicts and
// settlement (DESIGN §1 steps 1–4 and 6; §5 "tasks" and "verdicts").
//
// Life of a task:  Pending --schedule--> Assigned --SubmitResult--> Submitted --window ends--> Settled
//                  Assigned --deadline--> Pending again (bounded attempts) or Expired (refund)
//                  Submitted --2/3 reject--> Rejected (miner slashed, user refunded)
//                  Pending --CancelTask--> Cancelled (refund)
// State (prefix kTasks):
//   't' || id(be64)                 -> Task
//   'n'                             -> next task id
//   'p' || id(be64)                 -> (pending queue, in id order)
//   'd' || deadline(be64) || id     -> (assigned tasks by result deadline)
//   'w' || window_end(be64) || id   -> (submitted tasks by end of verification window)
// The escrow sits in the bank's "tasks" module account.
//
// Files: tasks.cpp (submission, results, deadlines, settlement), verdicts.cpp (verdicts, their
// evidence, rejection), task_store.cpp (the record's encoding and the index queries),
// scheduler.cpp (assignment).
#pragma once

#include "chain/application.hpp"
#include "contracts/params.hpp"

namespace ig::contracts::tasks {

using chain::Address;
using chain::Amount;
using chain::Event;
using chain::State;

enum class Status : uint8_t { kPending = 0, kAssigned = 1, kSubmitted = 2, kSettled = 3, kExpired = 4, kRejected = 5, kCancelled = 6 };
std::string status_name(Status s);
std::optional<Status> status_from_name(std::string_view name);

// One validator's verdict as the task keeps it. The evidence itself stays in the verdict
// transaction (tx_hash); the task notes whether there was any.
struct VerdictRecord {
  chain::PublicKey validator{};  // consensus key
  Address account{};
  bool accept = true;
  uint32_t first_bad_step = 0;
  std::string reason;
  bool evidence = false;
  chain::Hash tx_hash{};
  uint64_t height = 0;
  bool operator==(const VerdictRecord&) const = default;
};

struct Task {
  uint64_t id = 0;
  Address submitter{};
  chain::Hash model_id{};
  std::string prompt;
  chain::SamplingParams params;
  Amount max_fee = 0;
  Status status = Status::kPending;
  uint64_t submitted_height = 0;
  Address miner{};
  uint64_t assigned_height = 0;
  uint64_t deadline = 0;
  uint32_t attempts = 0;
  std::vector<Address> tried;  // miners that timed out on it
  // The result (once Submitted). Its fingerprints are not kept here: they are in the result
  // transaction, which result_tx names (chain_getTx).
  std::vector<uint32_t> output_tokens;
  std::string text;
  std::optional<ig::InferenceReceipt> receipt;
  chain::Hash result_tx{};
  uint64_t result_height = 0;
  uint64_t window_end = 0;
  Amount fee_due = 0;
  std::vector<VerdictRecord> verdicts;
  // Where the escrow went once the task closed (all zero while it is open).
  Amount miner_paid = 0;
  Amount validators_paid = 0;
  Amount refunded = 0;
  bool operator==(const Task&) const = default;
};

std::optional<Task> get_task(const State& s, uint64_t id);
void put_task(State& s, const Task& t);
std::vector<Task> tasks_in(const State& s, uint64_t from_id, size_t limit);  // by id
// Open tasks through their indexes (no scan of every task), ascending id, at most `limit`
// with id >= from_id: Assigned to `miner`; and Submitted (in committed state the window of a
// Submitted task is still open for the next block) and, when `validator` is given, not yet
// judged by that validator account.
std::vector<Task> assigned_to(const State& s, const Address& miner, uint64_t from_id, size_t limit);
std::vector<Task> awaiting_verdicts(const State& s, const std::optional<Address>& validator, uint64_t from_id, size_t limit);

Expected<uint64_t> submit_task(State& s, const Params& p, uint64_t height, const Address& user, const chain::SubmitTask& st,
                               std::vector<Event>& events);
Expected<void> cancel_task(State& s, const Address& user, uint64_t id, std::vector<Event>& events);
// tx_hash: the hash of the SubmitResult transaction (from the application's deliver_tx), kept
// so a verifier can fetch the fingerprints later.
Expected<void> submit_result(State& s, const Params& p, uint64_t height, const Address& miner, const chain::SubmitResult& r,
                             const chain::Hash& tx_hash, std::vector<Event>& events);
// What submit_verdict checks of a verdict before it counts, as a pure function of the task:
// the reason's shape, an accept's emptiness, a reject's StepEvidence (Merkle path to the
// receipt's root, the output's token, a recomputed fingerprint that differs) or, without
// evidence, a reason the chain has no data to check (chain::reason_needs_no_evidence).
// Errors "tasks.bad_reason", "tasks.bad_verdict", "tasks.bad_evidence".
ig::Status check_verdict(const Task& t, const chain::Verdict& v);
Expected<void> submit_verdict(State& s, const Params& p, uint64_t height, const Address& validator_account,
                              const chain::Verdict& v, const chain::Hash& tx_hash, std::vector<Event>& events);

// Ends a task that can no longer be served and refunds its escrow in full.
void expire_task(State& s, Task& t, std::vector<Event>& events);

// End of block, in this order: expire missed deadlines, settle finished windows, assign.
void expire_deadlines(State& s, const Params& p, uint64_t height, std::vector<Event>& events);
void settle_windows(State& s, const Params& p, uint64_t height, std::vector<Event>& events);
// seed: the block's parent hash, so no miner can predict an assignment before that block exists.
void schedule(State& s, const Params& p, uint64_t height, const chain::Hash& seed, std::vector<Event>& events);

}  // namespace ig::contracts::tasks
