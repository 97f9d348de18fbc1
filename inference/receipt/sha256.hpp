// The hashes the receipt commits to (SHA-256 itself is common/sha256.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/expected.hpp"
#include "common/sha256.hpp"
#include "inference/gguf/gguf.hpp"

namespace ig::receipt {

using Digest = ig::Hash32;
using ig::sha256;

// Token ids as consecutive little-endian u32.
Digest token_hash(std::span<const int32_t> ids);
// The on-chain model id: SHA-256 of the whole GGUF file.
Digest model_id(const gguf::File& file);

std::string to_hex(std::span<const uint8_t> bytes);
Expected<Digest> digest_from_hex(std::string_view hex);

}  // namespace ig::receipt
