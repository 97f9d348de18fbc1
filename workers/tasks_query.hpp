// The open tasks a restarted worker must catch up on, read from the node's task list.
#pragma once

#include <string>
#include <vector>

#include "common/expected.hpp"
#include "workers/node_link.hpp"
#include "workers/task_view.hpp"

namespace ig::workers {

// Tasks assigned to `miner` (an ig1… address) and still waiting for its result (task_assigned).
Expected<std::vector<TaskView>> assigned_tasks(NodeLink& link, const std::string& miner);
// Tasks with a result inside its verification window that `validator` (an ig1… account) has
// not judged yet (task_awaitingVerdict).
Expected<std::vector<TaskView>> awaiting_verdict(NodeLink& link, const std::string& validator);

}  // namespace ig::workers
