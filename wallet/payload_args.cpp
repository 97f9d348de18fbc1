#include "wallet/payload_args.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "wallet/parse.hpp"

namespace ig::wallet {

using json = nlohmann::json;

Expected<chain::StakeRole> parse_role(std::string_view text) {
  if (text == "validator") return chain::StakeRole::kValidator;
  if (text == "miner") return chain::StakeRole::kMiner;
  return fail("arg.bad_role", "--role " + quoted(text, 40) + " must be \"validator\" or \"miner\"");
}

Expected<uint32_t> parse_u32(std::string_view text, std::string_view what) {
  IG_TRY_ASSIGN(v, parse_u64(text, what));
  if (v > UINT32_MAX) return fail("arg.invalid", std::string(what) + " " + quoted(text, 40) + " is larger than 4294967295");
  return static_cast<uint32_t>(v);
}

Expected<uint32_t> parse_milli(std::string_view text, std::string_view what) {
  const std::string name(what);
  auto bad = [&](const std::string& why) { return fail("arg.invalid", name + " " + quoted(text, 40) + " " + why); };
  if (text.empty()) return fail("arg.invalid", name + " is empty");
  if (text[0] == '-') return bad("is negative");
  const size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && frac.empty()))
    return bad("is not a decimal number like 0.7");
  if (frac.size() > 3) return bad("has more than three decimal places");
  for (char c : frac)
    if (c < '0' || c > '9') return bad("is not a decimal number like 0.7");
  auto w = parse_u64(whole, what);
  if (!w) return bad("is not a decimal number like 0.7");
  uint64_t milli = 0;
  for (size_t i = 0; i < 3; ++i) milli = milli * 10 + (i < frac.size() ? static_cast<uint64_t>(frac[i] - '0') : 0);
  if (*w > (UINT32_MAX - milli) / 1000) return bad("is too large");
  return static_cast<uint32_t>(*w * 1000 + milli);
}

Expected<uint32_t> parse_top_p(std::string_view text) {
  IG_TRY_ASSIGN(v, parse_milli(text, "--top-p"));
  if (v == 0 || v > 1000) return fail("arg.invalid", "--top-p " + quoted(text, 40) + " must be within (0, 1]");
  return v;
}

Expected<std::vector<chain::WeightEntry>> parse_weights(std::string_view text) {
  auto bad = [&](std::string_view item, const std::string& why) {
    return fail("arg.bad_weights", "--weights item " + quoted(item, 40) + " " + why + " (expected UID:WEIGHT[,UID:WEIGHT...])");
  };
  if (text.empty()) return fail("arg.bad_weights", "--weights is empty (expected UID:WEIGHT[,UID:WEIGHT...])");
  std::vector<chain::WeightEntry> out;
  std::set<uint16_t> seen;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    const size_t colon = item.find(':');
    if (colon == std::string_view::npos) return bad(item, "has no ':'");
    auto uid = parse_u64(item.substr(0, colon), "uid");
    auto weight = parse_u64(item.substr(colon + 1), "weight");
    if (!uid) return bad(item, "has a bad uid: " + uid.error().message);
    if (!weight) return bad(item, "has a bad weight: " + weight.error().message);
    if (*uid > 65535) return bad(item, "has a uid above 65535");
    if (*weight > 65535) return bad(item, "has a weight above 65535");
    if (!seen.insert(static_cast<uint16_t>(*uid)).second) return bad(item, "repeats uid " + std::to_string(*uid));
    out.push_back({static_cast<uint16_t>(*uid), static_cast<uint16_t>(*weight)});
    if (out.size() > chain::kMaxWeights) return fail("arg.bad_weights", "--weights lists more than " + std::to_string(chain::kMaxWeights) + " uids");
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.uid < b.uid; });
  return out;
}

std::string weights_to_string(const std::vector<chain::WeightEntry>& weights) {
  std::string s;
  for (const auto& e : weights) {
    if (!s.empty()) s += ',';
    s += std::to_string(e.uid);
    s += ':';
    s += std::to_string(e.weight);
  }
  return s;
}

