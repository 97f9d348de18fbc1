// The Tendermint state machine: Algorithm 1 of "The latest gossip on BFT consensus" (Buchman,
// Kwon, Milosevic; arXiv 1807.04938), as a pure core (docs/consensus.md §2-§4).
//
// Pure: no clock, no threads, no I/O, no randomness in any decision. Inputs are method calls —
// a proposal (with the validity of its block, which the driver established with
// Ledger::validate), a vote, a timeout that fired, the block this node was asked to propose, and
// "start height h with this validator set". Every call returns an Output: messages to broadcast
// (signed through the Signer), timeouts to schedule, a block to build, a decision, evidence, or
// why the input was refused. The same inputs in the same order always give the same state and
// the same messages, which is what the write-ahead log's replay relies on.
//
// The rules are the paper's "upon" clauses, re-evaluated after every input until none applies
// (tendermint.cpp names each by its line number in Algorithm 1). Two readings are documented:
//   - a value is identified by its block hash, and a block with that hash known from any
//     proposal of this height stands for "⟨PROPOSAL, h, r, v, ∗⟩" in the lock (L36) and decide
//     (L49) rules: honest validators prevote/precommit v in round r only after receiving a round-r
//     proposal of v, so this changes no safety argument and lets a node that holds v from an
//     earlier round finish without the round-r copy;
//   - f+1 / 2f+1 are "more than 1/3 / 2/3 of the voting power" (ValidatorSet).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chain/consensus/messages.hpp"
#include "chain/consensus/proposer.hpp"
#include "chain/consensus/signer.hpp"
#include "chain/consensus/vote_set.hpp"

namespace ig::chain::bft {

// timeout(step, round) = init + round·delta (saturating). Defaults are CometBFT's
// (config/config.go DefaultConsensusConfig).
struct TimeoutConfig {
  uint64_t propose_ms = 3000;
  uint64_t propose_delta_ms = 500;
  uint64_t prevote_ms = 1000;
  uint64_t prevote_delta_ms = 500;
  uint64_t precommit_ms = 1000;
  uint64_t precommit_delta_ms = 500;
  uint64_t commit_ms = 1000;          // wait after a decision before the next height (stragglers' precommits)
  bool skip_commit_timeout = false;   // no wait when every validator precommitted the block
  uint64_t delay_ms(Step step, uint32_t round) const;
};

struct CoreConfig {
  TimeoutConfig timeouts;
  size_t max_block_bytes = kMaxBlockBytes;  // a proposal whose encoded block is larger is refused
  uint32_t future_round_window = 8;         // proposals kept for rounds up to round + this
};

struct BlockRequest {
  uint64_t height = 0;
  uint32_t round = 0;
  bool operator==(const BlockRequest&) const = default;
};

struct Decision {
  Block block;
  Commit commit;            // the +2/3 precommits of the deciding round, in validator-set order
  bool all_signed = false;  // every validator precommitted this block in that round
};

struct Output {
  std::vector<Proposal> proposals;        // signed by this node: broadcast them
  std::vector<Vote> votes;                // signed by this node: broadcast them
  std::vector<TimeoutRequest> timeouts;   // schedule each; hand it to on_timeout when it fires
  std::optional<Decision> decision;       // commit it, wait its kCommit timeout, then start_height(h + 1)
  std::vector<Evidence> evidence;         // double-signs seen: submit as Evidence transactions
  std::optional<BlockRequest> need_block; // build a block for this height and give it to on_own_block
  std::optional<Error> rejected;          // the input was invalid: score its sender down
  bool ignored = false;                   // the input changed nothing (duplicate, stale, out of window)
  std::vector<Error> errors;              // this node's own trouble: the signer refused or failed

  // Appends `o`'s actions (messages, timeouts, evidence, errors; its decision and block request
  // when set); `rejected` and `ignored` describe single inputs and are not merged.
  void merge(Output&& o);
  bool has_messages() const { return !proposals.empty() || !votes.empty(); }
};

class Tendermint {
 public:
  static constexpr size_t kMaxProposalsPerRound = 2;  // first + one conflicting (more only if +2/3 voted for it)

  // `signer` may be null: the core then follows consensus and signs nothing (a non-validator);
  // a signer whose key is not in a height's set signs nothing at that height either.
  Tendermint(std::string chain_id, Signer* signer, CoreConfig config = {});

