// Blocks, commits, receipts and events (DESIGN §3).
//
// A block's header commits to its transactions (Merkle root), their receipts (Merkle root),
// the state root after executing them, the validator set, and the commit that finalised the
// previous block. The body carries that previous commit, so every block proves its parent final.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "chain/tx.hpp"

namespace ig::chain {

struct Attribute {
  std::string key;
  std::string value;
  bool operator==(const Attribute&) const = default;
};

// Something a transaction or block did, for subscribers and receipts ("transfer", {from,to,amount}).
struct Event {
  std::string type;
  std::vector<Attribute> attributes;
  bool operator==(const Event&) const = default;
};

enum class TxCode : uint32_t {
  kOk = 0,
  kInsufficientFunds = 1,
  kOverflow = 2,
  kInvalidPayload = 3,
  kUnauthorized = 4,
  kNotFound = 5,
};
std::string tx_code_name(TxCode c);

// A transaction that was valid to include but failed in execution still pays its fee and gets
// a receipt with a failure code; its other effects are reverted.
struct Receipt {
  Hash tx_hash{};
  uint64_t height = 0;
  uint32_t index = 0;
  TxCode code = TxCode::kOk;
  std::string error;     // human message when code != kOk
  Amount fee_paid = 0;
  std::vector<Event> events;
  bool operator==(const Receipt&) const = default;
};

struct Validator {
  PublicKey consensus_key{};  // signs votes
  Address account{};          // receives rewards, owns the stake
  Amount power = 0;           // voting power = stake
  std::string name;
  bool operator==(const Validator&) const = default;
};

struct BlockHeader {
  std::string chain_id;
  uint64_t height = 0;
  uint64_t time_ms = 0;
  Hash prev_hash{};
  Hash tx_root{};
  Hash receipts_root{};
  Hash state_root{};
  PublicKey proposer{};
  Hash validators_hash{};
  Hash last_commit_hash{};
  bool operator==(const BlockHeader&) const = default;
};

struct CommitSig {
  PublicKey validator{};
  Signature signature{};
  bool operator==(const CommitSig&) const = default;
};

// Precommits from validators holding more than 2/3 of the power for one block.
struct Commit {
  uint64_t height = 0;
  uint32_t round = 0;
  Hash block_hash{};
  std::vector<CommitSig> signatures;
  bool operator==(const Commit&) const = default;
};

struct Block {
  BlockHeader header;
  std::vector<Transaction> txs;
  Commit last_commit;  // empty at height 1
  bool operator==(const Block&) const = default;
};

Bytes encode_header(const BlockHeader& h);
Hash block_hash(const BlockHeader& h);

Bytes encode_block(const Block& b);
Expected<Block> decode_block(ByteView bytes);

Bytes encode_commit(const Commit& c);
Expected<Commit> decode_commit(ByteView bytes);
Hash commit_hash(const Commit& c);  // zero hash for the empty commit at height 1

Bytes encode_receipt(const Receipt& r);
Expected<Receipt> decode_receipt(ByteView bytes);

Bytes encode_validators(const std::vector<Validator>& vs);
Expected<std::vector<Validator>> decode_validators(ByteView bytes);
Hash validators_hash(const std::vector<Validator>& vs);

Hash tx_root(const std::vector<Transaction>& txs);
Hash receipts_root(const std::vector<Receipt>& receipts);

// What a validator signs for a vote (type 1 prevote, 2 precommit).
Hash vote_signing_hash(std::string_view chain_id, uint8_t type, uint64_t height, uint32_t round, const Hash& block_hash);
inline Hash vote_signing_hash(std::string_view chain_id, uint64_t height, uint32_t round, const Hash& block_hash) {
  return vote_signing_hash(chain_id, 2, height, round, block_hash);
}
bool verify_vote(std::string_view chain_id, const SignedVote& vote);
CommitSig sign_precommit(const SecretKey& key, std::string_view chain_id, uint64_t height, uint32_t round,
                         const Hash& block_hash);
// Checks that signers are distinct members of `validators`, every signature verifies, and the
// signed power exceeds 2/3 of the total.
Status verify_commit(const Commit& c, std::string_view chain_id, const std::vector<Validator>& validators);

}  // namespace ig::chain
