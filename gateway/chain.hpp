// What the gateway needs from the chain, as an interface: the registered models, whether any
// miner serves one, and "submit this task and tell me how it goes". NodeChain (node_chain.hpp)
// is the real one, over a node's JSON-RPC; the unit tests drive the gateway with a fake.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chain/payloads.hpp"
#include "common/expected.hpp"

namespace ig::gateway {

struct ModelEntry {
  std::string id_hex;
  std::string name;
  std::string architecture;
  uint64_t price_per_token = 0;
  uint64_t context_limit = 0;
  std::string registered_by;
  uint64_t registered_height = 0;
  uint64_t created = 0;  // unix seconds of the registering block (0 while unknown)
  size_t miners = 0;     // registered miners serving it with at least the minimum stake
};

// One step of a submitted task, reported in order; Final or Failed is the last report.
struct TaskUpdate {
  enum Kind { Submitted, Progress, Final, Failed } kind = Progress;
  uint64_t task_id = 0;       // from Submitted on
  std::string submit_tx;      // hex of the SubmitTask transaction
  std::string stage;          // Progress: "assigned", "result", "verdict"; Final: the task's status
  std::string detail;         // Progress: a line for people ("assigned to ig1… at height 12")
  nlohmann::json task;        // Final: the task as task_get returns it
  Error error;                // Failed: "gateway.node" (unreachable), "gateway.tx" (refused), ...
};
using TaskObserver = std::function<void(const TaskUpdate&)>;

struct ChainStats {
  uint64_t submitted = 0;       // SubmitTask transactions sent
  uint64_t submit_failures = 0; // refused by the node or not sent
  uint64_t cancelled = 0;       // CancelTask sent for abandoned pending tasks
  size_t following = 0;         // tasks being followed now
  uint64_t reconnects = 0;
  uint64_t height = 0;          // last head seen
};

class Chain {
 public:
  virtual ~Chain() = default;
  // The registered models (a snapshot kept fresh from events and a periodic refresh).
  virtual std::vector<ModelEntry> models() const = 0;
  // Whether the node has answered recently; a gateway that lost its node answers 503.
  virtual bool connected() const = 0;
  // Signs and sends the task, then reports its stages to `observer` (from a chain thread; never
  // after the Final or Failed report, nor after abandon() returns). `final_at_result`: the
  // Final report comes when the result is in (status "submitted") instead of when the task
  // closes. Returns a handle for abandon().
  virtual uint64_t submit(const chain::SubmitTask& task, bool final_at_result, TaskObserver observer) = 0;
  // Stops following (the client went away or timed out); a task still pending is cancelled on
  // chain (best effort), so its escrow comes back.
  virtual void abandon(uint64_t handle) = 0;
  virtual std::string account() const = 0;
  virtual ChainStats stats() const = 0;
};

}  // namespace ig::gateway
