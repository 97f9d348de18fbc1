// A receipt with what is needed to check it: prompt and output ids and the
// per-step fingerprints (the Merkle leaves). This is what a miner submits and
// what `infergrid-infer verify` reads, as JSON:
//   { "receipt": "<hex of the 161 canonical bytes>",      (authoritative)
//     "receipt_id": "<hex>", "model_id": "<hex>", ...      (informational copies)
//     "prompt": "text" (optional), "prompt_ids": [..], "output_ids": [..],
//     "fingerprints": [[token, logit_q, runner_up_q], ..] }
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/expected.hpp"
#include "inference/engine/generator.hpp"
#include "inference/receipt/receipt.hpp"

namespace ig::receipt {

struct Bundle {
  Receipt receipt;
  std::string prompt_text;  // informational
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> output_ids;
  std::vector<Fingerprint> fingerprints;
};

// What a miner submits for a finished generation: fingerprints of every step,
// the receipt over them, and the ids. model_id: receipt::model_id(file),
// computed once per model (it hashes the whole file).
Bundle seal(const Digest& model_id, std::span<const int32_t> prompt_ids,
            const engine::SamplingParams& params, const engine::Generation& gen,
            std::string prompt_text = {});

nlohmann::json to_json(const Bundle& b);
Expected<Bundle> bundle_from_json(const nlohmann::json& j);
Expected<Bundle> read_bundle(const std::string& path);
Status write_bundle(const std::string& path, const Bundle& b);

}  // namespace ig::receipt
