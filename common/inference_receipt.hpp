// The inference receipt: what a miner's result commits to, in one format produced by the
// engine (inference/receipt), carried verbatim in a SubmitResult (chain/payloads) and checked
// by `infergrid-infer verify` and the verifier worker. Integers only: no float in a receipt.
//
// Per generated step a fingerprint (the chosen token, its logit and the runner-up logit in
// fixed point with 16 fractional bits, see inference/receipt/fingerprint.hpp for the
// quantization); the fingerprints are the leaves of common/merkle.hpp's tree:
//   leaf bytes (16, LE): step u32 | token i32 | logit_q i32 | runner_up_q i32
//   leaf hash = merkle_leaf(leaf bytes) = SHA-256(0x00 || leaf bytes)
//
// Canonical receipt bytes (little-endian):
//   off  size  field
//     0     4  magic "IGRC"
//     4     1  version (2)
//     5    32  model_id          SHA-256 of the GGUF file
//    37    32  prompt_hash       SHA-256 of the prompt text (UTF-8), as the chain hashes it
//    69    32  params_hash       sampling_params_hash (common/sampling.hpp)
//   101    32  output_hash       SHA-256 of the output token ids as u32 LE
//   133    32  fingerprint_root  Merkle root over the steps' fingerprints
//   165     4  steps             u32, the number of output tokens
//   169     1  backend length n  1..32
//   170     n  backend           which backend and numerics revision produced it, e.g. "cpu/1"
// receipt id = SHA-256 of these bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"
#include "common/merkle.hpp"
#include "common/sha256.hpp"

namespace ig {

struct Fingerprint {
  int32_t token = -1;
  int32_t logit_q = 0;      // logit * 65536, rounded half away from zero, clamped
  int32_t runner_up_q = 0;  // the largest logit of any other token, likewise
  bool operator==(const Fingerprint&) const = default;
};

Hash32 fingerprint_leaf(uint32_t step, const Fingerprint& f);
std::vector<Hash32> fingerprint_leaves(std::span<const Fingerprint> fps);
Hash32 fingerprint_root(std::span<const Fingerprint> fps);

inline constexpr uint8_t kReceiptVersion = 2;
inline constexpr size_t kMaxBackendBytes = 32;
inline constexpr size_t kMaxReceiptBytes = 170 + kMaxBackendBytes;

struct InferenceReceipt {
  Hash32 model_id{};
  Hash32 prompt_hash{};
  Hash32 params_hash{};
  Hash32 output_hash{};
  Hash32 fingerprint_root{};
  uint32_t steps = 0;
  std::string backend;  // 1..32 bytes of [a-z0-9._/-]
  bool operator==(const InferenceReceipt&) const = default;
};

std::vector<uint8_t> encode_receipt(const InferenceReceipt& r);
// Errors: "receipt.bad_length", "receipt.bad_magic", "receipt.bad_version", "receipt.bad_backend".
Expected<InferenceReceipt> decode_receipt(std::span<const uint8_t> bytes);
Hash32 receipt_id(const InferenceReceipt& r);

// Why `backend` is not a valid backend tag, or "" when it is.
std::string backend_problem(std::string_view backend);

Hash32 prompt_hash(std::string_view prompt_text);
Hash32 output_hash(std::span<const uint32_t> tokens);

}  // namespace ig
