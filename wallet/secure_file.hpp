// Files that hold secrets: private directories (0700), atomic writes with mode 0600, and
// size-capped reads, so a half-written or world-readable keystore never exists on disk.
#pragma once

#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace ig::wallet {

// Creates `dir` and any missing parents; the directories it creates get mode 0700. An existing
// directory is left as it is (its owner chose its mode).
Status ensure_private_dir(const std::string& dir);

// Writes `content` to a temporary file in the same directory with mode 0600, fsyncs it and
// renames it over `path`, so readers see the old file or the new one, never a partial one.
// With `overwrite` false an existing `path` is an error ("file.exists").
Status write_file_atomic(const std::string& path, std::string_view content, bool overwrite);

// Reads a whole regular file of at most `max_bytes`.
Expected<std::string> read_small_file(const std::string& path, size_t max_bytes);

}  // namespace ig::wallet