  // Starts (or restarts) consensus at `height` with that height's validator set: clears all
  // per-height state and enters round 0. A set with no voting power is refused.
  Output start_height(uint64_t height, std::vector<Validator> validators);
  // The checks on_proposal makes before storing a proposal, without the block's validity: the
  // driver calls this first and runs Ledger::validate only on proposals that pass.
  Status check_proposal(const Proposal& p) const;
  Output on_proposal(const Proposal& p, bool valid);
  Output on_vote(const Vote& v);
  Output on_timeout(const TimeoutRequest& t);
  // The block asked for by need_block (ignored unless this node still waits for it).
  Output on_own_block(Block block);

  const std::string& chain_id() const { return chain_id_; }
  const CoreConfig& config() const { return cfg_; }
  bool started() const { return started_; }
  uint64_t height() const { return height_; }
  uint32_t round() const { return round_; }
  Step step() const { return step_; }
  int64_t locked_round() const { return locked_round_; }
  std::optional<Hash> locked_block() const { return locked_; }
  int64_t valid_round() const { return valid_round_; }
  std::optional<Hash> valid_block() const { return valid_; }
  const std::optional<Decision>& decision() const { return decision_; }
  const ValidatorSet& validators() const { return *set_; }
  bool is_validator() const { return my_index_.has_value(); }
  PublicKey proposer(uint32_t round) const;
  std::optional<BlockRequest> awaiting_block() const;
  const HeightVoteSet& votes() const { return *votes_; }
  // The votes of the previous height (kept to catch double-signs that straddle the height change).
  const HeightVoteSet* last_votes() const { return last_votes_.get(); }
  std::vector<Proposal> proposals(uint32_t round) const;
  // Everything held for the current height, for gossip to peers that lag behind.
  std::vector<Proposal> known_proposals() const;
  std::vector<Vote> known_votes() const;

 private:
  struct Stored {
    std::shared_ptr<const Proposal> proposal;
    Hash hash{};
  };
  struct Known {
    std::shared_ptr<const Proposal> carrier;  // the first proposal that brought this block
    bool valid = false;
  };

  void start_round(uint32_t round, Output& out);
  void run(Output& out);
  bool apply_rule(Output& out);
  bool try_decide(Output& out);
  bool try_prevote_on_proposal(Output& out);
  bool try_lock(const VoteSet* prevotes, Output& out);
  void decide(uint32_t round, const Hash& value, Output& out);
  void propose(const Block& block, int32_t pol_round, Output& out);
  void prevote(const Hash& value, Output& out);
  void precommit(const Hash& value, Output& out);
  void vote(uint8_t type, const Hash& value, Output& out);
  void store(const Proposal& p, const Hash& hash, bool valid);
  bool wanted(uint32_t round, const Hash& hash) const;
  const Stored* first_proposal(uint32_t round) const;
  size_t proposer_index(uint32_t round) const;
  TimeoutRequest timeout(Step s) const { return {height_, round_, s, cfg_.timeouts.delay_ms(s, round_)}; }

  std::string chain_id_;
  Signer* signer_;
  CoreConfig cfg_;

  bool started_ = false;
  uint64_t height_ = 0;
  uint32_t round_ = 0;
  Step step_ = Step::kPropose;
  std::shared_ptr<const ValidatorSet> set_ = std::make_shared<const ValidatorSet>();
  std::optional<size_t> my_index_;
  mutable std::unique_ptr<ProposerSchedule> schedule_;  // a cache: proposer() const extends it
  mutable std::map<uint32_t, size_t> round_proposers_;   // this height's, filled forward from round 0
  std::unique_ptr<HeightVoteSet> votes_;
  std::unique_ptr<HeightVoteSet> last_votes_;
  std::map<uint32_t, std::vector<Stored>> proposals_;
  std::map<Hash, Known> blocks_;
  int64_t locked_round_ = -1;
  std::optional<Hash> locked_;
  int64_t valid_round_ = -1;
  std::optional<Hash> valid_;
  // "for the first time" flags of the current round (L34, L36, L47).
  bool prevote_timeout_scheduled_ = false;
  bool lock_rule_done_ = false;
  bool precommit_timeout_scheduled_ = false;
  std::optional<uint32_t> awaiting_round_;  // asked the driver for a block in this round
  std::optional<Decision> decision_;
};

}  // namespace ig::chain::bft
