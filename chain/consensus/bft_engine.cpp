#include "chain/consensus/bft_engine.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "chain/codec.hpp"
#include "chain/hash.hpp"

namespace ig::chain::bft {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Consensus channel: [kind u8][message]. Block sync channel: [kind u8][fields].
constexpr uint8_t kMsgProposal = 1, kMsgVote = 2;
constexpr uint8_t kSyncStatus = 1, kSyncRequest = 2, kSyncBlock = 3;

constexpr int kPenaltyInvalid = 20;      // a message that does not decode or verify
constexpr int kPenaltyBadBlock = 50;     // a synced block whose commit does not verify

Bytes tagged(uint8_t kind, const Bytes& body) {
  Bytes out;
  out.reserve(body.size() + 1);
  out.push_back(kind);
  append(out, body);
  return out;
}

Bytes sync_u64(uint8_t kind, uint64_t v) {
  Writer w;
  w.u8(kind);
  w.u64(v);
  return std::move(w).take();
}

uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

}  // namespace

BftEngine::BftEngine(Ledger& ledger, std::optional<SecretKey> consensus_key, BftConfig config, BftNetwork& network)
    : ledger_(ledger), key_(std::move(consensus_key)), config_(std::move(config)), network_(network) {}

BftEngine::~BftEngine() { stop(); }

