// The domain-separated message hash every signature covers (DESIGN §3); SHA-256 itself is
// common/sha256.hpp.
#pragma once

#include <string_view>

#include "chain/bytes.hpp"
#include "common/sha256.hpp"

namespace ig::chain {

using ig::sha256;
using ig::Sha256;

// Domain tags: a signature made for one purpose can never be replayed for another.
inline constexpr std::string_view kTagTx = "infergrid/tx/v1";
inline constexpr std::string_view kTagVote = "infergrid/vote/v1";
inline constexpr std::string_view kTagBlock = "infergrid/block/v1";

// SHA-256(len-prefixed tag || len-prefixed chain id || body).
Hash signing_hash(std::string_view tag, std::string_view chain_id, ByteView body);

}  // namespace ig::chain
