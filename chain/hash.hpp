// SHA-256 (OpenSSL) and the domain-separated message hash every signature covers (DESIGN §3).
#pragma once

#include <string_view>

#include "chain/bytes.hpp"

namespace ig::chain {

Hash sha256(ByteView data);
Hash sha256(ByteView a, ByteView b);  // H(a || b) without concatenating

// Incremental hasher for long or many-part inputs.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256& update(ByteView data);
  Hash finish();

 private:
  void* ctx_;  // EVP_MD_CTX, kept opaque so OpenSSL headers stay out of ours
};

// Domain tags: a signature made for one purpose can never be replayed for another.
inline constexpr std::string_view kTagTx = "infergrid/tx/v1";
inline constexpr std::string_view kTagVote = "infergrid/vote/v1";
inline constexpr std::string_view kTagBlock = "infergrid/block/v1";

// SHA-256(len-prefixed tag || len-prefixed chain id || body).
Hash signing_hash(std::string_view tag, std::string_view chain_id, ByteView body);

}  // namespace ig::chain
