// A task's result: what a miner produces for one inference task and what a verifier checks.
//
// The receipt is ig::InferenceReceipt (common/inference_receipt.hpp), the exact bytes a
// SubmitResult carries on chain. Around it, a TaskResult holds what is needed to re-check
// it: the prompt text and parameters the receipt's hashes cover, the output ids, one
// fingerprint per output token (the Merkle leaves under receipt.fingerprint_root) and the
// detokenized text.
//
// Rules (the same for miner and verifier):
//  - Prompt: task_prompt_ids(). The receipt's prompt_hash is SHA-256 of the prompt TEXT
//    (UTF-8, as the chain hashes it); verifiers re-tokenize the text, `prompt_ids` is only
//    informational. The text must be valid UTF-8.
//  - Stop: generation ends on any of the model's end-of-generation ids (ModelConfig::eog_ids:
//    EOS, EOT, EOM and the end-of-turn tokens llama.cpp counts, e.g. <|eot_id|>, <|im_end|>;
//    included in the output) or after params.max_tokens tokens, whichever comes first. So an
//    output shorter than max_tokens ends with one of them, and no output continues past one.
//  - Text: output_text(): the tokenizer's decode of the output ids (control tokens such as
//    EOS render as nothing; SentencePiece keeps its pieces' spaces), then every byte that does
//    not begin a well-formed UTF-8 character (RFC 3629: no overlong forms, no surrogates,
//    at most U+10FFFF, complete) is replaced by U+FFFD. So `text` is always valid UTF-8 and
//    survives JSON unchanged, and every machine derives the same text from the same ids.
//  - Backend tag: backend_tag() = kernels::Backend::numerics() (kernels/kernels.hpp), e.g.
//    "cpu/3". A verifier with the same tag checks bit for bit, any other tolerantly
//    (verifier.hpp, mode_for).
//
// The result file (to_json; what `infergrid-infer generate --receipt` writes):
//   { "receipt": "<hex of the canonical receipt bytes>",       authoritative
//     "receipt_id": "<hex>",                                     SHA-256 of those bytes
//     "receipt_fields": { "model_id", "prompt_hash", "params_hash", "output_hash",
//                         "fingerprint_root" (hex), "steps", "backend" },   readable copies
//     "prompt": "text", "params": { "max_tokens", "temperature_milli", "top_k",
//                                   "top_p_milli", "seed" },
//     "prompt_ids": [..], "output": [..], "fingerprints": [[token, logit_q, runner_up_q], ..],
//     "text": "…", "prefill_seconds": s, "decode_seconds": s }
// Reading is strict: every field present with its type and range, the readable copies and
// receipt_id equal to what the receipt bytes say, no unknown field. Whether the fields agree
// with the receipt's hashes (prompt, params, output, root) is the verifier's question, not
// the parser's: a tampered but well-formed file is read, then rejected with a verdict.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/expected.hpp"
#include "common/inference_receipt.hpp"
#include "common/sampling.hpp"
#include "inference/engine/generator.hpp"
#include "inference/engine/model.hpp"
#include "inference/tokenizer/tokenizer.hpp"
#include "kernels/kernels.hpp"

