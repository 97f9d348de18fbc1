#include "chain/address.hpp"

#include <array>
#include <cctype>

namespace ig::chain {

namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr uint32_t kBech32mConst = 0x2bc830a3;

// BIP-173's generator terms, XOR-ed together for each possible top 5 bits of the checksum,
// so one step is a table lookup instead of five conditional XORs.
constexpr std::array<uint32_t, 32> kGenByTop = [] {
  constexpr uint32_t kGen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  std::array<uint32_t, 32> t{};
  for (uint32_t top = 0; top < 32; ++top)
    for (int i = 0; i < 5; ++i)
      if ((top >> i) & 1) t[top] ^= kGen[i];
  return t;
}();

uint32_t polymod_step(uint32_t chk, uint8_t v) {
  return ((chk & 0x1ffffff) << 5 ^ v) ^ kGenByTop[chk >> 25];
}

// The checksum state after the expanded human part, without building the expansion.
uint32_t polymod_hrp(std::string_view hrp) {
  uint32_t chk = 1;
  for (char c : hrp) chk = polymod_step(chk, static_cast<uint8_t>(c) >> 5);
  chk = polymod_step(chk, 0);
  for (char c : hrp) chk = polymod_step(chk, static_cast<uint8_t>(c) & 31);
  return chk;
}

int charset_index(char c) {
  for (int i = 0; i < 32; ++i)
    if (kCharset[i] == c) return i;
  return -1;
}

}  // namespace

// Streams the checksum instead of building the value list: every receipt event names its
// addresses, so this runs several times per executed transaction.
std::string bech32m_encode(std::string_view hrp, ByteView data5) {
  uint32_t chk = polymod_hrp(hrp);
  for (uint8_t d : data5) chk = polymod_step(chk, d);
  for (int i = 0; i < 6; ++i) chk = polymod_step(chk, 0);
  uint32_t mod = chk ^ kBech32mConst;
  std::string out;
  out.reserve(hrp.size() + 1 + data5.size() + 6);
  out.append(hrp);
  out.push_back('1');
  for (uint8_t d : data5) out.push_back(kCharset[d]);
  for (int i = 0; i < 6; ++i) out.push_back(kCharset[(mod >> (5 * (5 - i))) & 31]);
  return out;
}

Expected<Bech32Decoded> bech32m_decode(std::string_view s) {
  if (s.size() > 90) return fail("bech32.length", "bech32m string longer than 90 characters");
  bool lower = false, upper = false;
  for (char c : s) {
    if (c < 33 || c > 126) return fail("bech32.char", "character outside the printable ASCII range");
    lower |= std::islower(static_cast<unsigned char>(c)) != 0;
    upper |= std::isupper(static_cast<unsigned char>(c)) != 0;
  }
  if (lower && upper) return fail("bech32.mixed_case", "bech32m string mixes upper and lower case");
  size_t sep = s.rfind('1');
  if (sep == std::string_view::npos || sep == 0 || sep + 7 > s.size())
    return fail("bech32.separator", "missing separator, empty human part or checksum too short");
  std::string hrp;
  for (char c : s.substr(0, sep)) hrp.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  Bytes data;
  for (char c : s.substr(sep + 1)) {
    int v = charset_index(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (v < 0) return fail("bech32.char", std::string("invalid data character '") + c + "'");
    data.push_back(static_cast<uint8_t>(v));
  }
  uint32_t chk = polymod_hrp(hrp);
  for (uint8_t d : data) chk = polymod_step(chk, d);
  if (chk != kBech32mConst) return fail("bech32.checksum", "bech32m checksum does not match");
  data.resize(data.size() - 6);
  return Bech32Decoded{hrp, data};
}

Expected<Bytes> convert_bits(ByteView in, int from_bits, int to_bits, bool pad) {
  uint32_t acc = 0;
  int bits = 0;
  const uint32_t maxv = (1u << to_bits) - 1;
  Bytes out;
  for (uint8_t v : in) {
    if (v >> from_bits) return fail("bech32.bits", "value does not fit in the source bit width");
    acc = acc << from_bits | v;
    bits += from_bits;
    while (bits >= to_bits) {
      bits -= to_bits;
      out.push_back(static_cast<uint8_t>((acc >> bits) & maxv));
    }
  }
  if (pad) {
    if (bits) out.push_back(static_cast<uint8_t>((acc << (to_bits - bits)) & maxv));
  } else if (bits >= from_bits || ((acc << (to_bits - bits)) & maxv)) {
    return fail("bech32.padding", "non-zero or excess padding bits");
  }
  return out;
}

std::string address_to_string(const Address& a) {
  auto data5 = convert_bits(a, 8, 5, true);
  return bech32m_encode(kAddressHrp, *data5);
}

Expected<Address> address_from_string(std::string_view s) {
  IG_TRY_ASSIGN(dec, bech32m_decode(s));
  if (dec.hrp != kAddressHrp) return fail("address.prefix", "address must start with \"ig1\", got prefix \"" + dec.hrp + "\"");
  IG_TRY_ASSIGN(raw, convert_bits(dec.data5, 5, 8, false));
  if (raw.size() != 32) return fail("address.length", "address payload must be 32 bytes");
  Address a{};
  std::copy(raw.begin(), raw.end(), a.begin());
  return a;
}

}  // namespace ig::chain
