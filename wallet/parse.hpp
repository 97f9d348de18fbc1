// Strict parsing of user-typed values: amounts and counters (plain base-10 u64, nothing else),
// addresses (ig1... bech32m), chain ids, memos and 32-byte secrets in hex. Every failure is an
// error whose message says what was wrong with which input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "chain/address.hpp"
#include "chain/amount.hpp"
#include "chain/bytes.hpp"
#include "common/expected.hpp"

namespace ig::wallet {

// Digits only: no sign, no spaces, no exponent, no hex, no leading zeros except "0" itself;
// at most 2^64-1. `what` names the value in the message ("amount", "--fee"). Code "arg.invalid".
Expected<uint64_t> parse_u64(std::string_view text, std::string_view what);
inline Expected<chain::Amount> parse_amount(std::string_view text, std::string_view what = "amount") {
  return parse_u64(text, what);
}

// Code "arg.bad_address"; the message gives the decoder's reason ("checksum does not match",
// "payload must be 32 bytes", ...), or says that the text does not start with "ig1".
Expected<chain::Address> parse_address(std::string_view text);

// Whether `text` was evidently meant as an address: it starts with "ig1" (either case) or is
// well-formed bech32m with some other prefix. Arguments that take "a key name or an address"
// use it to report a mistyped address as one, instead of as an unknown key name.
bool looks_like_address(std::string_view text);

// Codes "arg.bad_chain_id" / "arg.bad_memo": non-empty printable ASCII chain id of at most
// kMaxChainIdBytes; memo of at most kMaxMemoBytes.
Status validate_chain_id(std::string_view chain_id);
Status validate_memo(std::string_view memo);

// 64 hex digits (optional 0x, surrounding whitespace ignored) of a valid secp256k1 secret key.
// Code "arg.bad_secret"; the message never echoes the input.
Expected<chain::SecretKey> parse_secret_hex(std::string_view text);

// 32-byte hash in hex. Code "arg.bad_hash".
Expected<chain::Hash> parse_hash_hex(std::string_view text);

// "text" in double quotes, cut to `max` characters, for error messages.
std::string quoted(std::string_view text, size_t max = 100);

}  // namespace ig::wallet
