// Files that hold secrets: private directories (0700), atomic writes with mode 0600, and
// size-capped reads, so a half-written or world-readable keystore never exists on disk.
#pragma once

#include <string>
#include <string_view>

#include "common/atomic_file.hpp"
#include "common/expected.hpp"

namespace ig::wallet {

// Creates `dir` and any missing parents; the directories it creates get mode 0700. An existing
// directory is left as it is (its owner chose its mode).
Status ensure_private_dir(const std::string& dir);

// Atomic 0600 writes and capped reads live in common/atomic_file.hpp (one implementation for the
// wallet, the consensus signer and the workers); these are the wallet's spellings of them.
inline Status write_file_atomic(const std::string& path, std::string_view content, bool overwrite) {
  return ig::write_file_atomic(path, content, ig::AtomicWrite{overwrite, true});
}
using ig::read_small_file;

}  // namespace ig::wallet
