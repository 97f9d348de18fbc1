#include "gateway/registry_view.hpp"

#include <algorithm>

#include "workers/task_view.hpp"

namespace ig::gateway {
namespace {

using json = nlohmann::json;
using workers::json_uint;

constexpr size_t kMaxModels = 10000;  // a sanity bound on what one reply may make us hold

}  // namespace

Status RegistryView::refresh(workers::NodeLink& link) {
  IG_TRY_ASSIGN(models, link.call("registry_models", json::array()));
  IG_TRY_ASSIGN(miners, link.call("registry_miners", json::array()));
  IG_TRY_ASSIGN(params, link.call("contracts_params", json::array()));
  if (!models.is_array() || !miners.is_array() || models.size() > kMaxModels)
    return fail("gateway.registry", "registry_models / registry_miners did not return arrays");
  IG_TRY_ASSIGN(min_stake, json_uint(params, "min_miner_stake", "contracts_params"));

  // How many staked miners serve each model id.
  std::map<std::string, size_t> serving;
  for (const auto& m : miners) {
    auto stake = json_uint(m, "stake", "registry_miners");
    if (!stake || *stake < min_stake || !m.contains("models") || !m["models"].is_array()) continue;
    for (const auto& id : m["models"])
      if (id.is_string()) ++serving[id.get<std::string>()];
  }
  std::vector<ModelEntry> out;
  for (const auto& m : models) {
    if (!m.is_object() || !m.contains("model_id") || !m["model_id"].is_string() || !m.contains("name") ||
        !m["name"].is_string())
      return fail("gateway.registry", "registry_models: an entry without model_id or name");
    ModelEntry e;
    e.id_hex = m["model_id"].get<std::string>();
    e.name = m["name"].get<std::string>();
    e.architecture = m.value("architecture", "");
    e.registered_by = m.value("registered_by", "");
    IG_TRY_ASSIGN(price, json_uint(m, "price_per_token", "registry_models"));
    IG_TRY_ASSIGN(context, json_uint(m, "context_limit", "registry_models"));
    IG_TRY_ASSIGN(height, json_uint(m, "registered_height", "registry_models"));
    e.price_per_token = price;
    e.context_limit = context;
    e.registered_height = height;
    e.miners = serving.count(e.id_hex) ? serving[e.id_hex] : 0;
    out.push_back(std::move(e));
  }
  // Creation times: one block header per model, read once.
  std::map<std::string, uint64_t> created;
  {
    std::lock_guard l(mu_);
    created = created_;
  }
  for (auto& e : out) {
    if (auto it = created.find(e.id_hex); it != created.end()) {
      e.created = it->second;
      continue;
    }
    auto block = link.call("chain_getBlock", json::array({e.registered_height, false}));
    if (!block || !block->contains("header")) continue;  // known next time
    if (auto t = json_uint((*block)["header"], "time_ms", "chain_getBlock")) created[e.id_hex] = e.created = *t / 1000;
  }
  // Models some miner serves first (a client that takes the first listed model gets one that
  // answers), then by name.
  std::sort(out.begin(), out.end(), [](const ModelEntry& a, const ModelEntry& b) {
    if ((a.miners > 0) != (b.miners > 0)) return a.miners > 0;
    return a.name < b.name;
  });
  std::lock_guard l(mu_);
  models_ = std::move(out);
  created_ = std::move(created);
  return {};
}

std::vector<ModelEntry> RegistryView::models() const {
  std::lock_guard l(mu_);
  return models_;
}

}  // namespace ig::gateway
