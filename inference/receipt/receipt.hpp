// The inference receipt and its canonical encoding (stored on chain).
//
// Canonical bytes, 161 in total, integers little-endian, floats as their
// IEEE-754 binary32 bit patterns:
//   off  size  field
//     0     4  magic "IGRC"
//     4     1  version (1)
//     5    32  model_id         SHA-256 of the GGUF file
//    37    32  prompt_hash      SHA-256 of the prompt token ids as u32 LE
//    69     4  max_tokens       u32
//    73     4  temperature      f32 bits (0 = greedy)
//    77     4  top_k            u32 (0 = no limit)
//    81     4  top_p            f32 bits
//    85     8  seed             u64
//    93    32  output_hash      SHA-256 of the output token ids as u32 LE
//   125    32  fingerprint_root Merkle root over the steps' fingerprints (merkle.hpp)
//   157     4  steps            u32, the number of output tokens
// receipt id = SHA-256 of these bytes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/expected.hpp"
#include "inference/engine/sampler.hpp"
#include "inference/receipt/fingerprint.hpp"
#include "inference/receipt/merkle.hpp"
#include "inference/receipt/sha256.hpp"

namespace ig::receipt {

inline constexpr uint8_t kReceiptVersion = 1;
inline constexpr size_t kReceiptBytes = 161;

struct Receipt {
  Digest model_id{};
  Digest prompt_hash{};
  engine::SamplingParams params;
  Digest output_hash{};
  Digest fingerprint_root{};
  uint32_t steps = 0;
  bool operator==(const Receipt& o) const;
};

std::vector<uint8_t> encode(const Receipt& r);
// Rejects wrong length, magic or version and invalid sampling parameters.
Expected<Receipt> decode(std::span<const uint8_t> bytes);
Digest receipt_id(const Receipt& r);

std::vector<Digest> leaf_hashes(std::span<const Fingerprint> fps);
Receipt make_receipt(const Digest& model_id, std::span<const int32_t> prompt,
                     const engine::SamplingParams& params, std::span<const int32_t> output,
                     std::span<const Fingerprint> fingerprints);

}  // namespace ig::receipt
