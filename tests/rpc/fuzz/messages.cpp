#include "messages.hpp"

#include <array>

namespace ig::rpc::fuzz {
namespace {

// Inputs that failed in public bug reports of JSON-RPC servers, or sit on a parser's edges.
const std::array<const char*, 40> kTokens = {
    "1e400", "-1e400", "1e999", "1E+99999", "-0", "0.0", "1.5", "1e2", "-1e-400",
    "18446744073709551616", "18446744073709551615", "-9223372036854775809", "-9223372036854775808",
    "9223372036854775807", "100000000000000000000000000000000000000000", "NaN", "Infinity",
    "\"\\ud800\"", "\"\\udfff\\ud800\"", "\"\\u0000\"", "\"\xff\xfe\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"",
    "null", "true", "false", "[]", "{}", "[[[[[[[[", "]]]]", "{\"a\":", ",", ":", "\"",
    "\"jsonrpc\"", "\"2.0\"", "\"id\"", "\"method\"", "\"params\"", "\x00"};

const std::array<const char*, 12> kSeeds = {
    R"({"jsonrpc":"2.0","id":1,"method":"rpc_methods"})",
    R"({"jsonrpc":"2.0","id":"a","method":"chain_head","params":[]})",
    R"({"jsonrpc":"2.0","method":"chain_head"})",
    R"([{"jsonrpc":"2.0","id":1,"method":"rpc_methods"},{"jsonrpc":"2.0","id":2,"method":"nope"}])",
    R"({"jsonrpc":"2.0","id":3,"method":"subscribe","params":["events",{"type":"transfer"}]})",
    R"({"jsonrpc":"2.0","id":4,"method":"subscribe","params":{"topic":"newHeads"}})",
    R"({"jsonrpc":"2.0","id":5,"method":"unsubscribe","params":["0x00"]})",
    R"({"jsonrpc":"2.0","id":6,"method":"chain_getBlock","params":[1,true]})",
    R"({"jsonrpc":"2.0","id":7,"method":"state_getAccount","params":["ig1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqs0ds2p"]})",
    R"({"jsonrpc":"2.0","id":8,"method":"tx_send","params":["00ff"]})",
    R"({"jsonrpc":"2.0","id":null,"method":"tx_receipt","params":{"hash":"0x00"}})",
    R"([])"};

}  // namespace

MessageGen::MessageGen(uint64_t seed, std::vector<std::string> methods)
    : rng_(seed), methods_(std::move(methods)) {
  if (methods_.empty()) methods_ = {"rpc_methods", "echo", "subscribe", "unsubscribe"};
}

std::string MessageGen::token() { return kTokens[rand(kTokens.size())]; }

std::string MessageGen::number() {
  switch (rand(6)) {
    case 0: return std::to_string(static_cast<int64_t>(rng_()));
    case 1: return std::to_string(rng_());
    case 2: return std::to_string(rand(100));
    case 3: return "1e" + std::to_string(rand(1000));
    case 4: return std::to_string(rand(1000)) + "." + std::to_string(rand(1000));
    default: return token();
  }
}

std::string MessageGen::string_literal() {
  static const char kChars[] = "abcxyz019 _-\\\"/\t\n\x01\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff";
  std::string s = "\"";
  size_t n = rand(4) == 0 ? rand(2000) : rand(24);
  for (size_t i = 0; i < n; ++i) {
    char c = kChars[rand(sizeof kChars - 1)];
    if (c == '\\' && rand(2)) {
      s += rand(2) ? "\\u00e9" : "\\ud83d\\ude00";
      continue;
    }
    s += c;
  }
  return s + "\"";
}

std::string MessageGen::value(int depth) {
  uint64_t kind = depth > 6 ? rand(4) : rand(7);
  switch (kind) {
    case 0: return number();
    case 1: return string_literal();
    case 2: return rand(3) == 0 ? "null" : (rand(2) ? "true" : "false");
    case 3: return token();
    case 4: {
      std::string s = "[";
      size_t n = rand(6);
      for (size_t i = 0; i < n; ++i) s += (i ? "," : "") + value(depth + 1);
      return s + "]";
    }
    default: {
      std::string s = "{";
      size_t n = rand(6);
      for (size_t i = 0; i < n; ++i) {
        s += (i ? "," : "") + (rand(3) ? std::string("\"k") + std::to_string(rand(10)) + "\"" : string_literal());
        s += ":" + value(depth + 1);
      }
      return s + "}";
    }
  }
}

std::string MessageGen::request() {
  std::string s = "{";
  bool first = true;
  auto field = [&](const std::string& key, const std::string& v) {
    s += (first ? "" : ",") + ("\"" + key + "\":" + v);
    first = false;
  };
  if (rand(10)) field("jsonrpc", rand(10) ? "\"2.0\"" : value(3));
  if (rand(5)) field("id", rand(3) ? number() : (rand(2) ? string_literal() : value(3)));
  if (rand(12)) field("method", rand(10) ? "\"" + methods_[rand(methods_.size())] + "\"" : value(3));
  if (rand(3)) field("params", value(1));
  if (rand(8) == 0) field(rand(2) ? "extra" : "id", value(2));  // unknown and duplicate keys
  return s + "}";
}

std::string MessageGen::mutate(std::string text) {
  size_t rounds = 1 + rand(4);
  for (size_t r = 0; r < rounds; ++r) {
    size_t pos = text.empty() ? 0 : rand(text.size() + 1);
    switch (rand(6)) {
      case 0:
        if (!text.empty()) text[rand(text.size())] ^= static_cast<char>(1u << rand(8));
        break;
      case 1: text.insert(pos, token()); break;
      case 2: text.insert(pos, value(4)); break;
      case 3:
        if (!text.empty()) text.erase(pos, rand(16));
        break;
      case 4:
        if (!text.empty()) text.insert(pos, text.substr(rand(text.size()), rand(64)));
        break;
      default: text.resize(pos); break;
    }
  }
  if (text.size() > 64 * 1024) text.resize(64 * 1024);
  return text;
}

std::string MessageGen::next() {
  switch (rand(8)) {
    case 0:
    case 1: return mutate(kSeeds[rand(kSeeds.size())]);
    case 2:
    case 3: return request();
    case 4: {
      std::string s = "[";
      size_t n = rand(12);
      for (size_t i = 0; i < n; ++i) s += (i ? "," : "") + (rand(4) ? request() : value(2));
      return s + "]";
    }
    case 5: return mutate(request());
    case 6: return value(0);
    default: {  // deep nesting around a request
      size_t depth = rand(200);
      return std::string(depth, '[') + request() + std::string(rand(2) ? depth : rand(depth + 1), ']');
    }
  }
}

}  // namespace ig::rpc::fuzz
