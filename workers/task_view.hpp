// A task as the node's task_get / task_list return it (docs/rpc.md), read strictly: a reply
// that does not have the documented shape is an error, never a default.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/expected.hpp"
#include "common/sampling.hpp"

namespace ig::workers {

struct TaskView {
  uint64_t id = 0;
  std::string status;  // pending, assigned, submitted, settled, expired, rejected, cancelled
  std::string user;
  std::string model_id;  // hex
  std::string prompt;
  SamplingParams params;
  std::optional<std::string> miner;
  uint64_t assigned_height = 0;
  uint64_t deadline = 0;
  uint64_t result_height = 0;         // 0 before a result
  std::optional<std::string> result_tx;  // hex, once a result is in
};

Expected<TaskView> parse_task(const nlohmann::json& j);
Expected<SamplingParams> parse_sampling(const nlohmann::json& j);
// An unsigned integer given as a JSON number or a decimal string.
Expected<uint64_t> json_uint(const nlohmann::json& obj, const char* key, const char* what);

}  // namespace ig::workers
