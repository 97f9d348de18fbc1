// Files replaced atomically and read with a size cap: the one implementation behind keystores,
// the consensus signer state and WAL compaction, and the workers' journals.
//
// write_file_atomic writes a temporary file beside `path` (a random name, mode 0600), fsyncs it,
// then renames it over `path` and fsyncs the directory, so a reader — or a restart after a
// crash — sees the old file or the new one, never a partial one. Without `overwrite` the new
// file appears only if nothing is at `path`, decided by the kernel in one step (link, or
// renameat2 RENAME_NOREPLACE): two writers racing for one name get one winner and one
// "file.exists".
//
// Errors: "file.exists", "file.create", "file.write", "file.rename", "file.open",
// "file.not_regular", "file.too_large", "file.read".
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace ig {

struct AtomicWrite {
  bool overwrite = true;  // false: "file.exists" when something is already at the path
  bool sync = true;       // fsync the file and its directory (tests that simulate crashes skip it)
};

Status write_file_atomic(const std::string& path, std::span<const uint8_t> content, AtomicWrite how = {});
Status write_file_atomic(const std::string& path, std::string_view content, AtomicWrite how = {});

// A whole regular file of at most `max_bytes`. The read buffer is wiped afterwards (the file may
// hold a secret).
Expected<std::string> read_small_file(const std::string& path, size_t max_bytes);

// fsync of the directory that holds `path` (makes a create or rename durable).
void sync_parent_dir(const std::string& path);

}  // namespace ig
