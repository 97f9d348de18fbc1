// The LMDB block store (DESIGN §3).
//
// One environment, seven named databases (layout 2):
//   blocks    height (u64 big-endian) -> encoded block
//   commits   height -> the commit that finalised that block
//   hashes    block hash -> height
//   txs       tx hash -> location: (height u64, index u32), big-endian
//   receipts_by_location
//             location -> encoded receipt (appended in chain order; found by hash via txs)
//   state     application state key -> value
//   meta      "head" -> (height, hash, state root), "chain_id", "genesis_hash",
//             "genesis_state_root", "store_format" (one byte: the layout number)
// Layout 1 (no "store_format") kept receipts in "receipts" keyed by tx hash, a random B-tree
// insert per transaction that made the commit the largest serial part of applying a block
// (docs/architecture.md, "Chain throughput"), and its tx index held the codec's little-endian
// location. Opening a layout-1 store moves it to layout 2, in batches that each commit whole
// (a migration cut short resumes at the next open); any other layout is refused.
// Committing a block is ONE write transaction covering all of them, so after a crash the
// store is at the old block or the new one, never in between. Readers use their own read
// transactions and never block the writer. The map grows by doubling when it fills.
#pragma once

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>

#include "chain/block.hpp"
#include "chain/state.hpp"

namespace ig::chain {

struct StoreConfig {
  std::string path;                      // a directory; created if missing
  size_t initial_map_bytes = 256u << 20; // grows on demand
  bool durable = true;                   // fsync on every commit (turn off only in benchmarks)
};

struct Head {
  uint64_t height = 0;
  Hash hash{};
  Hash state_root{};
};

struct TxLocation {
  uint64_t height = 0;
  uint32_t index = 0;
};

// Everything that becomes durable when a block commits.
struct BlockCommit {
  const Block* block = nullptr;
  const Commit* commit = nullptr;  // the commit finalising *block
  const std::vector<Receipt>* receipts = nullptr;
  const WriteSet* writes = nullptr;
};

class Store {
 public:
  // Opens (creating if needed) the store in config.path and holds an exclusive lock on it
  // (common/dir_lock.hpp) until the Store is destroyed. Errors: "lock.held" when another
  // process or Store has it open, "store.path", "store.lmdb", "store.format" when the store
  // holds a chain in a layout this build does not know, "store.corrupt" when a layout-1
  // store's receipts and tx index disagree (the migration then stops, nothing half-moved).
  static Expected<std::unique_ptr<Store>> open(const StoreConfig& config);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Genesis: the initial state write set and identity of the chain; only on an empty store.
  Status write_genesis(std::string_view chain_id, const Hash& genesis_hash, const WriteSet& writes, const Hash& state_root);
  Status commit_block(const BlockCommit& bc);

  std::optional<Head> head() const;
  std::optional<std::string> chain_id() const;
  std::optional<Hash> genesis_hash() const;
  std::optional<Hash> genesis_state_root() const;
  Expected<std::optional<Block>> block_at(uint64_t height) const;
  std::optional<uint64_t> height_of(const Hash& block_hash) const;
  Expected<std::optional<Commit>> commit_at(uint64_t height) const;
  std::optional<TxLocation> tx_location(const Hash& tx_hash) const;
  // nullopt when no committed transaction has this hash; "store.corrupt" when the index and
  // the receipts disagree.
  Expected<std::optional<Receipt>> receipt(const Hash& tx_hash) const;

  // A consistent view of committed state, pinned to one read transaction. Keep it short-lived:
  // the map cannot grow while any snapshot is open.
  std::unique_ptr<StateReader> snapshot() const;
  // A reader that always sees the latest committed state (one short read transaction per call).
  const StateReader& latest() const;

  size_t map_bytes() const;

 struct Impl;  // opaque; public only so the reader classes in store.cpp can name it

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ig::chain
