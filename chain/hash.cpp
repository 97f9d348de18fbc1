#include "chain/hash.hpp"

#include "chain/codec.hpp"

namespace ig::chain {

Hash signing_hash(std::string_view tag, std::string_view chain_id, ByteView body) {
  Writer prefix;
  prefix.str(tag);
  prefix.str(chain_id);
  Sha256 s;
  s.update(prefix.data()).update(body);
  return s.finish();
}

}  // namespace ig::chain
