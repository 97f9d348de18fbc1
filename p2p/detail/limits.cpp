#include "p2p/detail/limits.hpp"

#include <algorithm>
#include <cmath>

#include "p2p/frame.hpp"

namespace ig::p2p::detail {

// ---- TokenBucket ----

TokenBucket::TokenBucket(uint64_t rate, uint64_t burst, Clock::time_point now)
    : rate_(static_cast<double>(rate)),
      burst_(static_cast<double>(std::max<uint64_t>(burst, 1))),
      tokens_(burst_),
      last_(now) {}

void TokenBucket::refill(Clock::time_point now) {
  if (now <= last_) return;
  double dt = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + dt * rate_);
  last_ = now;
}

void TokenBucket::consume(size_t bytes, Clock::time_point now) {
  refill(now);
  tokens_ -= static_cast<double>(bytes);
}

Clock::duration TokenBucket::wait_time(Clock::time_point now) {
  refill(now);
  if (tokens_ > 0 || rate_ <= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>((1.0 - tokens_) / rate_));
}

// ---- DedupCache ----

bool DedupCache::insert(const Hash32& h) {
  std::lock_guard lock(mu_);
  if (auto it = index_.find(h); it != index_.end()) {
    order_.splice(order_.begin(), order_, it->second);
    return false;
  }
  order_.push_front(h);
  index_.emplace(h, order_.begin());
  while (order_.size() > capacity_) {
    index_.erase(order_.back());
    order_.pop_back();
  }
  return true;
}

size_t DedupCache::size() const {
  std::lock_guard lock(mu_);
  return order_.size();
}

// ---- SendQueues ----

SendQueues::SendQueues(const std::vector<ChannelSpec>& channels) {
  control_.spec = ChannelSpec{kControlChannel, 100, kMaxControlPayload, kMaxControlMessages * kMaxControlPayload,
                              kMaxControlMessages, false, 0};
  index_.fill(-1);
  queues_.reserve(channels.size());
  for (const auto& c : channels) {
    index_[c.id] = static_cast<int16_t>(queues_.size());
    queues_.push_back(Queue{c, {}, 0, 0});
  }
}

SendQueues::Push SendQueues::push(uint8_t channel, Payload payload) {
  Queue* q = nullptr;
  if (channel == kControlChannel) {
    q = &control_;
  } else if (index_[channel] >= 0) {
    q = &queues_[static_cast<size_t>(index_[channel])];
  } else {
    return Push::unknown_channel;
  }
  const size_t n = payload->size();
  if (n > q->spec.max_message_bytes) return Push::too_large;
  if (q->items.size() >= q->spec.max_queue_messages || q->bytes + n > q->spec.max_queue_bytes) return Push::full;
  q->items.push_back(std::move(payload));
  q->bytes += n;
  bytes_ += n;
  ++messages_;
  return Push::queued;
}

bool SendQueues::drop_on_overflow(uint8_t channel) const {
  if (channel == kControlChannel || index_[channel] < 0) return false;
  return queues_[static_cast<size_t>(index_[channel])].spec.drop_message_on_overflow;
}

bool SendQueues::pop(uint8_t& channel, Payload& payload, Clock::time_point now) {
  if (messages_ == 0) return false;
  Queue* pick = nullptr;
  if (!control_.items.empty()) {
    pick = &control_;
  } else {
    // Decay every channel's recent-bytes count by the time since the last pick.
    if (last_decay_ != Clock::time_point{} && now > last_decay_) {
      double dt = std::chrono::duration<double>(now - last_decay_).count();
      double factor = std::exp2(-dt / kHalfLifeSeconds);
      for (auto& q : queues_) q.recently_sent *= factor;
    }
    last_decay_ = now;
    double best = 0;
    for (auto& q : queues_) {
      if (q.items.empty()) continue;
      double ratio = q.recently_sent / q.spec.priority;
      if (!pick || ratio < best) {
        pick = &q;
        best = ratio;
      }
    }
  }
  payload = std::move(pick->items.front());
  pick->items.pop_front();
  const size_t n = payload->size();
  pick->bytes -= n;
  // Framing counts too, so that a stream of empty messages still uses up its share.
  pick->recently_sent += static_cast<double>(n + kFrameHeaderBytes);
  bytes_ -= n;
  --messages_;
  channel = pick->spec.id;
  return true;
}

// ---- ScoreBook ----

void ScoreBook::recover(Entry& e, Clock::time_point now) const {
  if (now > e.updated) {
    double dt = std::chrono::duration<double>(now - e.updated).count();
    e.score = std::min(0.0, e.score + dt * recovery_per_s_);
  }
  e.updated = now;
}

bool ScoreBook::penalize(const NodeId& id, int penalty, Clock::time_point now) {
  if (penalty <= 0) return false;
  if (banned(id, now)) return false;  // already out; its ban is not extended by the echo of it
  auto [it, inserted] = scores_.try_emplace(id, Entry{0, now});
  recover(it->second, now);
  it->second.score -= penalty;
  if (it->second.score > -threshold_) return false;
  // Banned: the ban is the punishment, and the peer starts from zero when it ends.
  scores_.erase(it);
  bans_[id] = now + ban_duration_;
  return true;
}

int ScoreBook::score(const NodeId& id, Clock::time_point now) {
  auto it = scores_.find(id);
  if (it == scores_.end()) return 0;
  recover(it->second, now);
  int s = static_cast<int>(std::floor(it->second.score));
  if (it->second.score >= 0) scores_.erase(it);  // recovered: forget it, so the map stays small
  return s;
}

bool ScoreBook::banned(const NodeId& id, Clock::time_point now) { return banned_until(id, now) > now; }

Clock::time_point ScoreBook::banned_until(const NodeId& id, Clock::time_point now) {
  auto it = bans_.find(id);
  if (it == bans_.end()) return now;
  if (it->second <= now) {
    bans_.erase(it);
    return now;
  }
  return it->second;
}

Clock::duration backoff_delay(unsigned attempt, Clock::duration initial, Clock::duration max, double unit) {
  Clock::duration d = initial;
  for (unsigned i = 0; i < attempt && d < max; ++i) d *= 2;
  d = std::min(d, max);
  unit = std::clamp(unit, 0.0, 1.0);
  auto jitter = std::chrono::duration_cast<Clock::duration>(d * (0.25 * unit));
  return d + jitter;
}

}  // namespace ig::p2p::detail
