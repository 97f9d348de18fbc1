// SHA-256 (OpenSSL EVP) and the hashes the receipt commits to.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/expected.hpp"
#include "inference/gguf/gguf.hpp"

namespace ig::receipt {

using Digest = std::array<uint8_t, 32>;

Digest sha256(std::span<const uint8_t> bytes);
// Token ids as consecutive little-endian u32.
Digest token_hash(std::span<const int32_t> ids);
// The on-chain model id: SHA-256 of the whole GGUF file.
Digest model_id(const gguf::File& file);

std::string to_hex(std::span<const uint8_t> bytes);
Expected<Digest> digest_from_hex(std::string_view hex);

}  // namespace ig::receipt
