#include "wallet/parse.hpp"

#include <openssl/crypto.h>

#include <algorithm>

#include "chain/tx.hpp"  // kMaxMemoBytes, kMaxChainIdBytes

namespace ig::wallet {

std::string quoted(std::string_view text, size_t max) {
  std::string q;
  q.reserve(std::min(text.size(), max) + 2);
  q.push_back('"');
  q.append(text.substr(0, max));
  q.push_back('"');
  return q;
}

Expected<uint64_t> parse_u64(std::string_view text, std::string_view what) {
  const std::string name(what);
  auto bad = [&](const std::string& why) {
    return fail("arg.invalid", name + " " + quoted(text, 40) + " " + why);
  };
  if (text.empty()) return fail("arg.invalid", name + " is empty");
  if (text[0] == '-') return bad("is negative; it must be a whole number of base units");
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return bad("is not a plain whole number (digits 0-9 only)");
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    auto times10 = chain::checked_mul(v, 10);
    auto next = times10 ? chain::checked_add(*times10, digit) : std::nullopt;
    if (!next) return bad("is larger than the maximum 18446744073709551615");
    v = *next;
  }
  if (text.size() > 1 && text[0] == '0') return bad("has a leading zero");
  return v;
}

bool looks_like_address(std::string_view text) {
  if (text.size() >= 3 && (text[0] == 'i' || text[0] == 'I') && (text[1] == 'g' || text[1] == 'G') && text[2] == '1')
    return true;
  return chain::bech32m_decode(text).has_value();
}

Expected<chain::Address> parse_address(std::string_view text) {
  auto a = chain::address_from_string(text);
  if (a) return *a;
  // For "bob" the decoder would complain about a missing checksum, which hides the point.
  const std::string why = looks_like_address(text) ? a.error().message : "it does not start with \"ig1\"";
  return fail("arg.bad_address", quoted(text) + " is not a valid ig1 address: " + why);
}

Status validate_chain_id(std::string_view chain_id) {
  if (chain_id.empty() || chain_id.size() > chain::kMaxChainIdBytes)
    return fail("arg.bad_chain_id", "chain id must be 1 to " + std::to_string(chain::kMaxChainIdBytes) + " characters");
  for (char c : chain_id)
    if (c <= ' ' || c > '~') return fail("arg.bad_chain_id", "chain id must be printable ASCII without spaces");
  return {};
}

Status validate_memo(std::string_view memo) {
  if (memo.size() > chain::kMaxMemoBytes)
    return fail("arg.bad_memo", "memo is " + std::to_string(memo.size()) + " bytes; the limit is " +
                                    std::to_string(chain::kMaxMemoBytes));
  return {};
}

Expected<chain::SecretKey> parse_secret_hex(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  auto bytes = chain::from_hex(text);
  if (!bytes || bytes->size() != 32) {
    if (bytes) OPENSSL_cleanse(bytes->data(), bytes->size());
    return fail("arg.bad_secret", "a secret key is 64 hex digits (32 bytes)");
  }
  auto key = chain::SecretKey::from_bytes(*bytes);
  OPENSSL_cleanse(bytes->data(), bytes->size());
  if (!key) return fail("arg.bad_secret", "not a valid secp256k1 secret key (zero or not below the curve order)");
  return std::move(*key);
}

Expected<chain::Hash> parse_hash_hex(std::string_view text) {
  auto h = chain::from_hex_fixed<32>(text);
  if (!h) return fail("arg.bad_hash", quoted(text, 80) + " is not a 32-byte hex hash");
  return *h;
}

}  // namespace ig::wallet
