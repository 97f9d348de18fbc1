// The bounded bookkeeping of the P2P layer, without I/O so that each piece is unit-tested on its
// own: the receive token bucket, the duplicate-suppression LRU, per-peer send queues with their
// scheduler, peer scores and bans, and the redial backoff.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/sha256.hpp"
#include "p2p/network.hpp"

namespace ig::p2p::detail {

using Clock = std::chrono::steady_clock;
using Payload = std::shared_ptr<const std::vector<uint8_t>>;

// Bytes per second with a burst allowance. Tokens may go negative: a read is never split to fit,
// the reader instead waits until the debt is repaid, so the long-run rate is exact.
class TokenBucket {
 public:
  TokenBucket(uint64_t rate_bytes_per_s, uint64_t burst_bytes, Clock::time_point now);
  void consume(size_t bytes, Clock::time_point now);
  // How long until the balance is positive again; zero when it already is.
  Clock::duration wait_time(Clock::time_point now);

 private:
  void refill(Clock::time_point now);
  double rate_, burst_, tokens_;
  Clock::time_point last_;
};

// Remembers the SHA-256 of the last `capacity` messages (least recently seen forgotten first).
// Thread-safe: one per channel, shared by every connection.
class DedupCache {
 public:
  explicit DedupCache(size_t capacity) : capacity_(capacity) {}
  // True the first time; false (and the entry refreshed) when the hash is remembered.
  bool insert(const Hash32& h);
  size_t size() const;

 private:
  struct HashOfHash {
    size_t operator()(const Hash32& h) const noexcept {
      size_t v = 0;
      for (size_t i = 0; i < sizeof v; ++i) v = (v << 8) | h[i];
      return v;
    }
  };
  mutable std::mutex mu_;
  size_t capacity_;
  std::list<Hash32> order_;  // front = most recent
  std::unordered_map<Hash32, std::list<Hash32>::iterator, HashOfHash> index_;
};

// One peer's outgoing messages, a FIFO per channel. The scheduler takes control messages first,
// then from the channel with the least bytes sent recently per unit of priority (CometBFT's
// MConnection rule): a backlog on a low-priority channel cannot starve a higher one, and a
// higher one gets a larger share when both are busy. Not thread-safe (the connection locks).
class SendQueues {
 public:
  enum class Push { queued, full, unknown_channel, too_large };

  explicit SendQueues(const std::vector<ChannelSpec>& channels);
  Push push(uint8_t channel, Payload payload);
  // Next message to write, or false when every queue is empty.
  bool pop(uint8_t& channel, Payload& payload, Clock::time_point now);
  size_t bytes() const { return bytes_; }
  size_t messages() const { return messages_; }
  bool drop_on_overflow(uint8_t channel) const;

  static constexpr size_t kMaxControlMessages = 64;  // hello, pings and pongs waiting

 private:
  struct Queue {
    ChannelSpec spec;
    std::deque<Payload> items;
    size_t bytes = 0;
    double recently_sent = 0;  // bytes, decaying with a half-life of kHalfLife
  };
  static constexpr double kHalfLifeSeconds = 1.0;
  Queue control_;
  std::vector<Queue> queues_;
  std::array<int16_t, 256> index_{};  // channel -> position in queues_, or -1
  size_t bytes_ = 0, messages_ = 0;
  Clock::time_point last_decay_{};
};

// Scores per node id, recovering linearly toward 0, and bans until a time. Not thread-safe.
class ScoreBook {
 public:
  ScoreBook(int ban_threshold, double recovery_per_minute, Clock::duration ban_duration)
      : threshold_(ban_threshold), recovery_per_s_(recovery_per_minute / 60.0), ban_duration_(ban_duration) {}
  // Applies a penalty; true when it crossed the threshold and the peer is now banned.
  bool penalize(const NodeId& id, int penalty, Clock::time_point now);
  int score(const NodeId& id, Clock::time_point now);
  bool banned(const NodeId& id, Clock::time_point now);
  // When the ban ends (now or earlier when not banned).
  Clock::time_point banned_until(const NodeId& id, Clock::time_point now);

 private:
  struct Entry {
    double score = 0;
    Clock::time_point updated;
  };
  void recover(Entry& e, Clock::time_point now) const;
  int threshold_;
  double recovery_per_s_;
  Clock::duration ban_duration_;
  std::map<NodeId, Entry> scores_;
  std::map<NodeId, Clock::time_point> bans_;
};

// initial * 2^attempt, capped at `max`, plus jitter in [0, 25%) taken from `unit` in [0, 1).
// The jitter spreads the redials of many nodes that lost a peer at the same moment.
Clock::duration backoff_delay(unsigned attempt, Clock::duration initial, Clock::duration max, double unit);

}  // namespace ig::p2p::detail
