// Model ids and hex text for receipts and result files. SHA-256 itself, the Merkle tree and
// the receipt's own hashes (prompt_hash, output_hash) are in common/.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"
#include "common/sha256.hpp"
#include "inference/gguf/gguf.hpp"

namespace ig::receipt {

// The on-chain model id: SHA-256 of the whole GGUF file as opened (File::image_sha256, so a
// model's in-place weight layout does not change it).
ig::Hash32 model_id(const gguf::File& file);

// Lower-case hex.
std::string to_hex(std::span<const uint8_t> bytes);
// Even-length hex (either case) to bytes. Error "result.bad_hex".
Expected<std::vector<uint8_t>> bytes_from_hex(std::string_view hex);
// Exactly 64 hex digits. Error "result.bad_hex".
Expected<ig::Hash32> hash_from_hex(std::string_view hex);

}  // namespace ig::receipt
