// Strict parsing of the values that settlement transactions carry: roles, 32-bit counts,
// decimals stored in milli-units, weight lists, model ids (typed or hashed from a GGUF file),
// consensus keys, double-sign evidence files, verdict reasons and step-evidence files. Every failure is code "arg.*" with a message
// naming the option and what was wrong.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "chain/payloads.hpp"
#include "common/expected.hpp"

namespace ig::wallet {

// "validator" or "miner". Code "arg.bad_role".
Expected<chain::StakeRole> parse_role(std::string_view text);

// parse_u64 bounded to 2^32-1. Code "arg.invalid".
Expected<uint32_t> parse_u32(std::string_view text, std::string_view what);

// A non-negative decimal with at most three fraction digits ("0.7", "1", "0.125") as a whole
// number of thousandths; no sign, exponent or spaces. Code "arg.invalid".
Expected<uint32_t> parse_milli(std::string_view text, std::string_view what);
// parse_milli within (0, 1]: top-p 1 means "off".
Expected<uint32_t> parse_top_p(std::string_view text);

// "UID:W[,UID:W...]" with uid and weight each in 0..65535, each uid once; returned in
// ascending uid order (the order a reveal must list them in). Code "arg.bad_weights".
Expected<std::vector<chain::WeightEntry>> parse_weights(std::string_view text);
std::string weights_to_string(const std::vector<chain::WeightEntry>& weights);

// A model id as 64 hex digits. Code "arg.bad_model_id".
Expected<chain::Hash> parse_model_id(std::string_view text);
// The model id of a GGUF file: SHA-256 of its bytes, read in chunks. Code "arg.model_file".
Expected<chain::Hash> model_id_of_file(const std::string& path);

// A 32-byte x-only secp256k1 public key in hex. Code "arg.bad_key".
Expected<chain::PublicKey> parse_consensus_key(std::string_view text);

// Non-empty printable ASCII of at most kMaxNameBytes (names, architectures, GPU classes).
// Code "arg.bad_name".
Status validate_label(std::string_view text, std::string_view what);

// Evidence of a double sign: {"a": VOTE, "b": VOTE} or [VOTE, VOTE], each VOTE
// {"type":1|2,"height":N,"round":N,"block_hash":HEX,"validator":HEX,"signature":HEX}.
// Only the shape is checked here; the chain checks the signatures. Code "arg.bad_evidence".
Expected<chain::Evidence> parse_evidence(std::string_view json_text);

// A verdict's step evidence (the shape chain_getTx shows it in):
//   {"claimed": FP, "proof": {"index": N, "leaf_count": N, "siblings": [HEX32, ...]}, "recomputed": FP}
// with FP {"token": I32, "logit_q": I32, "runner_up_q": I32}. Only the shape is checked here;
// the chain checks the proof against the task's receipt. Code "arg.bad_evidence".
Expected<chain::StepEvidence> parse_step_evidence(std::string_view json_text);

// A verdict reason: 1..64 bytes of a-z 0-9 . _ (e.g. verify.token_mismatch). Code "arg.invalid".
Status validate_reason(std::string_view reason);

}  // namespace ig::wallet