Status BftEngine::start() {
  if (key_) {
    if (config_.signer_state_path.empty() || config_.wal_path.empty())
      return fail("bft.config", "a validator needs a signer state path and a WAL path");
    IG_TRY_ASSIGN(signer, FileSigner::open(config_.signer_state_path, *key_));
    signer_ = std::move(signer);
    IG_TRY_ASSIGN(wal, Wal::open(config_.wal_path));
    wal_ = std::move(wal);
    if (wal_->truncated_bytes() > 0)
      spdlog::warn("consensus: dropped a torn tail of {} bytes from the WAL (a crash while writing)", wal_->truncated_bytes());
  }
  CoreConfig core;
  core.timeouts = config_.timeouts;
  replica_ = std::make_unique<Replica>(ledger_.chain_id(), signer_.get(), wal_.get(), core);
  {
    std::lock_guard l(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
  return {};
}

void BftEngine::stop() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (replica_) (void)replica_->flush();
}

BftStatus BftEngine::status() const {
  std::lock_guard l(status_mu_);
  BftStatus s = status_;
  s.dropped_messages = dropped_.load();
  return s;
}

// --- input from the network (any thread) ----------------------------------------------------

void BftEngine::on_message(const std::string& peer, uint8_t channel, ByteView bytes) {
  if (bytes.empty()) return network_.report(peer, kPenaltyInvalid, "empty consensus message");
  const uint8_t kind = bytes[0];
  ByteView body = bytes.subspan(1);
  std::optional<Input> in;
  if (channel == kConsensusChannel && kind == kMsgProposal) {
    auto p = decode_proposal(body);
    if (!p) return network_.report(peer, kPenaltyInvalid, "proposal: " + p.error().message);
    in = PeerProposal{peer, std::move(*p)};
  } else if (channel == kConsensusChannel && kind == kMsgVote) {
    auto v = decode_vote(body);
    if (!v) return network_.report(peer, kPenaltyInvalid, "vote: " + v.error().message);
    in = PeerVote{peer, *v};
  } else if (channel == kBlockSyncChannel && (kind == kSyncStatus || kind == kSyncRequest)) {
    Reader r(body);
    uint64_t h = r.u64();
    if (!r.finish()) return network_.report(peer, kPenaltyInvalid, "malformed block sync message");
    if (kind == kSyncStatus) in = PeerHeight{peer, h};
    else in = BlockWanted{peer, h};
  } else if (channel == kBlockSyncChannel && kind == kSyncBlock) {
    Reader r(body);
    Bytes block_bytes = r.bytes(kMaxBlockBytes);
    Bytes commit_bytes = r.bytes(1 << 20);
    if (!r.finish()) return network_.report(peer, kPenaltyInvalid, "malformed synced block");
    auto block = decode_block(block_bytes);
    auto commit = decode_commit(commit_bytes);
    if (!block || !commit) return network_.report(peer, kPenaltyInvalid, "synced block does not decode");
    in = SyncBlock{peer, std::move(*block), std::move(*commit)};
  } else {
    return network_.report(peer, kPenaltyInvalid, "unknown consensus message kind " + std::to_string(kind));
  }
  {
    std::lock_guard l(mu_);
    if (inbox_.size() >= config_.max_inbox_messages || inbox_bytes_ + bytes.size() > config_.max_inbox_bytes) {
      ++dropped_;  // the engine is far behind: gossip and block sync send it again
      return;
    }
    inbox_bytes_ += bytes.size();
    inbox_.push_back(std::move(*in));
  }
  cv_.notify_one();
}

void BftEngine::on_peer(const std::string& peer, bool up) {
  if (up) {
    // Tell the newcomer where we are, so that whichever of us is behind starts syncing.
    network_.send(peer, kBlockSyncChannel, sync_u64(kSyncStatus, ledger_.head().height));
    return;
  }
  {
    std::lock_guard l(mu_);
    inbox_.push_back(PeerGone{peer});
  }
  cv_.notify_one();
}

// --- the engine thread ---------------------------------------------------------------------

void BftEngine::run() {
  try {
    enter_height();
    next_gossip_ = Clock::now();
    for (;;) {
      std::deque<Input> batch;
      {
        std::unique_lock l(mu_);
        auto deadline = next_gossip_;
        if (!timers_.empty()) deadline = std::min(deadline, timers_.begin()->first);
        cv_.wait_until(l, deadline, [&] { return stopping_ || !inbox_.empty(); });
        if (stopping_) return;
        batch.swap(inbox_);
        inbox_bytes_ = 0;
      }
      for (auto& in : batch) handle(in);
      const auto now = Clock::now();
      while (!timers_.empty() && timers_.begin()->first <= now) {
        TimeoutRequest t = timers_.begin()->second;
        timers_.erase(timers_.begin());
        if (t.step == Step::kCommit) {
          if (t.height == replica_->core().height()) enter_height();
        } else {
          dispatch(replica_->on_timeout(t));
        }
      }
      if (Clock::now() >= next_gossip_) {
        gossip();
        next_gossip_ = Clock::now() + config_.gossip_interval;
      }
      if (replica_->failed()) {
        spdlog::critical("consensus: the WAL or signer failed; this validator stops signing (see the log above)");
        return;
      }
    }
  } catch (const std::exception& e) {
    // Nothing below is expected to throw; if it does, stop deciding rather than guess.
    spdlog::critical("consensus: engine stopped by an exception: {}", e.what());
  }
}

void BftEngine::handle(Input& in) {
  if (auto* p = std::get_if<PeerProposal>(&in)) {
    const uint64_t h = replica_->core().height();
    if (p->proposal.height == h + 1) {
      const PublicKey signer = p->proposal.proposer;
      const uint32_t round = p->proposal.round;
      return hold_for_next_height(std::move(in), signer, round, 0);
    }
    if (p->proposal.height != h) return;  // another height: gossip and block sync cover it
    if (auto st = replica_->core().check_proposal(p->proposal); !st) {
      network_.report(p->peer, kPenaltyInvalid, "proposal: " + st.error().message);
      return;
    }
    const bool valid = static_cast<bool>(validate_and_cache(p->proposal.block));
    dispatch(replica_->on_proposal(p->proposal, valid), p->peer);
  } else if (auto* v = std::get_if<PeerVote>(&in)) {
    if (v->vote.height == replica_->core().height() + 1) {
      const Vote vote = v->vote;
      return hold_for_next_height(std::move(in), vote.validator, vote.round, vote.type);
    }
    dispatch(replica_->on_vote(v->vote), v->peer);
  } else if (auto* b = std::get_if<SyncBlock>(&in)) {
    const uint64_t h = b->block.header.height;
    // Only blocks this node asked for: a peer must not fill the buffer with blocks nobody
    // requested (each up to the block size cap), far ahead where they would never be applied.
    if (!requested_.erase(h)) return;
    if (h > ledger_.head().height && !sync_buffer_.count(h)) sync_buffer_.emplace(h, std::move(*b));
    apply_synced();
  } else if (auto* s = std::get_if<PeerHeight>(&in)) {
    peer_heights_[s->peer] = s->height;
    request_blocks();
  } else if (auto* w = std::get_if<BlockWanted>(&in)) {
    if (w->height == 0 || w->height > ledger_.head().height) return;
    auto block = ledger_.store().block_at(w->height);
    auto commit = ledger_.store().commit_at(w->height);
    if (!block || !*block || !commit || !*commit) return;
    Writer msg;
    msg.u8(kSyncBlock);
    msg.bytes(encode_block(**block));
    msg.bytes(encode_commit(**commit));
    network_.send(w->peer, kBlockSyncChannel, std::move(msg).take());
  } else if (auto* g = std::get_if<PeerGone>(&in)) {
    peer_heights_.erase(g->peer);
  }
}

void BftEngine::hold_for_next_height(Input&& in, const PublicKey& signer, uint32_t round, uint8_t kind) {
  // The set of the current height stands in for the next one's (it differs only at an epoch
  // boundary, where a newcomer's early messages then wait for re-gossip as before).
  const auto& core = replica_->core();
  if (!core.started() || !core.validators().index_of(signer)) return;
  if (round > core.config().future_round_window) return;
  // Two per key: the first message and one conflicting one, so that a double-sign that arrives
  // early is still seen (the evidence needs both votes).
  int& count = next_height_count_[{signer, round, kind}];
  if (count >= 2) return;
  ++count;
  next_height_.push_back(std::move(in));
}

Status BftEngine::validate_and_cache(const Block& block) {
  const Hash hash = block_hash(block.header);
  if (validated_.count(hash)) return {};
  IG_TRY_ASSIGN(proposal, ledger_.validate(block));
  validated_.emplace(hash, std::move(proposal));
  return {};
}

void BftEngine::send_vote(const Vote& v) {
  Bytes msg = tagged(kMsgVote, encode(v));
  own_messages_.push_back(msg);
  network_.broadcast(kConsensusChannel, std::move(msg));
  if (config_.test_double_sign && key_ && !is_nil(v.block_hash)) {
    // TEST ONLY: a second, conflicting vote signed past the signer's protection.
    Vote evil = v;
    evil.block_hash = sha256(v.block_hash);
    const Hash sign_hash = vote_signing_hash(ledger_.chain_id(), evil);
    evil.signature = key_->sign(ByteView(sign_hash.data(), sign_hash.size()));
    spdlog::warn("consensus: TEST double-sign: a conflicting {} at height {} round {}", v.type == kPrevote ? "prevote" : "precommit",
                 v.height, v.round);
    network_.broadcast(kConsensusChannel, tagged(kMsgVote, encode(evil)));
  }
}

void BftEngine::dispatch(Output&& out, const std::string& from) {
  if (out.rejected && !from.empty()) network_.report(from, kPenaltyInvalid, out.rejected->message);
  for (const auto& e : out.errors) spdlog::error("consensus: {}", e.to_string());
  for (const auto& p : out.proposals) {
    Bytes msg = tagged(kMsgProposal, encode(p));
    own_messages_.push_back(msg);
    network_.broadcast(kConsensusChannel, std::move(msg));
  }
  for (const auto& v : out.votes) send_vote(v);
  const auto now = Clock::now();
  for (const auto& t : out.timeouts) timers_.emplace(now + std::chrono::milliseconds(t.delay_ms), t);
  for (const auto& e : out.evidence) {
    spdlog::warn("consensus: double-sign evidence against {} at height {}", to_hex(e.a.validator).substr(0, 16), e.a.height);
    if (config_.on_evidence) config_.on_evidence(e);
  }
  if (out.decision) commit_decision(*out.decision);
  if (out.need_block && key_) {
    auto proposal = ledger_.propose(now_ms(), key_->public_key());
    if (!proposal) {
      spdlog::error("consensus: cannot build a block for height {}: {}", out.need_block->height, proposal.error().to_string());
      return;
    }
    Block block = proposal->block;
    validated_.emplace(block_hash(block.header), std::move(*proposal));
    dispatch(replica_->on_own_block(std::move(block)));
  }
}

void BftEngine::commit_decision(const Decision& d) {
  const uint64_t h = d.block.header.height;
  if (h <= ledger_.head().height) return;  // block sync got there first
  const Hash hash = block_hash(d.block.header);
  if (!validated_.count(hash)) {
    if (auto st = validate_and_cache(d.block); !st) {
      spdlog::critical("consensus: +2/3 committed block {} at height {} that this node finds invalid: {}",
                       to_hex(hash).substr(0, 16), h, st.error().to_string());
      return;
    }
  }
  if (auto st = ledger_.commit(validated_.at(hash), d.commit); !st) {
    spdlog::error("consensus: committing height {} failed: {}", h, st.error().to_string());
    return;
  }
  std::lock_guard l(status_mu_);
  ++status_.decided_blocks;
}

void BftEngine::enter_height() {
  const uint64_t h = ledger_.head().height + 1;
  if (replica_->core().height() == h) return;
  validated_.clear();
  own_messages_.clear();
  auto validators = ledger_.validators();
  if (!validators) {
    spdlog::critical("consensus: cannot read the validator set: {}", validators.error().to_string());
    return;
  }
  dispatch(replica_->start_height(h, *validators));
  if (replica_->replayed() > 0) spdlog::info("consensus: replayed {} WAL records of height {}", replica_->replayed(), h);
  {
    std::lock_guard l(status_mu_);
    status_.height = h;
    status_.head = h - 1;
  }
  // What arrived early for this height, as if it arrived now (messages of other heights:
  // block sync moved past them).
  std::vector<Input> held;
  held.swap(next_height_);
  next_height_count_.clear();
  for (auto& in : held) {
    const uint64_t mh = std::holds_alternative<PeerProposal>(in) ? std::get<PeerProposal>(in).proposal.height
                                                                 : std::get<PeerVote>(in).vote.height;
    if (mh == h && replica_->core().height() == h) handle(in);
  }
}

// Applies fetched blocks in order, each only with a commit that verifies against the validator
// set of its height (the set the ledger holds for the next block).
void BftEngine::apply_synced() {
  bool applied = false;
  // Blocks at or below the head (consensus got there first) are of no use any more.
  sync_buffer_.erase(sync_buffer_.begin(), sync_buffer_.upper_bound(ledger_.head().height));
  for (;;) {
    const uint64_t next = ledger_.head().height + 1;
    auto it = sync_buffer_.find(next);
    if (it == sync_buffer_.end()) break;
    SyncBlock b = std::move(it->second);
    sync_buffer_.erase(it);
    const Hash hash = block_hash(b.block.header);
    auto validators = ledger_.validators();
    Status ok = validators ? verify_commit(b.commit, ledger_.chain_id(), *validators) : fail(validators.error());
    if (ok && (b.commit.height != next || b.commit.block_hash != hash)) ok = fail("bft.sync", "the commit is for another block");
    if (ok) ok = validate_and_cache(b.block);
    if (ok) ok = ledger_.commit(validated_.at(hash), b.commit);
    if (!ok) {
      network_.report(b.peer, kPenaltyBadBlock, "synced block " + std::to_string(next) + ": " + ok.error().message);
      spdlog::warn("consensus: synced block {} from {} refused: {}", next, b.peer.substr(0, 12), ok.error().message);
      // The rest of what that peer sent is suspect too: ask others (or it) again.
      for (auto it2 = sync_buffer_.begin(); it2 != sync_buffer_.end();)
        it2 = it2->second.peer == b.peer ? sync_buffer_.erase(it2) : std::next(it2);
      break;
    }
    applied = true;
    if (sync_log_from_ == 0) sync_log_from_ = next;
    validated_.clear();
    std::lock_guard l(status_mu_);
    ++status_.synced_blocks;
  }
  if (applied) {
    // One line per second of syncing (and one when caught up), not one per block.
    const uint64_t head = ledger_.head().height;
    uint64_t best = 0;
    for (const auto& [peer, h] : peer_heights_) best = std::max(best, h);
    const auto now = Clock::now();
    if (head >= best || now - sync_logged_ >= 1s) {
      spdlog::info("block sync: committed heights {}..{} (best peer height {})", sync_log_from_, head, best);
      sync_log_from_ = 0;
      sync_logged_ = now;
    }
    enter_height();
  }
  request_blocks();
}

void BftEngine::request_blocks() {
  const uint64_t head = ledger_.head().height;
  uint64_t best = 0;
  for (const auto& [peer, h] : peer_heights_) best = std::max(best, h);
  {
    std::lock_guard l(status_mu_);
    status_.best_peer_height = best;
    status_.syncing = best > head + 1;
    status_.head = head;
  }
  if (best <= head) return;
  const auto now = Clock::now();
  size_t turn = 0;
  for (uint64_t h = head + 1; h <= std::min<uint64_t>(best, head + config_.sync_window); ++h) {
    if (sync_buffer_.count(h)) continue;
    std::string last;  // a retry goes to another peer that has the block, if there is one
    if (auto asked = requested_.find(h); asked != requested_.end()) {
      if (now - asked->second.at < config_.sync_retry) continue;
      last = asked->second.peer;
    }
    std::vector<std::string> able;
    for (const auto& [peer, ph] : peer_heights_)
      if (ph >= h) able.push_back(peer);
    if (able.empty()) break;
    size_t pick = (h + turn++) % able.size();
    if (able.size() > 1 && able[pick] == last) pick = (pick + 1) % able.size();
    network_.send(able[pick], kBlockSyncChannel, sync_u64(kSyncRequest, h));
    requested_[h] = Asked{now, able[pick]};
  }
}

void BftEngine::gossip() {
  // Messages may be lost when a peer reconnects; re-sending this height's own messages is what
  // makes "a message one correct node received reaches all of them" hold (docs/consensus.md).
  for (const auto& m : own_messages_) network_.broadcast(kConsensusChannel, m);
  network_.broadcast(kBlockSyncChannel, sync_u64(kSyncStatus, ledger_.head().height));
  for (auto it = requested_.begin(); it != requested_.end();)
    it = it->first <= ledger_.head().height ? requested_.erase(it) : std::next(it);
  request_blocks();
  (void)replica_->flush();
  const auto& core = replica_->core();
  std::lock_guard l(status_mu_);
  status_.height = core.height();
  status_.round = core.round();
  status_.step = std::string(step_name(core.step()));
}

}  // namespace ig::chain::bft
