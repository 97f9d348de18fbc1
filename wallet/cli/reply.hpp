// Reading a node's reply. The node is another program, possibly another version or not a node
// at all, so every field the wallet uses is checked for presence and type before it is read:
// a reply that does not fit is the error "rpc.bad_reply" (exit 1) with a message such as
//   malformed reply from node to tx_receipt: field 'status' missing
// never a placeholder printed as if it were data, and never a JSON exception.
//
//   ReplyReader rd("tx_receipt");
//   IG_TRY(rd.object(r));
//   IG_TRY_ASSIGN(status, rd.string(r, "status"));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/expected.hpp"

namespace ig::wallet::cli {

class ReplyReader {
 public:
  explicit ReplyReader(std::string method) : method_(std::move(method)) {}

  // "malformed reply from node to METHOD: WHY".
  Unexpected bad(const std::string& why) const;

  // `v` (named `what` in the message, e.g. "result" or "events[2]") is an object / array.
  Status object(const nlohmann::json& v, const std::string& what = "result") const;
  Status array(const nlohmann::json& v, const std::string& what = "result") const;

  // Field `key` of `obj`, which must be present and of the type named. `where` prefixes the
  // key in the message ("events[2]." gives "field 'events[2].type'").
  Expected<std::string> string(const nlohmann::json& obj, const std::string& key, const std::string& where = "") const;
  Expected<uint64_t> uint(const nlohmann::json& obj, const std::string& key, const std::string& where = "") const;
  // An amount: a decimal string (how the node writes them) or an unsigned integer.
  Expected<uint64_t> amount(const nlohmann::json& obj, const std::string& key, const std::string& where = "") const;
  Expected<bool> boolean(const nlohmann::json& obj, const std::string& key, const std::string& where = "") const;
  Status object_field(const nlohmann::json& obj, const std::string& key, const std::string& where = "") const;
  Status array_field(const nlohmann::json& obj, const std::string& key, const std::string& where = "") const;
  // May be absent; when present it must be a string.
  Status optional_string(const nlohmann::json& obj, const std::string& key, const std::string& where = "") const;

 private:
  Expected<const nlohmann::json*> present(const nlohmann::json& obj, const std::string& key, const std::string& where) const;
  Unexpected wrong_type(const nlohmann::json& v, const std::string& name, const char* expected) const;
  std::string method_;
};

// The JSON type of a value in words ("a string", "null", ...), for messages.
std::string json_type_words(const nlohmann::json& v);

}  // namespace ig::wallet::cli
