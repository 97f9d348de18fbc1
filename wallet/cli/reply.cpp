#include "wallet/cli/reply.hpp"

#include "wallet/parse.hpp"

namespace ig::wallet::cli {

using json = nlohmann::json;

std::string json_type_words(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer: return v.get<int64_t>() < 0 ? "a negative number" : "a number";
    case json::value_t::number_unsigned: return "a number";
    case json::value_t::number_float: return "a fractional number";
    default: return "not a JSON value";
  }
}

Unexpected ReplyReader::bad(const std::string& why) const {
  return fail("rpc.bad_reply", "malformed reply from node to " + method_ + ": " + why);
}

Unexpected ReplyReader::wrong_type(const json& v, const std::string& name, const char* expected) const {
  return bad("field '" + name + "' is " + json_type_words(v) + ", expected " + expected);
}

Status ReplyReader::object(const json& v, const std::string& what) const {
  if (!v.is_object()) return bad(what + " is " + json_type_words(v) + ", expected an object");
  return {};
}

Status ReplyReader::array(const json& v, const std::string& what) const {
  if (!v.is_array()) return bad(what + " is " + json_type_words(v) + ", expected an array");
  return {};
}

namespace {

// "events[2]." -> "events[2]"; "" -> "result".
std::string container_name(const std::string& where) {
  if (where.empty()) return "result";
  return where.back() == '.' ? where.substr(0, where.size() - 1) : where;
}

}  // namespace

Expected<const json*> ReplyReader::present(const json& obj, const std::string& key, const std::string& where) const {
  if (!obj.is_object()) return bad(container_name(where) + " is " + json_type_words(obj) + ", expected an object");
  auto it = obj.find(key);
  if (it == obj.end()) return bad("field '" + where + key + "' missing");
  return &*it;
}

Expected<std::string> ReplyReader::string(const json& obj, const std::string& key, const std::string& where) const {
  IG_TRY_ASSIGN(v, present(obj, key, where));
  if (!v->is_string()) return wrong_type(*v, where + key, "a string");
  return v->get<std::string>();
}

Expected<uint64_t> ReplyReader::uint(const json& obj, const std::string& key, const std::string& where) const {
  IG_TRY_ASSIGN(v, present(obj, key, where));
  if (!v->is_number_unsigned()) return wrong_type(*v, where + key, "a non-negative integer");
  return v->get<uint64_t>();
}

Expected<uint64_t> ReplyReader::amount(const json& obj, const std::string& key, const std::string& where) const {
  IG_TRY_ASSIGN(v, present(obj, key, where));
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_string()) {
    auto parsed = parse_u64(v->get<std::string>(), key);
    if (parsed) return *parsed;
    return bad("field '" + where + key + "' is not a decimal amount: " + parsed.error().message);
  }
  return wrong_type(*v, where + key, "a decimal amount");
}

Expected<bool> ReplyReader::boolean(const json& obj, const std::string& key, const std::string& where) const {
  IG_TRY_ASSIGN(v, present(obj, key, where));
  if (!v->is_boolean()) return wrong_type(*v, where + key, "true or false");
  return v->get<bool>();
}

Status ReplyReader::object_field(const json& obj, const std::string& key, const std::string& where) const {
  IG_TRY_ASSIGN(v, present(obj, key, where));
  if (!v->is_object()) return wrong_type(*v, where + key, "an object");
  return {};
}

Status ReplyReader::array_field(const json& obj, const std::string& key, const std::string& where) const {
  IG_TRY_ASSIGN(v, present(obj, key, where));
  if (!v->is_array()) return wrong_type(*v, where + key, "an array");
  return {};
}

Status ReplyReader::optional_string(const json& obj, const std::string& key, const std::string& where) const {
  if (!obj.is_object()) return bad(container_name(where) + " is " + json_type_words(obj) + ", expected an object");
  auto it = obj.find(key);
  if (it != obj.end() && !it->is_string()) return wrong_type(*it, where + key, "a string");
  return {};
}

}  // namespace ig::wallet::cli
