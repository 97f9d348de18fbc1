#include "chain/consensus/tendermint.hpp"

#include <cassert>

namespace ig::chain::bft {

namespace {

uint64_t linear(uint64_t init, uint64_t delta, uint32_t round) {
  const unsigned __int128 v = static_cast<unsigned __int128>(init) + static_cast<unsigned __int128>(delta) * round;
  return v > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(v);
}

Output ignored() {
  Output o;
  o.ignored = true;
  return o;
}

Output rejected(Error e) {
  Output o;
  o.rejected = std::move(e);
  return o;
}

}  // namespace

uint64_t TimeoutConfig::delay_ms(Step step, uint32_t round) const {
  switch (step) {
    case Step::kPropose: return linear(propose_ms, propose_delta_ms, round);
    case Step::kPrevote: return linear(prevote_ms, prevote_delta_ms, round);
    case Step::kPrecommit: return linear(precommit_ms, precommit_delta_ms, round);
    case Step::kCommit: return commit_ms;
  }
  return 0;
}

void Output::merge(Output&& o) {
  for (auto& p : o.proposals) proposals.push_back(std::move(p));
  for (auto& v : o.votes) votes.push_back(v);
  for (auto& t : o.timeouts) timeouts.push_back(t);
  for (auto& e : o.evidence) evidence.push_back(e);
  for (auto& e : o.errors) errors.push_back(std::move(e));
  if (o.decision) decision = std::move(o.decision);
  if (o.need_block) need_block = o.need_block;
}

Tendermint::Tendermint(std::string chain_id, Signer* signer, CoreConfig config)
    : chain_id_(std::move(chain_id)), signer_(signer), cfg_(config) {}

// ---- inputs -------------------------------------------------------------------------------

Output Tendermint::start_height(uint64_t height, std::vector<Validator> validators) {
  if (height == 0) return rejected(make_error("consensus.bad_height", "heights start at 1"));
  auto set = ValidatorSet::make(std::move(validators));
  if (!set) {
    started_ = false;
    return rejected(set.error());
  }
  set_ = std::make_shared<const ValidatorSet>(std::move(*set));
  // The schedule depends on the set alone (proposer.hpp), so an unchanged set keeps its cache.
  if (!schedule_ || !(schedule_->set() == *set_)) schedule_ = std::make_unique<ProposerSchedule>(*set_);
  my_index_ = signer_ ? set_->index_of(signer_->public_key()) : std::nullopt;
  // Late votes of the height just finished still reveal double-signs (a validator that
  // equivocated to two halves of the network is often seen by one half only after it decided).
  if (started_ && votes_ && height == height_ + 1) last_votes_ = std::move(votes_);
  else last_votes_.reset();
  height_ = height;
  round_ = 0;
  step_ = Step::kPropose;
  round_proposers_.clear();
  votes_ = std::make_unique<HeightVoteSet>(chain_id_, height, set_);
  proposals_.clear();
  blocks_.clear();
  locked_round_ = valid_round_ = -1;
  locked_.reset();
  valid_.reset();
  decision_.reset();
  started_ = true;
  Output out;
  start_round(0, out);
  run(out);
  return out;
}

Status Tendermint::check_proposal(const Proposal& p) const {
  if (!started_) return fail("consensus.not_started", "no height started");
  if (p.height != height_) return fail("proposal.wrong_height", "proposal for height " + std::to_string(p.height));
  if (p.round > kMaxRound) return fail("proposal.bad_round", "round exceeds 2^31-1");
  if (p.pol_round < -1 || (p.pol_round >= 0 && static_cast<uint32_t>(p.pol_round) >= p.round))
    return fail("proposal.bad_pol_round", "pol_round must be -1 or below the round");
  if (p.round > round_ && p.round - round_ > cfg_.future_round_window)
    return fail("proposal.too_far_ahead", "round " + std::to_string(p.round) + " is beyond the window");
  if (p.block.header.height != p.height) return fail("proposal.bad_block_height", "block height differs from the proposal's");
  if (p.block.header.chain_id != chain_id_) return fail("proposal.wrong_chain", "block of chain " + p.block.header.chain_id);
  if (p.proposer != proposer(p.round))
    return fail("proposal.wrong_proposer", to_hex(p.proposer) + " is not the proposer of round " + std::to_string(p.round));
  const size_t size = encode_block(p.block).size();
  if (size > cfg_.max_block_bytes)
    return fail("proposal.oversized", "block of " + std::to_string(size) + " bytes exceeds " + std::to_string(cfg_.max_block_bytes));
  if (!verify_proposal_signature(chain_id_, p)) return fail("proposal.bad_signature", "proposal signature does not verify");
  return {};
}

Output Tendermint::on_proposal(const Proposal& p, bool valid) {
  if (!started_ || decision_ || p.height != height_) return ignored();
  if (p.round > round_ && p.round - round_ > cfg_.future_round_window) return ignored();
  auto it = proposals_.find(p.round);
  // An exact copy of a stored proposal (gossip echoes) is dropped before any verification.
  if (it != proposals_.end())
    for (const auto& s : it->second)
      if (*s.proposal == p) return ignored();
  if (auto st = check_proposal(p); !st) return rejected(st.error());
  const Hash hash = block_hash(p.block.header);
  if (it != proposals_.end()) {
    for (const auto& s : it->second)
      if (s.hash == hash) return ignored();
    // A proposer that equivocates gets one extra proposal stored per round, plus any block
    // that +2/3 of the round voted for (which the lock and decide rules need).
    if (it->second.size() >= kMaxProposalsPerRound && !wanted(p.round, hash)) return ignored();
  }
  if (!votes_->note_sender(p.round, proposer_index(p.round), round_)) return ignored();
  store(p, hash, valid);
  Output out;
  run(out);
  return out;
}

Output Tendermint::on_vote(const Vote& v) {
  if (started_ && last_votes_ && v.height + 1 == height_) {
    // Only for evidence: the previous height is over, nothing here changes the state.
    auto added = last_votes_->add(v, kMaxRound);
    if (!added) return rejected(added.error());
    Output out = ignored();
    if (added->evidence) out.evidence.push_back(*added->evidence);
    return out;
  }
  if (!started_ || v.height != height_) return ignored();
  auto added = votes_->add(v, round_);
  if (!added) return rejected(added.error());
  if (added->status == AddStatus::kDuplicate || added->status == AddStatus::kIgnored) return ignored();
  Output out;
  if (added->evidence) out.evidence.push_back(*added->evidence);
  run(out);
  return out;
}

Output Tendermint::on_timeout(const TimeoutRequest& t) {
  if (!started_ || decision_ || t.height != height_ || t.round != round_) return ignored();
  Output out;
  switch (t.step) {
    case Step::kPropose:  // OnTimeoutPropose
      if (step_ != Step::kPropose) return ignored();
      prevote(Hash{}, out);
      break;
    case Step::kPrevote:  // OnTimeoutPrevote
      if (step_ != Step::kPrevote) return ignored();
      precommit(Hash{}, out);
      break;
    case Step::kPrecommit:  // OnTimeoutPrecommit
      if (round_ == kMaxRound) return ignored();
      start_round(round_ + 1, out);
      break;
    case Step::kCommit: return ignored();  // the driver's wait; nothing for the core to do
  }
  run(out);
  return out;
}

Output Tendermint::on_own_block(Block block) {
  if (!started_ || decision_ || !awaiting_round_ || *awaiting_round_ != round_ || step_ != Step::kPropose ||
      block.header.height != height_)
    return ignored();
  awaiting_round_.reset();
  Output out;
  propose(block, -1, out);
  run(out);
  return out;
}

// ---- the algorithm ------------------------------------------------------------------------

// StartRound(round).
void Tendermint::start_round(uint32_t round, Output& out) {
  round_ = round;
  step_ = Step::kPropose;
  prevote_timeout_scheduled_ = lock_rule_done_ = precommit_timeout_scheduled_ = false;
  awaiting_round_.reset();
  // The paper schedules timeoutPropose only on non-proposers; like CometBFT we schedule it for
  // the proposer too, so a driver that fails to deliver our block cannot stall the round.
  out.timeouts.push_back(timeout(Step::kPropose));
  if (!my_index_ || proposer_index(round) != *my_index_) return;
  if (valid_) {
    propose(blocks_.at(*valid_).carrier->block, static_cast<int32_t>(valid_round_), out);
  } else {
    awaiting_round_ = round;
    out.need_block = BlockRequest{height_, round};
  }
}

void Tendermint::run(Output& out) {
  // Every rule moves the step or round forward, decides, or sets a once-per-round flag, so this
  // terminates; the bound only turns a bug into a stop instead of a hang.
  for (int i = 0; i < 100000; ++i)
    if (!apply_rule(out)) return;
  assert(false && "consensus rules did not reach a fixpoint");
}

bool Tendermint::apply_rule(Output& out) {
  if (!started_ || decision_) return false;
  if (try_decide(out)) return true;
  // L55: upon f+1 ⟨∗, h_p, round, ∗, ∗⟩ with round > round_p do StartRound(round).
  if (auto r = votes_->skip_round(round_)) {
    start_round(*r, out);
    return true;
  }
  if (step_ == Step::kPropose && try_prevote_on_proposal(out)) return true;
  const VoteSet* prevotes = votes_->get(round_, kPrevote);
  // L34: upon 2f+1 ⟨PREVOTE, h_p, round_p, ∗⟩ while step_p = prevote for the first time.
  if (step_ == Step::kPrevote && !prevote_timeout_scheduled_ && prevotes && prevotes->has_two_thirds_any()) {
    prevote_timeout_scheduled_ = true;
    out.timeouts.push_back(timeout(Step::kPrevote));
    return true;
  }
  if (try_lock(prevotes, out)) return true;
  // L44: upon 2f+1 ⟨PREVOTE, h_p, round_p, nil⟩ while step_p = prevote.
  if (step_ == Step::kPrevote && prevotes && prevotes->has_two_thirds_for(Hash{})) {
    precommit(Hash{}, out);
    return true;
  }
  // L47: upon 2f+1 ⟨PRECOMMIT, h_p, round_p, ∗⟩ for the first time.
  const VoteSet* precommits = votes_->get(round_, kPrecommit);
  if (!precommit_timeout_scheduled_ && precommits && precommits->has_two_thirds_any()) {
    precommit_timeout_scheduled_ = true;
    out.timeouts.push_back(timeout(Step::kPrecommit));
    return true;
  }
  return false;
}

// L49: upon ⟨PROPOSAL, h_p, r, v, ∗⟩ from proposer(h_p, r) AND 2f+1 ⟨PRECOMMIT, h_p, r, id(v)⟩
// while decision_p[h_p] = nil: if valid(v) then decide v. Any round r, so precommits of an
// earlier round that arrive late still decide.
bool Tendermint::try_decide(Output& out) {
  for (uint32_t r : votes_->precommit_rounds()) {
    auto maj = votes_->get(r, kPrecommit)->two_thirds_majority();
    if (!maj || is_nil(*maj)) continue;
    auto it = blocks_.find(*maj);
    if (it == blocks_.end() || !it->second.valid) continue;  // wait for the block (or block sync)
    decide(r, *maj, out);
    return true;
  }
  return false;
}

// L22 and L28, while step_p = propose, on the first proposal of this round.
bool Tendermint::try_prevote_on_proposal(Output& out) {
  const Stored* s = first_proposal(round_);
  if (!s) return false;
  const Proposal& p = *s->proposal;
  const bool valid = blocks_.at(s->hash).valid;
  if (p.pol_round < 0) {
    // L22: ⟨PROPOSAL, h_p, round_p, v, −1⟩: prevote v if valid(v) ∧ (lockedRound_p = −1 ∨ lockedValue_p = v).
    prevote(valid && (locked_round_ == -1 || locked_ == s->hash) ? s->hash : Hash{}, out);
    return true;
  }
  // L28: ⟨PROPOSAL, h_p, round_p, v, vr⟩ AND 2f+1 ⟨PREVOTE, h_p, vr, id(v)⟩, vr < round_p:
  // prevote v if valid(v) ∧ (lockedRound_p ≤ vr ∨ lockedValue_p = v). This proof of lock is what
  // lets a validator locked in an earlier round move to a value the network has since polka'd.
  const uint32_t vr = static_cast<uint32_t>(p.pol_round);
  const VoteSet* pol = votes_->get(vr, kPrevote);
  if (vr >= round_ || !pol || !pol->has_two_thirds_for(s->hash)) return false;  // wait for the polka
  prevote(valid && (locked_round_ <= p.pol_round || locked_ == s->hash) ? s->hash : Hash{}, out);
  return true;
}

// L36: upon ⟨PROPOSAL, h_p, round_p, v, ∗⟩ AND 2f+1 ⟨PREVOTE, h_p, round_p, id(v)⟩ while valid(v)
// ∧ step_p ≥ prevote for the first time: if step_p = prevote, lock v and precommit it; in any
// case v becomes the valid value (what this node re-proposes when it is proposer again).
bool Tendermint::try_lock(const VoteSet* prevotes, Output& out) {
  if (lock_rule_done_ || step_ == Step::kPropose || !prevotes) return false;
  auto maj = prevotes->two_thirds_majority();
  if (!maj || is_nil(*maj)) return false;
  auto it = blocks_.find(*maj);
  if (it == blocks_.end() || !it->second.valid) return false;
  lock_rule_done_ = true;
  if (step_ == Step::kPrevote) {
    locked_ = *maj;
    locked_round_ = round_;
    precommit(*maj, out);
  }
  valid_ = *maj;
  valid_round_ = round_;
  return true;
}

void Tendermint::decide(uint32_t round, const Hash& value, Output& out) {
  const VoteSet* pcs = votes_->get(round, kPrecommit);
  Decision d;
  d.block = blocks_.at(value).carrier->block;
  d.commit = Commit{height_, round, value, {}};
  for (const Vote& v : pcs->votes_for(value)) d.commit.signatures.push_back(CommitSig{v.validator, v.signature});
  d.all_signed = pcs->all_voted_for(value);
  decision_ = d;
  step_ = Step::kCommit;
  awaiting_round_.reset();
  const uint64_t wait = cfg_.timeouts.skip_commit_timeout && d.all_signed ? 0 : cfg_.timeouts.commit_ms;
  out.timeouts.push_back(TimeoutRequest{height_, round, Step::kCommit, wait});
  out.decision = std::move(d);
}

void Tendermint::propose(const Block& block, int32_t pol_round, Output& out) {
  Proposal p{height_, round_, pol_round, block, signer_->public_key(), {}};
  auto sig = signer_->sign(height_, round_, SignStep::kPropose, proposal_signing_hash(chain_id_, p));
  if (!sig) {
    out.errors.push_back(sig.error());
    return;
  }
  p.signature = *sig;
  const Hash hash = block_hash(block.header);
  votes_->note_sender(round_, *my_index_, round_);
  store(p, hash, /*valid=*/true);  // our own block (or our valid value): valid by construction
  out.proposals.push_back(std::move(p));
}

void Tendermint::prevote(const Hash& value, Output& out) {
  vote(kPrevote, value, out);
  step_ = Step::kPrevote;
}

void Tendermint::precommit(const Hash& value, Output& out) {
  vote(kPrecommit, value, out);
  step_ = Step::kPrecommit;
}

// broadcast ⟨type, h_p, round_p, value⟩. The step moves on even when the signer refuses (after a
// crash it may already have signed something else here): the algorithm then continues as if our
// message were lost, which it tolerates.
void Tendermint::vote(uint8_t type, const Hash& value, Output& out) {
  if (!my_index_) return;
  Vote v{type, height_, round_, value, signer_->public_key(), {}};
  auto sig = signer_->sign(height_, round_, sign_step_of_vote(type), vote_signing_hash(chain_id_, v));
  if (!sig) {
    out.errors.push_back(sig.error());
    return;
  }
  v.signature = *sig;
  auto added = votes_->add(v, round_);  // our vote counts like anyone's (and is checked like anyone's)
  if (!added) {
    out.errors.push_back(added.error());
    return;
  }
  out.votes.push_back(v);
}

void Tendermint::store(const Proposal& p, const Hash& hash, bool valid) {
  auto shared = std::make_shared<const Proposal>(p);
  proposals_[p.round].push_back(Stored{shared, hash});
  blocks_.try_emplace(hash, Known{shared, valid});  // validity is a property of the block: first answer kept
}

bool Tendermint::wanted(uint32_t round, const Hash& hash) const {
  const VoteSet* pv = votes_->get(round, kPrevote);
  const VoteSet* pc = votes_->get(round, kPrecommit);
  return (pv && pv->has_two_thirds_for(hash)) || (pc && pc->has_two_thirds_for(hash));
}

const Tendermint::Stored* Tendermint::first_proposal(uint32_t round) const {
  auto it = proposals_.find(round);
  return it == proposals_.end() || it->second.empty() ? nullptr : &it->second.front();
}

size_t Tendermint::proposer_index(uint32_t round) const {
  if (auto it = round_proposers_.find(round); it != round_proposers_.end()) return it->second;
  // Filled forward so that the schedule only ever walks forward within a height (a proposal of
  // an earlier round then costs a lookup, not a walk from zero).
  uint32_t r = round_proposers_.empty() ? 0 : round_proposers_.rbegin()->first + 1;
  for (; r <= round; ++r) round_proposers_[r] = schedule_->proposer(height_, r);
  return round_proposers_[round];
}

PublicKey Tendermint::proposer(uint32_t round) const {
  if (!started_) return PublicKey{};
  return set_->at(proposer_index(round)).consensus_key;
}

std::optional<BlockRequest> Tendermint::awaiting_block() const {
  // Once the propose step is over (its timeout fired), the block would be ignored: not awaited.
  if (!started_ || !awaiting_round_ || decision_ || step_ != Step::kPropose || *awaiting_round_ != round_)
    return std::nullopt;
  return BlockRequest{height_, *awaiting_round_};
}

std::vector<Proposal> Tendermint::proposals(uint32_t round) const {
  std::vector<Proposal> out;
  if (auto it = proposals_.find(round); it != proposals_.end())
    for (const auto& s : it->second) out.push_back(*s.proposal);
  return out;
}

std::vector<Proposal> Tendermint::known_proposals() const {
  std::vector<Proposal> out;
  for (const auto& [round, list] : proposals_)
    for (const auto& s : list) out.push_back(*s.proposal);
  return out;
}

std::vector<Vote> Tendermint::known_votes() const {
  std::vector<Vote> out;
  if (!votes_) return out;
  for (uint32_t r : votes_->rounds())
    for (uint8_t type : {kPrevote, kPrecommit})
      if (const VoteSet* vs = votes_->get(r, type))
        for (auto& v : vs->all()) out.push_back(v);
  return out;
}

}  // namespace ig::chain::bft
