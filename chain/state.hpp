// Application state: a sorted key-value overlay over the last committed state.
//
// Contracts read and write through State; nothing reaches LMDB until the block commits, and
// the whole write set of a block goes into the same LMDB transaction as the block itself.
// Keys start with a one-byte module prefix (see StatePrefix) so modules never collide.
// Checkpoints let the executor revert a failed transaction's effects while keeping its fee.
#pragma once

#include <functional>
#include <map>
#include <optional>

#include "chain/bytes.hpp"

namespace ig::chain {

// Module key prefixes. New modules take a new byte; a byte is never reused.
enum class StatePrefix : uint8_t {
  kChain = 0x01,      // chain parameters, validator set
  kBank = 0x02,       // balances, nonces, supply
  kStaking = 0x03,
  kRegistry = 0x04,
  kTasks = 0x05,
  kWeights = 0x06,
  kYuma = 0x07,
  kSlashing = 0x08,
};

Bytes state_key(StatePrefix prefix, ByteView suffix);

// Read access to committed state (an LMDB read transaction, or a map in tests).
class StateReader {
 public:
  virtual ~StateReader() = default;
  virtual std::optional<Bytes> get(ByteView key) const = 0;
  // Calls fn(key, value) for every key starting with prefix, in ascending key order, until fn returns false.
  virtual void scan(ByteView prefix, const std::function<bool(ByteView, ByteView)>& fn) const = 0;
};

using WriteSet = std::map<Bytes, std::optional<Bytes>>;  // nullopt = deleted

class State {
 public:
  explicit State(const StateReader& base) : base_(&base) {}

  std::optional<Bytes> get(ByteView key) const;
  void put(ByteView key, ByteView value);
  void erase(ByteView key);
  // Committed entries merged with this overlay, ascending key order.
  void scan(ByteView prefix, const std::function<bool(ByteView, ByteView)>& fn) const;

  size_t checkpoint() const { return journal_.size(); }
  void revert_to(size_t checkpoint);

  const WriteSet& writes() const { return writes_; }
  // Drops every pending write (the mempool resets its check state after each block).
  void reset() { writes_.clear(); journal_.clear(); }

 private:
  void record(const Bytes& key);

  const StateReader* base_;
  WriteSet writes_;
  // (key, previous overlay entry) so revert_to can restore exactly what was there.
  std::vector<std::pair<Bytes, std::optional<std::optional<Bytes>>>> journal_;
};

// Chained state root (DESIGN §3, first version): H(prev_root || H(canonical sorted write set)).
Hash next_state_root(const Hash& prev_root, const WriteSet& writes);

// An in-memory StateReader over a sorted map (genesis construction and unit tests).
class MapStateReader : public StateReader {
 public:
  std::map<Bytes, Bytes> entries;
  std::optional<Bytes> get(ByteView key) const override;
  void scan(ByteView prefix, const std::function<bool(ByteView, ByteView)>& fn) const override;
};

}  // namespace ig::chain
