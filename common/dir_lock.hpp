// An exclusive, process-wide lock on a directory: the node holds one on its home and on its
// store for as long as it runs; the wallet holds one on its directory while it writes.
//
//   IG_TRY_ASSIGN(lock, ig::DirLock::acquire(home, "infergridd"));   // fails at once if held
//   ... lock.release() or let it go out of scope ...
//
// The lock is flock(2) on DIR/LOCK, so the kernel drops it when the holder exits, even by
// SIGKILL: a stale file never blocks a restart. The file holds the holder's pid and a label
// (e.g. "infergridd"), which the error message names. flock is per open file description, so
// two DirLocks on one directory conflict even inside one process.
//
// Errors: "lock.held" (another holder; the message names its pid and label when it can read
// them), "lock.io" (the directory or file cannot be opened).
#pragma once

#include <chrono>
#include <string>

#include "common/expected.hpp"

namespace ig {

class DirLock {
 public:
  // Takes the lock or fails at once ("lock.held").
  static Expected<DirLock> acquire(const std::string& dir, const std::string& label);
  // Takes the lock, waiting up to `wait` for another holder to let go (for short writers such
  // as the wallet, where two commands may overlap by a few milliseconds).
  static Expected<DirLock> acquire_waiting(const std::string& dir, const std::string& label,
                                           std::chrono::milliseconds wait);

  DirLock() = default;
  DirLock(DirLock&& other) noexcept;
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();

  bool held() const { return fd_ >= 0; }
  void release();

  // The path of the lock file in `dir`.
  static std::string lock_path(const std::string& dir);

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace ig
