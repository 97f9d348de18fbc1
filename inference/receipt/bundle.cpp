#include "inference/receipt/bundle.hpp"

#include <fstream>
#include <sstream>

namespace ig::receipt {

Bundle seal(const Digest& model_id, std::span<const int32_t> prompt_ids,
            const engine::SamplingParams& params, const engine::Generation& gen,
            std::string prompt_text) {
  Bundle b;
  b.prompt_text = std::move(prompt_text);
  b.prompt_ids.assign(prompt_ids.begin(), prompt_ids.end());
  b.output_ids = gen.tokens;
  for (const auto& s : gen.steps) b.fingerprints.push_back(fingerprint(s));
  b.receipt = make_receipt(model_id, b.prompt_ids, params, b.output_ids, b.fingerprints);
  return b;
}

nlohmann::json to_json(const Bundle& b) {
  const auto bytes = encode(b.receipt);
  nlohmann::json fps = nlohmann::json::array();
  for (const auto& f : b.fingerprints) fps.push_back({f.token, f.logit_q, f.runner_up_q});
  const auto& p = b.receipt.params;
  return {
      {"receipt", to_hex(bytes)},
      {"receipt_id", to_hex(receipt_id(b.receipt))},
      {"model_id", to_hex(b.receipt.model_id)},
      {"fingerprint_root", to_hex(b.receipt.fingerprint_root)},
      {"params", {{"max_tokens", p.max_tokens}, {"temperature", p.temperature}, {"top_k", p.top_k},
                  {"top_p", p.top_p}, {"seed", p.seed}}},
      {"steps", b.receipt.steps},
      {"prompt", b.prompt_text},
      {"prompt_ids", b.prompt_ids},
      {"output_ids", b.output_ids},
      {"fingerprints", fps},
  };
}

namespace {

Expected<std::vector<uint8_t>> bytes_from_hex(const std::string& hex) {
  if (hex.size() % 2 != 0) return fail("receipt.bad_hex", "odd-length hex string");
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    unsigned v = 0;
    for (int k = 0; k < 2; ++k) {
      const char c = hex[2 * i + k];
      int n = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (n < 0) return fail("receipt.bad_hex", "not a hex digit in receipt");
      v = v << 4 | unsigned(n);
    }
    out[i] = uint8_t(v);
  }
  return out;
}

Expected<std::vector<int32_t>> id_list(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_array())
    return fail("receipt.bad_bundle", std::string("'") + key + "' must be an array of token ids");
  std::vector<int32_t> ids;
  for (const auto& v : j[key]) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
      return fail("receipt.bad_bundle", std::string("'") + key + "' holds a non-id value");
    ids.push_back(int32_t(v.get<int64_t>()));
  }
  return ids;
}

Expected<std::vector<Fingerprint>> fingerprint_list(const nlohmann::json& j) {
  if (!j.contains("fingerprints") || !j["fingerprints"].is_array())
    return fail("receipt.bad_bundle", "'fingerprints' must be an array");
  std::vector<Fingerprint> out;
  for (const auto& f : j["fingerprints"]) {
    if (!f.is_array() || f.size() != 3)
      return fail("receipt.bad_bundle", "each fingerprint is [token, logit_q, runner_up_q]");
    for (const auto& v : f)
      if (!v.is_number_integer() || v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX)
        return fail("receipt.bad_bundle", "fingerprint fields are 32-bit integers");
    out.push_back({int32_t(f[0].get<int64_t>()), int32_t(f[1].get<int64_t>()),
                   int32_t(f[2].get<int64_t>())});
  }
  return out;
}

}  // namespace

Expected<Bundle> bundle_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail("receipt.bad_bundle", "a receipt file is a JSON object");
  if (!j.contains("receipt") || !j["receipt"].is_string())
    return fail("receipt.bad_bundle", "'receipt' must be the hex of the canonical receipt bytes");
  Bundle b;
  IG_TRY_ASSIGN(bytes, bytes_from_hex(j["receipt"].get<std::string>()));
  IG_TRY_ASSIGN(r, decode(bytes));
  b.receipt = r;
  if (j.contains("prompt") && j["prompt"].is_string()) b.prompt_text = j["prompt"].get<std::string>();
  IG_TRY_ASSIGN(p, id_list(j, "prompt_ids"));
  IG_TRY_ASSIGN(o, id_list(j, "output_ids"));
  IG_TRY_ASSIGN(f, fingerprint_list(j));
  b.prompt_ids = std::move(p);
  b.output_ids = std::move(o);
  b.fingerprints = std::move(f);
  return b;
}

Expected<Bundle> read_bundle(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("receipt.io", "cannot open receipt file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return fail("receipt.bad_json", path + " is not valid JSON");
  return bundle_from_json(j);
}

Status write_bundle(const std::string& path, const Bundle& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return fail("receipt.io", "cannot write receipt file " + path);
  out << to_json(b).dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  if (!out) return fail("receipt.io", "failed writing " + path);
  return {};
}

}  // namespace ig::receipt
