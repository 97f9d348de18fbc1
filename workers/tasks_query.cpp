#include "workers/tasks_query.hpp"

#include <algorithm>

namespace ig::workers {
namespace {

// Pages through a listing method whose last two parameters are from_id and limit.
Expected<std::vector<TaskView>> all_pages(NodeLink& link, const std::string& method, const json& first) {
  constexpr uint64_t kPage = 1000;
  std::vector<TaskView> out;
  uint64_t from = 1;
  for (;;) {
    IG_TRY_ASSIGN(page, link.call(method, json::array({first, from, kPage})));
    if (!page.is_array()) return fail("rpc.bad_reply", method + ": not an array");
    for (const auto& item : page) {
      IG_TRY_ASSIGN(t, parse_task(item));
      from = std::max(from, t.id + 1);
      out.push_back(std::move(t));
    }
    if (page.size() < kPage) return out;
  }
}

}  // namespace

Expected<std::vector<TaskView>> assigned_tasks(NodeLink& link, const std::string& miner) {
  return all_pages(link, "task_assigned", miner);
}

Expected<std::vector<TaskView>> awaiting_verdict(NodeLink& link, const std::string& validator) {
  return all_pages(link, "task_awaitingVerdict", validator);
}

}  // namespace ig::workers
