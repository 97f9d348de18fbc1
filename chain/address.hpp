// Account addresses: the 32-byte x-only public key in bech32m (BIP-350) with human part "ig".
#pragma once

#include <string>
#include <string_view>

#include "chain/keys.hpp"

namespace ig::chain {

inline constexpr std::string_view kAddressHrp = "ig";

using Address = PublicKey;

std::string address_to_string(const Address& a);
// Accepts only bech32m with the "ig" prefix and a 32-byte payload (either case, not mixed).
Expected<Address> address_from_string(std::string_view s);

// Generic bech32m, exposed for tests against the BIP-350 vectors.
std::string bech32m_encode(std::string_view hrp, ByteView data5);  // data in 5-bit groups
struct Bech32Decoded {
  std::string hrp;
  Bytes data5;
};
Expected<Bech32Decoded> bech32m_decode(std::string_view s);
Expected<Bytes> convert_bits(ByteView in, int from_bits, int to_bits, bool pad);

}  // namespace ig::chain
