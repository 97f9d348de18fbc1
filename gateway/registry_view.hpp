// The registered models as the gateway lists them, with how many miners can take each one's
// tasks (registered for it, with at least the chain's minimum miner stake): what /v1/models
// shows and what decides 503 "no miner serves the model". Read from registry_models,
// registry_miners and contracts_params; the creation time of each model from its block.
#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "gateway/chain.hpp"
#include "workers/node_link.hpp"

namespace ig::gateway {

class RegistryView {
 public:
  // Re-reads the registry through `link`. Errors: the link's, "gateway.registry" for a reply
  // without the documented shape (the previous view is kept).
  Status refresh(workers::NodeLink& link);
  std::vector<ModelEntry> models() const;

 private:
  mutable std::mutex mu_;
  std::vector<ModelEntry> models_;
  std::map<std::string, uint64_t> created_;  // model id -> unix seconds, read once per model
};

}  // namespace ig::gateway
