// The consensus messages of the Tendermint engine (docs/consensus.md §2): proposals, votes,
// and the vocabulary shared by the state machine, its write-ahead log and the signer.
//
// A vote is exactly a chain::SignedVote signed over chain::vote_signing_hash, so a precommit is
// directly a CommitSig of the block's Commit and two conflicting votes are directly the
// chain::Evidence the slashing contract already checks. A proposal carries the whole block and
// is signed under its own domain tag, so no proposal signature can ever pass for a vote's.
#pragma once

#include <string_view>

#include "chain/block.hpp"
#include "chain/codec.hpp"

namespace ig::chain::bft {

inline constexpr std::string_view kTagProposal = "infergrid/proposal/v1";

// Vote types, as signed by chain::vote_signing_hash.
inline constexpr uint8_t kPrevote = 1;
inline constexpr uint8_t kPrecommit = 2;

// Rounds stay below 2^31 so that every round fits a proposal's pol_round (int32, -1 = none).
inline constexpr uint32_t kMaxRound = 0x7fffffff;
// The wire size of a vote: type u8 | height u64 | round u32 | block hash | validator | signature.
inline constexpr size_t kVoteBytes = 1 + 8 + 4 + 32 + 32 + 64;

// {type, height, round, block_hash (all-zero = nil), validator, signature}.
using Vote = SignedVote;

struct Proposal {
  uint64_t height = 0;
  uint32_t round = 0;
  int32_t pol_round = -1;  // the round of the polka that justifies re-proposing `block`; -1 = none
  Block block;
  PublicKey proposer{};
  Signature signature{};
  bool operator==(const Proposal&) const = default;
};

// The steps of a round, in their order within it. kCommit is "decided, waiting for the driver to
// start the next height"; as a timeout it is the commit wait (timeout_commit).
enum class Step : uint8_t { kPropose = 0, kPrevote = 1, kPrecommit = 2, kCommit = 3 };
std::string_view step_name(Step s);

// A timeout the driver schedules; when it fires, the driver hands the same value back.
struct TimeoutRequest {
  uint64_t height = 0;
  uint32_t round = 0;
  Step step = Step::kPropose;
  uint64_t delay_ms = 0;
  bool operator==(const TimeoutRequest&) const = default;
};

inline bool is_nil(const Hash& h) { return h == Hash{}; }

// What a proposer signs: SHA-256 over kTagProposal, the chain id, and
// height u64 | round u32 | pol_round u32 (0xffffffff = none) | block hash.
Hash proposal_signing_hash(std::string_view chain_id, uint64_t height, uint32_t round, int32_t pol_round,
                           const Hash& block_hash);
Hash proposal_signing_hash(std::string_view chain_id, const Proposal& p);
// What a validator signs for a vote (chain::vote_signing_hash of its fields).
Hash vote_signing_hash(std::string_view chain_id, const Vote& v);

// Signature checks only (membership and the right proposer are the state machine's business).
bool verify_proposal_signature(std::string_view chain_id, const Proposal& p);
bool verify_vote_signature(std::string_view chain_id, const Vote& v);

// Canonical encodings. A proposal: height u64 | round u32 | pol_round u32 | block (u32 length +
// chain::encode_block) | proposer | signature. A vote: kVoteBytes as chain::encode_vote.
Bytes encode(const Proposal& p);
Bytes encode(const Vote& v);
void write_proposal(Writer& w, const Proposal& p);
void write_vote(Writer& w, const Vote& v);

// Strict decoders: no trailing bytes, vote type 1 or 2, rounds <= kMaxRound, pol_round either
// none or below the round, a proposal's block at most max_block_bytes ("codec.oversized",
// checked before copying) and decoded with chain::decode_block's own caps.
Expected<Proposal> decode_proposal(ByteView bytes, size_t max_block_bytes = kMaxBlockBytes);
Expected<Vote> decode_vote(ByteView bytes);
Proposal read_proposal(Reader& r, size_t max_block_bytes = kMaxBlockBytes);
Vote read_vote(Reader& r);

}  // namespace ig::chain::bft