namespace ig::receipt {

struct TaskResult {
  ig::InferenceReceipt receipt;
  std::string prompt;                        // the task's prompt text (what prompt_hash covers)
  ig::SamplingParams params;                 // the task's parameters (what params_hash covers)
  std::vector<uint32_t> prompt_ids;          // informational: verifiers re-tokenize `prompt`
  std::vector<uint32_t> output;              // generated ids (an EOS that stopped generation included)
  std::vector<ig::Fingerprint> fingerprints; // one per output token; Merkle root = receipt.fingerprint_root
  std::string text;                          // detokenized output (UTF-8), see output_text
  double prefill_seconds = 0, decode_seconds = 0;  // measurements, not committed
};

// THE rule for turning a task's prompt text into ids, the same as llama.cpp's default
// (llama_tokenize with add_special = true, parse_special = false): BOS first when the vocab's
// tokenizer.ggml.add_bos_token says so (absent: true for SentencePiece "llama" vocabs, and
// for llama3 BPE), EOS last only when add_eos_token is true, and text that looks like a
// control token ("<s>") is encoded as plain text. Errors: "task.bad_prompt" (not UTF-8, or no
// tokens at all), "task.no_tokenizer" / tokenizer errors when the model file has none.
Expected<std::vector<int32_t>> task_prompt_ids(const engine::Model& model, std::string_view prompt);

// Tokenizes, generates (stopping on the model's EOS or max_tokens), fingerprints every step,
// seals. on_token may return false to cancel: the result would break the stop rule, so that
// is the error "task.cancelled". Parameter problems are "sampler.bad_params"; a prompt that
// does not fit the context with max_tokens is "engine.context_full".
Expected<TaskResult> run_task(const engine::Model& model, const ig::Hash32& model_id, kernels::Backend& backend,
                              std::string_view prompt, const ig::SamplingParams& params,
                              const engine::TokenFn& on_token = nullptr);

// The same three with the model's tokenizer already built (tok::Tokenizer::from_gguf of
// model.file()), for callers that keep one per model: the calls above build it each time,
// which takes ~0.1 s for a 150k-token BPE vocabulary.
Expected<std::vector<int32_t>> task_prompt_ids(const tok::Tokenizer& tokenizer, std::string_view prompt);
Expected<TaskResult> run_task(const engine::Model& model, const tok::Tokenizer& tokenizer, const ig::Hash32& model_id,
                              kernels::Backend& backend, std::string_view prompt, const ig::SamplingParams& params,
                              const engine::TokenFn& on_token = nullptr);
Expected<std::string> output_text(const tok::Tokenizer& tokenizer, std::span<const uint32_t> output);

// run_task with the generation itself done by the caller (a miner decoding several tasks
// together, engine::BatchGenerator): `generate` gets the prompt ids and must apply the
// model's stop rule (eog_ids) and `params`, as engine::generate does. `backend_tag` is the
// numerics tag of the backend that runs it. Errors as run_task, plus the generator's.
using GenerateFn = std::function<Expected<engine::Generation>(std::span<const int32_t> prompt_ids)>;
Expected<TaskResult> run_task_with(const tok::Tokenizer& tokenizer, const ig::Hash32& model_id,
                                   const std::string& backend_tag, std::string_view prompt,
                                   const ig::SamplingParams& params, const GenerateFn& generate);

// The receipt's backend tag for results computed on `backend` (its numerics tag).
std::string backend_tag(const kernels::Backend& backend);

// The text rule above. Errors: tokenizer problems, an id outside the vocabulary
// ("tokenizer.bad_id").
Expected<std::string> output_text(const engine::Model& model, std::span<const uint32_t> output);
// The model's tokenizer, as the calls above build it. Error "task.no_tokenizer".
Expected<tok::Tokenizer> model_tokenizer(const engine::Model& model);
// The UTF-8 part of the text rule: well-formed characters kept, every other byte -> U+FFFD.
std::string sanitize_utf8(std::string_view bytes);
bool is_valid_utf8(std::string_view bytes);

// The receipt over these fields: prompt_hash of the text, params_hash, output_hash, the
// fingerprints' Merkle root, steps = output.size().
ig::InferenceReceipt make_receipt(const ig::Hash32& model_id, std::string_view prompt,
                                  const ig::SamplingParams& params, std::span<const uint32_t> output,
                                  std::span<const ig::Fingerprint> fingerprints, std::string backend);
// After editing a result's fields (tests; the devnet's clearly marked cheating miner):
// recomputes `text` from `output` and the receipt from the fields, keeping its model id
// and backend tag. Errors as output_text.
Status reseal(const engine::Model& model, TaskResult& result);

nlohmann::json to_json(const TaskResult& result);
// Strict (see above); never throws. Errors: "result.bad_bundle" (naming the field),
// "result.bad_hex", and the receipt decoder's "receipt.*".
Expected<TaskResult> task_result_from_json(const nlohmann::json& j);
// Errors as task_result_from_json, plus "result.io" and "result.bad_json"; files over
// kMaxResultFileBytes are refused unread.
Expected<TaskResult> read_task_result(const std::string& path);
// Writes PATH.tmp, syncs it and renames it over PATH, so a reader (or a restarted worker)
// sees the old file or the new one, never half of one. Error "result.io".
Status write_task_result(const std::string& path, const TaskResult& result);

inline constexpr size_t kMaxResultFileBytes = 64u << 20;

}  // namespace ig::receipt
