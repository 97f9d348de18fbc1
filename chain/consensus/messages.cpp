#include "chain/consensus/messages.hpp"

#include "chain/hash.hpp"

namespace ig::chain::bft {

namespace {

constexpr uint32_t kNoPolRound = 0xffffffff;

uint32_t pol_round_wire(int32_t pol_round) {
  return pol_round < 0 ? kNoPolRound : static_cast<uint32_t>(pol_round);
}

}  // namespace

std::string_view step_name(Step s) {
  switch (s) {
    case Step::kPropose: return "propose";
    case Step::kPrevote: return "prevote";
    case Step::kPrecommit: return "precommit";
    case Step::kCommit: return "commit";
  }
  return "unknown";
}

Hash proposal_signing_hash(std::string_view chain_id, uint64_t height, uint32_t round, int32_t pol_round,
                           const Hash& block_hash) {
  Writer w;
  w.u64(height);
  w.u32(round);
  w.u32(pol_round_wire(pol_round));
  w.fixed(block_hash);
  return signing_hash(kTagProposal, chain_id, w.data());
}

Hash proposal_signing_hash(std::string_view chain_id, const Proposal& p) {
  // The header's hash commits to the transactions and the last commit through their roots;
  // that the body matches those roots is what the driver's Ledger::validate checks.
  return proposal_signing_hash(chain_id, p.height, p.round, p.pol_round, block_hash(p.block.header));
}

Hash vote_signing_hash(std::string_view chain_id, const Vote& v) {
  return chain::vote_signing_hash(chain_id, v.type, v.height, v.round, v.block_hash);
}

bool verify_proposal_signature(std::string_view chain_id, const Proposal& p) {
  return verify_signature(p.proposer, proposal_signing_hash(chain_id, p), p.signature);
}

bool verify_vote_signature(std::string_view chain_id, const Vote& v) {
  return chain::verify_vote(chain_id, v);
}

void write_proposal(Writer& w, const Proposal& p) {
  w.u64(p.height);
  w.u32(p.round);
  w.u32(pol_round_wire(p.pol_round));
  w.bytes(encode_block(p.block));
  w.fixed(p.proposer);
  w.fixed(p.signature);
}

void write_vote(Writer& w, const Vote& v) { chain::encode_vote(w, v); }

Bytes encode(const Proposal& p) {
  Writer w;
  write_proposal(w, p);
  return std::move(w).take();
}

Bytes encode(const Vote& v) {
  Writer w;
  write_vote(w, v);
  return std::move(w).take();
}

Proposal read_proposal(Reader& r, size_t max_block_bytes) {
  Proposal p;
  p.height = r.u64();
  p.round = r.u32();
  uint32_t pol = r.u32();
  if (!r.ok()) return p;
  if (p.round > kMaxRound) r.set_error("proposal.bad_round", "round " + std::to_string(p.round) + " exceeds 2^31-1");
  if (pol != kNoPolRound && pol >= p.round)
    r.set_error("proposal.bad_pol_round", "pol_round " + std::to_string(pol) + " is not below the round");
  p.pol_round = pol == kNoPolRound ? -1 : static_cast<int32_t>(pol);
  // The length prefix is checked against the cap before anything is copied ("codec.oversized").
  Bytes block_bytes = r.bytes(std::min(max_block_bytes, kMaxBlockBytes));
  if (!r.ok()) return p;
  auto block = decode_block(block_bytes);
  if (!block) {
    r.set_error(block.error().code, "proposal block: " + block.error().message);
    return p;
  }
  p.block = std::move(*block);
  p.proposer = r.fixed<32>();
  p.signature = r.fixed<64>();
  return p;
}

Vote read_vote(Reader& r) {
  Vote v;
  v.type = r.u8();
  v.height = r.u64();
  v.round = r.u32();
  v.block_hash = r.fixed<32>();
  v.validator = r.fixed<32>();
  v.signature = r.fixed<64>();
  if (r.ok() && v.type != kPrevote && v.type != kPrecommit)
    r.set_error("vote.bad_type", "vote type must be 1 (prevote) or 2 (precommit), got " + std::to_string(v.type));
  if (r.ok() && v.round > kMaxRound) r.set_error("vote.bad_round", "round " + std::to_string(v.round) + " exceeds 2^31-1");
  return v;
}

Expected<Proposal> decode_proposal(ByteView bytes, size_t max_block_bytes) {
  Reader r(bytes);
  Proposal p = read_proposal(r, max_block_bytes);
  IG_TRY(r.finish());
  return p;
}

Expected<Vote> decode_vote(ByteView bytes) {
  Reader r(bytes);
  Vote v = read_vote(r);
  IG_TRY(r.finish());
  return v;
}

}  // namespace ig::chain::bft
