// Transaction payloads: one struct per transaction kind, each with a fixed u8 tag.
//
// chain/ only encodes, decodes and routes them; what they do is the Application's business
// (contracts/). A new kind takes a new tag; a tag is never reused.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "chain/address.hpp"
#include "chain/amount.hpp"

namespace ig::chain {

// Caps on variable-length payload fields (the codec rejects anything larger).
inline constexpr size_t kMaxMemoBytes = 256;
inline constexpr size_t kMaxNameBytes = 64;
inline constexpr size_t kMaxPromptBytes = 16384;
inline constexpr size_t kMaxOutputTokens = 4096;
inline constexpr size_t kMaxServedModels = 32;
inline constexpr size_t kMaxWeights = 4096;
inline constexpr size_t kMaxEvidenceBytes = 4096;

enum class StakeRole : uint8_t { kValidator = 0, kMiner = 1 };

struct Transfer {
  static constexpr uint8_t kTag = 1;
  Address to{};
  Amount amount = 0;
  std::string memo;
  bool operator==(const Transfer&) const = default;
};

// Locks `amount` of the sender's balance as validator or miner stake.
struct Stake {
  static constexpr uint8_t kTag = 2;
  StakeRole role = StakeRole::kMiner;
  Amount amount = 0;
  bool operator==(const Stake&) const = default;
};

// Starts unbonding `amount`; it returns to the balance after the unbonding period.
struct Unstake {
  static constexpr uint8_t kTag = 3;
  StakeRole role = StakeRole::kMiner;
  Amount amount = 0;
  bool operator==(const Unstake&) const = default;
};

struct MinerProfile {
  std::string gpu_class;          // e.g. "H100-80GB", "cpu"
  uint32_t memory_mb = 0;         // declared accelerator memory
  uint32_t max_concurrent = 1;    // tasks it runs at once; the scheduler never exceeds it
  std::vector<Hash> models;       // model ids it serves
  bool operator==(const MinerProfile&) const = default;
};

struct RegisterMiner {
  static constexpr uint8_t kTag = 4;
  MinerProfile profile;
  bool operator==(const RegisterMiner&) const = default;
};

struct UpdateMiner {
  static constexpr uint8_t kTag = 5;
  MinerProfile profile;
  bool operator==(const UpdateMiner&) const = default;
};

// Validators register models; the id is the SHA-256 of the GGUF file.
struct RegisterModel {
  static constexpr uint8_t kTag = 6;
  Hash model_id{};
  std::string name;
  std::string architecture;  // "llama", "qwen2"
  Amount price_per_token = 0;
  uint32_t context_limit = 0;
  bool operator==(const RegisterModel&) const = default;
};

// Sampling parameters in integers so they hash and compare exactly (milli-units).
struct SamplingParams {
  uint32_t max_tokens = 0;
  uint32_t temperature_milli = 0;  // 0 = greedy
  uint32_t top_k = 0;              // 0 = off
  uint32_t top_p_milli = 1000;     // 1000 = off
  uint64_t seed = 0;
  bool operator==(const SamplingParams&) const = default;
};

struct SubmitTask {
  static constexpr uint8_t kTag = 7;
  Hash model_id{};
  std::string prompt;
  SamplingParams params;
  Amount max_fee = 0;  // escrowed until the task settles
  bool operator==(const SubmitTask&) const = default;
};

// What a miner's receipt commits to (the inference engine's receipt fields).
struct ResultReceipt {
  Hash model_id{};
  Hash prompt_hash{};
  Hash params_hash{};
  Hash output_hash{};       // SHA-256 over the output token ids (u32 little-endian)
  Hash fingerprint_root{};  // Merkle root over per-step logit fingerprints
  uint32_t steps = 0;
  bool operator==(const ResultReceipt&) const = default;
};

struct SubmitResult {
  static constexpr uint8_t kTag = 8;
  uint64_t task_id = 0;
  std::vector<uint32_t> output_tokens;
  ResultReceipt receipt;
  bool operator==(const SubmitResult&) const = default;
};

struct CancelTask {
  static constexpr uint8_t kTag = 9;
  uint64_t task_id = 0;
  bool operator==(const CancelTask&) const = default;
};

struct Verdict {
  static constexpr uint8_t kTag = 10;
  uint64_t task_id = 0;
  bool accept = true;
  uint32_t first_bad_step = 0;  // meaningful when rejecting
  Bytes evidence;               // e.g. the verifier's fingerprint and Merkle proof
  bool operator==(const Verdict&) const = default;
};

struct CommitWeights {
  static constexpr uint8_t kTag = 11;
  uint64_t epoch = 0;
  Hash commit{};  // weights_commit_hash(sender, epoch, weights, salt)
  bool operator==(const CommitWeights&) const = default;
};

struct WeightEntry {
  uint16_t uid = 0;
  uint16_t weight = 0;
  bool operator==(const WeightEntry&) const = default;
};

struct RevealWeights {
  static constexpr uint8_t kTag = 12;
  uint64_t epoch = 0;  // the epoch the commit was made in
  std::vector<WeightEntry> weights;
  Hash salt{};
  bool operator==(const RevealWeights&) const = default;
};

// A validator's signed vote, as it appears in double-sign evidence.
struct SignedVote {
  uint8_t type = 2;  // 1 prevote, 2 precommit
  uint64_t height = 0;
  uint32_t round = 0;
  Hash block_hash{};
  PublicKey validator{};
  Signature signature{};
  bool operator==(const SignedVote&) const = default;
};

struct Evidence {
  static constexpr uint8_t kTag = 13;
  SignedVote a;
  SignedVote b;
  bool operator==(const Evidence&) const = default;
};

// A current validator proposes a new one; it joins once validators holding more than 2/3 of
// the power approve, at the next epoch boundary.
struct ProposeValidator {
  static constexpr uint8_t kTag = 14;
  PublicKey consensus_key{};
  Address account{};
  std::string name;
  bool operator==(const ProposeValidator&) const = default;
};

struct ApproveValidator {
  static constexpr uint8_t kTag = 15;
  uint64_t proposal_id = 0;
  bool operator==(const ApproveValidator&) const = default;
};

using Payload = std::variant<Transfer, Stake, Unstake, RegisterMiner, UpdateMiner, RegisterModel, SubmitTask,
                             SubmitResult, CancelTask, Verdict, CommitWeights, RevealWeights, Evidence,
                             ProposeValidator, ApproveValidator>;

std::string payload_name(const Payload& p);

class Writer;
class Reader;
void encode_payload(Writer& w, const Payload& p);
Payload read_payload(Reader& r);

// Field codecs shared with contract state that embeds these structs.
void encode_sampling(Writer& w, const SamplingParams& p);
SamplingParams read_sampling(Reader& r);
void encode_result_receipt(Writer& w, const ResultReceipt& rc);
ResultReceipt read_result_receipt(Reader& r);
void encode_profile(Writer& w, const MinerProfile& p);
MinerProfile read_profile(Reader& r);
Hash sampling_params_hash(const SamplingParams& p);
Hash output_tokens_hash(const std::vector<uint32_t>& tokens);
void encode_vote(Writer& w, const SignedVote& v);
// The commitment a validator publishes before revealing its weights.
Hash weights_commit_hash(const Address& sender, uint64_t epoch, const std::vector<WeightEntry>& weights, const Hash& salt);

}  // namespace ig::chain
