// A validator's consensus as the driver uses it: the pure Tendermint core, its write-ahead log
// and its signer, composed in the order that makes restarts safe (docs/consensus.md §5).
//
// For every input the Replica
//   1. hands it to the core; the input is logged (buffered) unless the core rejected or
//      ignored it, so the WAL holds exactly the inputs that shaped the state, in order;
//   2. whenever the core asks for a signature: first writes and fsyncs the WAL (so the input
//      that led to the signature, and everything before it, is durable), then asks the signer
//      (which persists its own state before returning), then logs the signature (WalSignature)
//      and fsyncs again — before the message can be returned to the driver and sent.
// On start_height(h) it replays the WAL's records of h into a fresh core. Signature requests
// during replay are answered from the logged WalSignatures (same (height, round, step) and the
// same signed hash: the stored signature; different hash: refused), so the replayed core
// re-creates this node's messages byte for byte and signs nothing that differs from before. The
// one signature that can be missing from the WAL — the crash fell between the signer's state
// write and the WalSignature — is the signer's last, and the signer returns it again for the
// same bytes.
//
// A failed WAL write stops the replica (fail-stop): every later input returns an error in
// Output::errors and is ignored; the driver must halt the node.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include "chain/consensus/tendermint.hpp"
#include "chain/consensus/wal.hpp"

namespace ig::chain::bft {

class Replica {
 public:
  // `signer` null: a non-validator (signs nothing). `wal` null: no log (non-validators, tests).
  // Both must outlive the replica.
  Replica(std::string chain_id, Signer* signer, Wal* wal, CoreConfig config = {});
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Marks height - 1 committed in the WAL, starts `height`, and replays the WAL's records of
  // `height` if it has any (a restart in the middle of the height). The Output merges what the
  // start and the replay produced: this node's messages of the height (re-broadcast them), the
  // timeouts of the replayed steps (stale ones are ignored when they fire), a decision if the
  // height had reached one, and need_block if the node still waits for its block.
  Output start_height(uint64_t height, std::vector<Validator> validators);
  Output on_proposal(const Proposal& p, bool valid);
  Output on_vote(const Vote& v);
  Output on_timeout(const TimeoutRequest& t);
  Output on_own_block(Block block);

  // Makes buffered input records durable (a clean shutdown, or a periodic flush as CometBFT's
  // every 2 s; neither is needed for safety, only to replay more after a crash).
  Status flush();

  const Tendermint& core() const { return core_; }
  size_t replayed() const { return replayed_; }  // inputs replayed by the last start_height
  bool failed() const { return failed_; }

 private:
  class Guard final : public Signer {
   public:
    explicit Guard(Replica* r) : r_(r) {}
    PublicKey public_key() const override { return r_->signer_->public_key(); }
    Expected<Signature> sign(uint64_t height, uint32_t round, SignStep step, const Hash& sign_hash) override {
      return r_->guarded_sign(height, round, step, sign_hash);
    }

   private:
    Replica* r_;
  };
  using Key = std::tuple<uint64_t, uint32_t, uint8_t>;

  template <typename Fn>
  Output feed(WalEntry entry, Fn&& call);
  Output apply(const WalEntry& e);
  Expected<Signature> guarded_sign(uint64_t height, uint32_t round, SignStep step, const Hash& sign_hash);
  Status wal_do(const Status& st);
  Output failed_output() const;

  Signer* signer_;
  Wal* wal_;
  Guard guard_;
  Tendermint core_;
  std::map<Key, std::pair<Hash, Signature>> signed_;  // this height's signatures (from the WAL and new)
  std::optional<WalEntry> pending_;  // the input being processed
  bool pending_logged_ = false;
  bool replaying_ = false;
  bool failed_ = false;
  size_t replayed_ = 0;
};

}  // namespace ig::chain::bft
