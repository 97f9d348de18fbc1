// A worker's memory across its own restarts: one JSON object in a file, rewritten atomically
// (common/atomic_file.hpp: temporary file, fsync, rename; mode 0600) on every save. The miner records a task before it
// sends the result, so a restarted miner never submits one task twice; the verifier records
// its verdicts and per-miner tallies.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/expected.hpp"

namespace ig::workers {

class Journal {
 public:
  // Reads `path`, or starts empty when it does not exist. "journal.corrupt" when the file is
  // not a JSON object (never silently reset: that could make a miner submit twice).
  static Expected<Journal> open(const std::string& path);

  nlohmann::json& data() { return data_; }
  const nlohmann::json& data() const { return data_; }
  Status save() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  nlohmann::json data_ = nlohmann::json::object();
};

}  // namespace ig::workers