Expected<chain::Hash> parse_model_id(std::string_view text) {
  auto h = chain::from_hex_fixed<32>(text);
  if (!h) return fail("arg.bad_model_id", "model id " + quoted(text, 80) + " is not 64 hex digits");
  return *h;
}

Expected<chain::Hash> model_id_of_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("arg.model_file", "cannot open model file " + path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return fail("arg.model_file", "SHA-256 is unavailable");
  // Model files run to many GiB: hash them in 1 MiB pieces rather than reading them whole.
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0 && EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount())) != 1)
      return fail("arg.model_file", "hashing " + path + " failed");
  }
  if (in.bad()) return fail("arg.model_file", "read error in " + path);
  chain::Hash out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) return fail("arg.model_file", "hashing " + path + " failed");
  return out;
}

Expected<chain::PublicKey> parse_consensus_key(std::string_view text) {
  auto k = chain::from_hex_fixed<32>(text);
  if (!k) return fail("arg.bad_key", "consensus key " + quoted(text, 80) + " is not 64 hex digits");
  return *k;
}

Status validate_label(std::string_view text, std::string_view what) {
  if (text.empty() || text.size() > chain::kMaxNameBytes)
    return fail("arg.bad_name", std::string(what) + " must be 1 to " + std::to_string(chain::kMaxNameBytes) + " characters");
  for (char c : text)
    if (c < ' ' || c > '~') return fail("arg.bad_name", std::string(what) + " must be printable ASCII");
  return {};
}

namespace {

template <size_t N>
Expected<std::array<uint8_t, N>> hex_field(const json& v, const char* key, const char* which) {
  auto it = v.find(key);
  if (it == v.end() || !it->is_string())
    return fail("arg.bad_evidence", std::string("vote ") + which + " has no \"" + key + "\" hex string");
  auto b = chain::from_hex_fixed<N>(it->get<std::string>());
  if (!b) return fail("arg.bad_evidence", std::string("vote ") + which + " \"" + key + "\" is not " + std::to_string(N) + " bytes of hex");
  return *b;
}

Expected<uint64_t> uint_field(const json& v, const char* key, const char* which, uint64_t max) {
  auto it = v.find(key);
  if (it == v.end() || !it->is_number_unsigned() || it->get<uint64_t>() > max)
    return fail("arg.bad_evidence", std::string("vote ") + which + " needs \"" + key + "\" as an integer within 0.." + std::to_string(max));
  return it->get<uint64_t>();
}

Expected<chain::SignedVote> parse_vote(const json& v, const char* which) {
  if (!v.is_object()) return fail("arg.bad_evidence", std::string("vote ") + which + " is not an object");
  chain::SignedVote out;
  IG_TRY_ASSIGN(type, uint_field(v, "type", which, 255));
  if (type != 1 && type != 2) return fail("arg.bad_evidence", std::string("vote ") + which + " type must be 1 (prevote) or 2 (precommit)");
  out.type = static_cast<uint8_t>(type);
  IG_TRY_ASSIGN(height, uint_field(v, "height", which, UINT64_MAX));
  IG_TRY_ASSIGN(round, uint_field(v, "round", which, UINT32_MAX));
  out.height = height;
  out.round = static_cast<uint32_t>(round);
  IG_TRY_ASSIGN(block_hash, hex_field<32>(v, "block_hash", which));
  IG_TRY_ASSIGN(validator, hex_field<32>(v, "validator", which));
  IG_TRY_ASSIGN(signature, hex_field<64>(v, "signature", which));
  out.block_hash = block_hash;
  out.validator = validator;
  out.signature = signature;
  return out;
}

}  // namespace

