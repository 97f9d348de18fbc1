// The gateway's chain, over a node's JSON-RPC (workers/node_link.hpp, workers/tx_sender.hpp):
//   - a submit thread signs and sends SubmitTask (and CancelTask for abandoned pending tasks)
//     from the gateway's account, one at a time (TxSender serializes nonces);
//   - a watcher thread holds one WebSocket subscribed to every event naming the gateway's
//     account (each task event carries the submitter) and to registry changes, maps them to
//     the tasks it follows, reads the task (task_get) when it reaches the stage the caller waits
//     for, and polls what it may have missed (tx_receipt, task_get) after a reconnect or when a
//     task has been quiet for a while;
//   - the registry (models, and how many staked miners serve each) is refreshed on
//     model_registered / miner_* events and every `registry_refresh`.
// Errors reported to observers: "gateway.tx" (the node refused the transaction, or it failed
// in its block), "gateway.node" (the node is unreachable), "gateway.lost" (not included in
// time).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "chain/keys.hpp"
#include "gateway/chain.hpp"

namespace ig::gateway {

struct NodeChainOptions {
  std::string node_url = "ws://127.0.0.1:8546";
  std::optional<chain::SecretKey> key;  // the gateway's account: signs and pays for tasks
  std::chrono::milliseconds registry_refresh{10'000};
  std::chrono::milliseconds poll_interval{2'000};  // a followed task quiet this long is read again
  std::chrono::milliseconds inclusion_timeout{60'000};  // a SubmitTask not in a block by then fails
};

class NodeChain final : public Chain {
 public:
  // Connects, reads the registry once and starts the threads. Errors: the link's codes when
  // the node cannot be reached, "gateway.config".
  static Expected<std::unique_ptr<NodeChain>> start(NodeChainOptions options);
  ~NodeChain() override;
  void stop();

  std::vector<ModelEntry> models() const override;
  bool connected() const override;
  uint64_t submit(const chain::SubmitTask& task, bool final_at_result, TaskObserver observer) override;
  void abandon(uint64_t handle) override;
  std::string account() const override;
  ChainStats stats() const override;

  struct Impl;

 private:
  explicit NodeChain(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ig::gateway
