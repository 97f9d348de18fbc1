// The consensus write-ahead log (docs/consensus.md "WAL"): every input the state machine
// accepted, in the order it accepted them, so that a restarted validator replays its current
// height into the same state it had and re-signs nothing differently.
//
// File format: a sequence of records, each
//   crc u32 | length u32 | payload[length]        (little-endian)
// where crc is CRC32C (Castagnoli) of the length's four bytes followed by the payload, and
//   payload = kind u8 | height u64 | body.
// Records are buffered in memory and written by sync() (write + fsync). A scan at open stops at
// the first record that is short, longer than kMaxWalRecordBytes, fails its CRC or does not
// decode, and truncates the file there: that is the torn tail a crash in the middle of a write
// leaves behind (everything before it was acknowledged by an fsync that completed).
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "chain/consensus/file_io.hpp"
#include "chain/consensus/messages.hpp"
#include "chain/consensus/signer.hpp"

namespace ig::chain::bft {

// CRC-32C, polynomial 0x1EDC6F41 (reflected 0x82F63B78): crc32c("123456789") == 0xE3069283.
uint32_t crc32c(ByteView data, uint32_t crc = 0);

// A proposal received (or re-delivered), with the validity the driver attached to its block.
struct WalProposal {
  Proposal proposal;
  bool valid = false;
  bool operator==(const WalProposal&) const = default;
};
struct WalVote {
  Vote vote;
  bool operator==(const WalVote&) const = default;
};
struct WalTimeout {
  TimeoutRequest timeout;
  bool operator==(const WalTimeout&) const = default;
};
// The block the driver built for this node to propose.
struct WalOwnBlock {
  Block block;
  bool operator==(const WalOwnBlock&) const = default;
};
// A message this node signed: its (height, round, step), the signed hash and the signature. The
// message itself is the deterministic product of the inputs logged before it.
struct WalSignature {
  uint64_t height = 0;
  uint32_t round = 0;
  SignStep step = SignStep::kNone;
  Hash sign_hash{};
  Signature signature{};
  bool operator==(const WalSignature&) const = default;
};
// Height `height` is committed; nothing before this marker is needed again.
struct WalEndHeight {
  uint64_t height = 0;
  bool operator==(const WalEndHeight&) const = default;
};

using WalEntry = std::variant<WalProposal, WalVote, WalTimeout, WalOwnBlock, WalSignature, WalEndHeight>;

uint64_t entry_height(const WalEntry& e);
Bytes encode_entry(const WalEntry& e);  // the payload (kind | height | body)
Expected<WalEntry> decode_entry(ByteView payload);

inline constexpr size_t kMaxWalRecordBytes = kMaxBlockBytes + (64 << 10);  // a proposal with a maximal block

class Wal {
 public:
  struct Options {
    bool fsync = true;
    // At a height's end, a file larger than this is replaced by one holding just the marker:
    // replay only ever needs the current height. The bound is this plus one height's records.
    uint64_t compact_above_bytes = 64ull << 20;
    DurabilityHook hook;  // test-only crash injection: "wal.sync", "wal.compact"
  };

  // Opens or creates the file (mode 0600), truncating a torn tail (see truncated_bytes()).
  static Expected<std::unique_ptr<Wal>> open(const std::string& path, Options options);
  static Expected<std::unique_ptr<Wal>> open(const std::string& path) { return open(path, Options{}); }
  // Does not write: buffered records are lost exactly as in a crash. Call sync() to keep them.
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  Status append(const WalEntry& e);  // buffered
  Status sync();                     // writes the buffer and fsyncs it
  // Appends the marker, syncs, and compacts when the file is over the limit.
  Status end_height(uint64_t height);
  // The records of `height`, in file order (the buffer is written out first, without fsync).
  Expected<std::vector<WalEntry>> read_height(uint64_t height);

  uint64_t truncated_bytes() const { return truncated_; }  // dropped by open()
  uint64_t file_size() const { return file_size_; }        // what write() has handed the OS
  uint64_t synced_size() const { return synced_size_; }    // what an fsync has made durable
  const std::string& path() const { return path_; }

 private:
  Wal(std::string path, Options options) : path_(std::move(path)), options_(std::move(options)) {}
  Status write_buffer();
  Status reopen();
  // Calls fn(offset, payload) for every intact record; returns the end of the last intact one.
  template <typename Fn>
  Expected<uint64_t> scan(Fn&& fn) const;

  std::string path_;
  Options options_;
  int fd_ = -1;
  Bytes buffer_;
  uint64_t file_size_ = 0;
  uint64_t synced_size_ = 0;
  uint64_t truncated_ = 0;
  bool dead_ = false;
};

}  // namespace ig::chain::bft