Expected<chain::Evidence> parse_evidence(std::string_view json_text) {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  json a, b;
  if (doc.is_array() && doc.size() == 2) {
    a = doc[0];
    b = doc[1];
  } else if (doc.is_object() && doc.contains("a") && doc.contains("b")) {
    a = doc["a"];
    b = doc["b"];
  } else {
    return fail("arg.bad_evidence", "evidence must be {\"a\": VOTE, \"b\": VOTE} or an array of two votes");
  }
  chain::Evidence ev;
  IG_TRY_ASSIGN(va, parse_vote(a, "a"));
  IG_TRY_ASSIGN(vb, parse_vote(b, "b"));
  ev.a = va;
  ev.b = vb;
  return ev;
}

namespace {

Unexpected bad_step_evidence(const std::string& why) { return fail("arg.bad_evidence", "step evidence: " + why); }

Expected<int32_t> i32_field(const json& v, const char* key, const std::string& where) {
  auto it = v.find(key);
  if (it == v.end() || !it->is_number_integer()) return bad_step_evidence(where + " needs \"" + key + "\" as an integer");
  if (it->is_number_unsigned() ? it->get<uint64_t>() > uint64_t{INT32_MAX}
                               : it->get<int64_t>() < INT32_MIN || it->get<int64_t>() > INT32_MAX)
    return bad_step_evidence(where + " \"" + key + "\" is outside the 32-bit range");
  return static_cast<int32_t>(it->get<int64_t>());
}

Expected<ig::Fingerprint> fingerprint_field(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_object())
    return bad_step_evidence(std::string("\"") + key + "\" must be {\"token\", \"logit_q\", \"runner_up_q\"}");
  ig::Fingerprint f;
  IG_TRY_ASSIGN(token, i32_field(*it, "token", key));
  IG_TRY_ASSIGN(logit, i32_field(*it, "logit_q", key));
  IG_TRY_ASSIGN(runner_up, i32_field(*it, "runner_up_q", key));
  f.token = token;
  f.logit_q = logit;
  f.runner_up_q = runner_up;
  return f;
}

}  // namespace

Expected<chain::StepEvidence> parse_step_evidence(std::string_view json_text) {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return bad_step_evidence("the file must hold one JSON object {\"claimed\", \"proof\", \"recomputed\"}");
  chain::StepEvidence e;
  IG_TRY_ASSIGN(claimed, fingerprint_field(doc, "claimed"));
  IG_TRY_ASSIGN(recomputed, fingerprint_field(doc, "recomputed"));
  e.claimed = claimed;
  e.recomputed = recomputed;
  auto proof = doc.find("proof");
  if (proof == doc.end() || !proof->is_object())
    return bad_step_evidence("\"proof\" must be {\"index\", \"leaf_count\", \"siblings\"}");
  for (const char* key : {"index", "leaf_count"})
    if (!proof->contains(key) || !(*proof)[key].is_number_unsigned())
      return bad_step_evidence(std::string("proof needs \"") + key + "\" as a non-negative integer");
  e.proof.index = (*proof)["index"].get<uint64_t>();
  e.proof.leaf_count = (*proof)["leaf_count"].get<uint64_t>();
  auto siblings = proof->find("siblings");
  if (siblings == proof->end() || !siblings->is_array()) return bad_step_evidence("proof needs \"siblings\" as an array of hashes");
  if (siblings->size() > chain::kMaxProofSiblings)
    return bad_step_evidence("a proof has at most " + std::to_string(chain::kMaxProofSiblings) + " siblings");
  for (size_t i = 0; i < siblings->size(); ++i) {
    const json& h = (*siblings)[i];
    auto bytes = h.is_string() ? chain::from_hex_fixed<32>(h.get<std::string>()) : Expected<chain::Hash>(fail("hex", "not a string"));
    if (!bytes) return bad_step_evidence("proof.siblings[" + std::to_string(i) + "] is not 64 hex digits");
    e.proof.siblings.push_back(*bytes);
  }
  return e;
}

Status validate_reason(std::string_view reason) {
  if (auto why = chain::reason_problem(reason); !why.empty()) return fail("arg.invalid", "--reason " + quoted(reason, 80) + ": " + why);
  return {};
}

}  // namespace ig::wallet
