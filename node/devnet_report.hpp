// What `infergridd devnet` shows: one line per event as tasks move through the loop, the Yuma
// epochs as they pass, and the summary at the end (printed, and as JSON with --summary; the
// keys are documented in docs/devnet.md and checked by ../shared/checks/devnet_summary_check.py).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/expected.hpp"
#include "rpc/client.hpp"

namespace ig::node {

struct DevnetMiner {
  std::string name, address;
  bool cheats = false;
};

class DevnetReport {
 public:
  void name(const std::string& address, const std::string& name) { names_[address] = name; }
  void add_task(uint64_t id, std::string prompt, bool sampled);

  // Prints the event's line (tasks, verdicts, slashes, weights) and follows task states.
  void on_event(const nlohmann::json& event);
  // Reads the last Yuma epoch; prints and keeps it when it is new.
  Status record_epoch(rpc::Client& node);
  // Audits the supply (bank_supply) at this block: Σ balances must equal the supply.
  Status check_supply(rpc::Client& node, uint64_t height);
  // Every task final, and `epochs` epochs recorded since, with incentive for an honest miner.
  bool done(unsigned epochs);

  Status snapshot_before(rpc::Client& node, const std::vector<DevnetMiner>& miners);
  // Prints the summary and writes it to `path` (when not empty).
  Status finish(rpc::Client& node, const std::vector<DevnetMiner>& miners, const std::string& path);

 private:
  std::string who(const std::string& address) const;
  struct Task {
    uint64_t id = 0;
    std::string prompt;
    bool sampled = false;
    std::string status = "pending";
  };
  std::map<std::string, std::string> names_;
  std::map<uint64_t, Task> tasks_;
  std::vector<nlohmann::json> epochs_;
  std::set<std::string> honest_;
  uint64_t last_epoch_ = UINT64_MAX;
  size_t epochs_with_incentive_ = 0;
  std::map<std::string, nlohmann::json> before_;  // address -> {"stake","balance"}
  std::map<std::string, uint64_t> miner_paid_;    // address -> task payouts
  uint64_t supply_blocks_ = 0;                    // blocks audited
  std::vector<uint64_t> supply_mismatches_;       // heights where Σ balances != supply
  std::chrono::steady_clock::time_point first_task_{}, all_final_{};
};

}  // namespace ig::node
