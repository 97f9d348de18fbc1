// Transaction payloads: one struct per transaction kind, each with a fixed u8 tag.
//
// chain/ only encodes, decodes and routes them; what they do is the Application's business
// (contracts/). A new kind takes a new tag; a tag is never reused.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "chain/address.hpp"
#include "chain/amount.hpp"
#include "common/inference_receipt.hpp"
#include "common/sampling.hpp"

namespace ig::chain {

// Caps on variable-length payload fields (the codec rejects anything larger).
inline constexpr size_t kMaxMemoBytes = 256;
inline constexpr size_t kMaxNameBytes = 64;
inline constexpr size_t kMaxPromptBytes = 16384;
inline constexpr size_t kMaxOutputTokens = 4096;
inline constexpr size_t kMaxServedModels = 32;
inline constexpr size_t kMaxWeights = 4096;
inline constexpr size_t kMaxResultTextBytes = 64 << 10;  // the detokenized output of a result
inline constexpr size_t kMaxReasonBytes = 64;             // a verdict's reason code
inline constexpr size_t kMaxProofSiblings = 64;           // a Merkle path over at most 2^64 leaves

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

// Sampling parameters: the one definition shared with the inference engine (common/sampling.hpp),
// so the task's params_hash and the receipt's are the same bytes.
using SamplingParams = ig::SamplingParams;

struct SubmitTask {
  static constexpr uint8_t kTag = 7;
  Hash model_id{};
  std::string prompt;
  SamplingParams params;
  Amount max_fee = 0;  // escrowed until the task settles
  bool operator==(const SubmitTask&) const = default;
};

// A miner's result: everything a verifier needs to re-check it from what the chain holds.
// The per-step fingerprints travel here (and stay in the block, not in contract state), so a
// verifier that restarts fetches them with chain_getTx; the receipt commits to their Merkle root.
// `text` is the detokenized output (valid UTF-8; the engine replaces an invalid or cut-off
// sequence with U+FFFD), which the chain cannot check against the tokens (it has no tokenizer):
// verifiers do, and reject with reason "verify.text_mismatch".
struct SubmitResult {
  static constexpr uint8_t kTag = 8;
  uint64_t task_id = 0;
  std::vector<uint32_t> output_tokens;
  std::vector<ig::Fingerprint> fingerprints;  // one per output token, step order
  std::string text;
  ig::InferenceReceipt receipt;               // carried as its canonical bytes (common/inference_receipt.hpp)
  bool operator==(const SubmitResult&) const = default;
};

struct CancelTask {
  static constexpr uint8_t kTag = 9;
  uint64_t task_id = 0;
  bool operator==(const CancelTask&) const = default;
};

// What a rejecting validator proves about one step: the miner's own fingerprint at
// first_bad_step (with its Merkle path to the receipt's fingerprint_root) and the fingerprint
// the validator recomputed there. The chain checks the path and that the two differ; whether
// the recomputation is right is what the other validators' verdicts decide.
struct StepEvidence {
  ig::Fingerprint claimed;
  ig::MerkleProof proof;
  ig::Fingerprint recomputed;
  bool operator==(const StepEvidence& o) const {
    return claimed == o.claimed && recomputed == o.recomputed && proof.index == o.proof.index &&
           proof.leaf_count == o.proof.leaf_count && proof.siblings == o.proof.siblings;
  }
};

// Reasons a verifier rejects with that the chain cannot check from its own data; only these
// may come without StepEvidence, and they count through the >2/3 rule alone.
inline constexpr std::string_view kReasonTextMismatch = "verify.text_mismatch";  // text is not the tokens' detokenization
inline constexpr std::string_view kReasonStopRule = "verify.stop_rule";          // stopped too early or went on past the end
// The whole output's logits drift from the verifier's beyond the honest noise between backends
// (a statistical test, docs/verification.md): no single step shows it, so no step can prove it.
inline constexpr std::string_view kReasonLogitDrift = "verify.logit_drift";
inline bool reason_needs_no_evidence(std::string_view reason) {
  return reason == kReasonTextMismatch || reason == kReasonStopRule || reason == kReasonLogitDrift;
}

struct Verdict {
  static constexpr uint8_t kTag = 10;
  uint64_t task_id = 0;
  bool accept = true;
  uint32_t first_bad_step = 0;  // 0 on an accept
  std::string reason;           // "" or a code of [a-z0-9._], e.g. "verify.token_mismatch"; required on a reject
  std::optional<StepEvidence> evidence;  // never on an accept
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
// Sampling parameters: ig::encode_sampling_params' 24 bytes, unprefixed.
void encode_sampling(Writer& w, const SamplingParams& p);
SamplingParams read_sampling(Reader& r);
// An inference receipt: u32 length + ig::encode_receipt's bytes (at most ig::kMaxReceiptBytes);
// bytes that ig::decode_receipt refuses are the reader error "codec.bad_receipt".
void encode_inference_receipt(Writer& w, const ig::InferenceReceipt& rc);
ig::InferenceReceipt read_inference_receipt(Reader& r);
// A fingerprint: token i32 | logit_q i32 | runner_up_q i32 (12 bytes, little-endian).
void encode_fingerprint(Writer& w, const ig::Fingerprint& f);
ig::Fingerprint read_fingerprint(Reader& r);
void encode_profile(Writer& w, const MinerProfile& p);
MinerProfile read_profile(Reader& r);
// SHA-256 of the parameters' canonical bytes: ig::sampling_params_hash itself.
using ig::sampling_params_hash;

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points beyond
// U+10FFFF): what prompts and result texts must be, so every JSON view can show them as-is.
bool is_valid_utf8(std::string_view text);
// "" when `reason` is a well-formed verdict reason (1..64 bytes of a-z 0-9 . _), else why not.
std::string reason_problem(std::string_view reason);
void encode_vote(Writer& w, const SignedVote& v);
// The commitment a validator publishes before revealing its weights.
Hash weights_commit_hash(const Address& sender, uint64_t epoch, const std::vector<WeightEntry>& weights, const Hash& salt);

}  // namespace ig::chain
