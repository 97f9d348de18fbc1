// Hostile JSON-RPC input for randomized runs: mutated valid messages, generated JSON-ish
// structures, and the tokens that broke comparable servers (numbers beyond a double, ids
// beyond 64 bits, lone surrogates, deep nesting, huge strings). Deterministic for a seed.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace ig::rpc::fuzz {

class MessageGen {
 public:
  // `methods` are names worth calling (the server's own, so that handlers see hostile params).
  explicit MessageGen(uint64_t seed, std::vector<std::string> methods = {});

  // One message: a request, a batch, a notification, or garbage. At most ~64 KiB.
  std::string next();

  // A mutation of `text` (byte flips, spliced tokens, cuts, duplications).
  std::string mutate(std::string text);

  uint64_t rand(uint64_t n) { return n ? rng_() % n : 0; }

 private:
  std::string request();
  std::string value(int depth);
  std::string number();
  std::string string_literal();
  std::string token();

  std::mt19937_64 rng_;
  std::vector<std::string> methods_;
};

}  // namespace ig::rpc::fuzz
