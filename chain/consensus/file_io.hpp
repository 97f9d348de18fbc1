// Small POSIX file helpers for the consensus engine's durable state (signer state, WAL).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "chain/bytes.hpp"
#include "common/atomic_file.hpp"

namespace ig::chain::bft {

// Test-only crash injection: called after each durable write with the name of the write point
// ("signer.state", "wal.sync", ...); returning false means "the process dies right here": the
// component refuses every later operation, and what is on disk is what a crash would leave.
using DurabilityHook = std::function<bool(std::string_view point)>;

// Replaces `path` atomically (common/atomic_file.hpp: temporary file, fsync when `sync`,
// rename, directory fsync).
inline Status write_file_atomic(const std::string& path, ByteView content, bool sync = true) {
  return ig::write_file_atomic(path, content, ig::AtomicWrite{true, sync});
}
// Reads a whole regular file of at most `max_bytes`.
inline Expected<Bytes> read_file(const std::string& path, size_t max_bytes) {
  IG_TRY_ASSIGN(text, ig::read_small_file(path, max_bytes));
  return Bytes(text.begin(), text.end());
}
using ig::sync_parent_dir;

}  // namespace ig::chain::bft
