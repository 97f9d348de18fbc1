// Small POSIX file helpers for the consensus engine's durable state (signer state, WAL).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "chain/bytes.hpp"

namespace ig::chain::bft {

// Test-only crash injection: called after each durable write with the name of the write point
// ("signer.state", "wal.sync", ...); returning false means "the process dies right here": the
// component refuses every later operation, and what is on disk is what a crash would leave.
using DurabilityHook = std::function<bool(std::string_view point)>;

// Replaces `path` atomically: a temporary file in the same directory (mode 0600), written,
// fsync'd (when `sync`), renamed over `path`, and the directory fsync'd so the rename survives.
Status write_file_atomic(const std::string& path, ByteView content, bool sync = true);
// Reads a whole regular file of at most `max_bytes`.
Expected<Bytes> read_file(const std::string& path, size_t max_bytes);
// fsync of the directory that holds `path` (makes a create or rename durable).
void sync_parent_dir(const std::string& path);

}  // namespace ig::chain::bft
