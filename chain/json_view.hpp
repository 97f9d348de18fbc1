// JSON views of chain values, for RPC replies, the wallet's output and files. JSON never reaches a hash or a signature:
// the canonical codec does. Amounts are decimal strings (u64 does not fit a JSON double).
#pragma once

#include <nlohmann/json.hpp>

#include "chain/block.hpp"
#include "chain/genesis.hpp"

namespace ig::chain {

using json = nlohmann::json;

json payload_to_json(const Payload& p);
json tx_to_json(const Transaction& tx);
json header_to_json(const BlockHeader& h);
json commit_to_json(const Commit& c);
json block_to_json(const Block& b, bool full_txs);
json event_to_json(const Event& e);
json receipt_to_json(const Receipt& r);
json params_to_json(const ChainParams& p);
json validator_to_json(const Validator& v);
json sampling_to_json(const SamplingParams& p);
// {"model_id", "prompt_hash", "params_hash", "output_hash", "fingerprint_root" (hex), "steps",
//  "backend", "receipt_id" (hex SHA-256 of the canonical bytes)}
json inference_receipt_to_json(const ig::InferenceReceipt& r);
// {"token", "logit_q", "runner_up_q"} (integers)
json fingerprint_to_json(const ig::Fingerprint& f);
// {"claimed": fingerprint, "proof": {"index", "leaf_count", "siblings": [hex]}, "recomputed": fingerprint}
json step_evidence_to_json(const StepEvidence& e);

}  // namespace ig::chain
