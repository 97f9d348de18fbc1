// Child processes for `infergridd devnet`: the node and the workers run as real processes,
// each with its log file, exactly as a person would start them by hand.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/expected.hpp"

namespace ig::node {

class ChildProcess {
 public:
  // stdout and stderr go to `log_path` (appended); stdin is /dev/null; `env` is added to ours.
  static Expected<ChildProcess> spawn(const std::vector<std::string>& argv, const std::string& log_path,
                                      const std::map<std::string, std::string>& env = {});
  ChildProcess() = default;
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ~ChildProcess();  // leaves a running process alone (see detach): `devnet --keep` relies on it

  pid_t pid() const { return pid_; }
  bool running();
  // SIGTERM, then SIGKILL after `grace`; the exit code (128+signal when killed).
  int terminate(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // Waits for exit; -1 on timeout (the process is left running).
  int wait(std::chrono::milliseconds timeout);
  const std::string& log_path() const { return log_; }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

// The directory holding the running executable (where infergridd's siblings were built).
std::string executable_dir();

}  // namespace ig::node
