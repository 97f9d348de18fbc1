// Following a task through its life for `task submit --wait`: one line per stage as it
// happens (assigned, a missed deadline, the result, each verdict, the end), then what the user
// came for: the text, the miner, the verdicts and the fee.
#pragma once

#include <chrono>

#include "wallet/cli/cli.hpp"
#include "wallet/cli/node_client.hpp"

namespace ig::wallet::cli {

// Polls task_get until the task is settled, rejected, expired or cancelled, or `limit` passes.
// Text mode prints each stage line at once (people watch it happen); --json collects them.
// Adds to out.data: "transitions" (statuses seen, in order), "stages" (one object per stage,
// docs/wallet.md), "status", "miner", "text", "verdicts", "fee_paid", "refunded" and "task"
// (the last task_get object). A timeout is exit 1 with everything seen so far.
Status follow_task(const Globals& g, NodeClient& node, uint64_t id, std::chrono::milliseconds limit, Output& out);

// The closing summary of a task (`task` as NodeClient::task returns it, checked).
std::string task_summary_text(const json& task);

}  // namespace ig::wallet::cli
