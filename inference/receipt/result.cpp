#include "inference/receipt/result.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>

#include "inference/receipt/fingerprint.hpp"
#include "inference/receipt/ids.hpp"

namespace ig::receipt {
namespace {

using nlohmann::json;

// The tokenizer's id type; an id beyond int32 becomes -1, which it reports as outside its
// vocabulary (never silently wrapped onto a real token).
std::vector<int32_t> as_ids(std::span<const uint32_t> ids) {
  std::vector<int32_t> out;
  out.reserve(ids.size());
  for (uint32_t id : ids)
    out.push_back(id > uint32_t(std::numeric_limits<int32_t>::max()) ? -1 : int32_t(id));
  return out;
}

}  // namespace

// Built from the model's metadata on demand rather than held by engine::Model, which keeps
// the engine free of tokenizer state; callers that run many tasks keep their own.
Expected<tok::Tokenizer> model_tokenizer(const engine::Model& model) {
  auto tk = tok::Tokenizer::from_gguf(model.file());
  if (!tk) return fail("task.no_tokenizer", "the model file has no usable tokenizer: " + tk.error().to_string());
  return tk;
}

Expected<std::string> output_text(const tok::Tokenizer& tk, std::span<const uint32_t> output) {
  const std::vector<int32_t> ids = as_ids(output);
  IG_TRY_ASSIGN(raw, tk.decode(ids));
  return sanitize_utf8(raw);
}

Expected<std::vector<int32_t>> task_prompt_ids(const tok::Tokenizer& tk, std::string_view prompt) {
  if (!is_valid_utf8(prompt)) return fail("task.bad_prompt", "the prompt text is not valid UTF-8");
  // encode_default: BOS per add_bos_token, EOS per add_eos_token, no special-token parsing.
  IG_TRY_ASSIGN(ids, tk.encode_default(prompt));
  if (ids.empty())
    return fail("task.bad_prompt", "the prompt has no tokens (empty text and the vocab adds no BOS)");
  return ids;
}

// ---------------------------------------------------------------------------------------
// UTF-8

namespace {
// Length of the well-formed UTF-8 character at s[i] (RFC 3629, table 3-7 of Unicode), 0 if
// none starts there.
size_t utf8_char_at(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
  else if (b0 == 0xE0) { n = 3; lo = 0xA0; }
  else if (b0 >= 0xE1 && b0 <= 0xEC) n = 3;
  else if (b0 == 0xED) { n = 3; hi = 0x9F; }  // no surrogates
  else if (b0 >= 0xEE && b0 <= 0xEF) n = 3;
  else if (b0 == 0xF0) { n = 4; lo = 0x90; }
  else if (b0 >= 0xF1 && b0 <= 0xF3) n = 4;
  else if (b0 == 0xF4) { n = 4; hi = 0x8F; }  // at most U+10FFFF
  else return 0;
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return n;
}
}  // namespace

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_char_at(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_char_at(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Producing a result

std::string backend_tag(const kernels::Backend& backend) { return backend.numerics(); }

Expected<std::vector<int32_t>> task_prompt_ids(const engine::Model& model, std::string_view prompt) {
  IG_TRY_ASSIGN(tk, model_tokenizer(model));
  return task_prompt_ids(tk, prompt);
}

Expected<std::string> output_text(const engine::Model& model, std::span<const uint32_t> output) {
  IG_TRY_ASSIGN(tk, model_tokenizer(model));
  return output_text(tk, output);
}

ig::InferenceReceipt make_receipt(const ig::Hash32& model_id, std::string_view prompt,
                                  const ig::SamplingParams& params, std::span<const uint32_t> output,
                                  std::span<const ig::Fingerprint> fingerprints, std::string backend) {
  ig::InferenceReceipt r;
  r.model_id = model_id;
  r.prompt_hash = ig::prompt_hash(prompt);
  r.params_hash = ig::sampling_params_hash(params);
  r.output_hash = ig::output_hash(output);
  r.fingerprint_root = ig::fingerprint_root(fingerprints);
  r.steps = static_cast<uint32_t>(output.size());
  r.backend = std::move(backend);
  return r;
}

Status reseal(const engine::Model& model, TaskResult& r) {
  IG_TRY_ASSIGN(text, output_text(model, r.output));
  r.text = std::move(text);
  r.receipt = make_receipt(r.receipt.model_id, r.prompt, r.params, r.output, r.fingerprints, r.receipt.backend);
  return {};
}

Expected<TaskResult> run_task(const engine::Model& model, const ig::Hash32& model_id, kernels::Backend& backend,
                              std::string_view prompt, const ig::SamplingParams& params,
                              const engine::TokenFn& on_token) {
  IG_TRY_ASSIGN(tk, model_tokenizer(model));
  return run_task(model, tk, model_id, backend, prompt, params, on_token);
}

Expected<TaskResult> run_task(const engine::Model& model, const tok::Tokenizer& tk, const ig::Hash32& model_id,
                              kernels::Backend& backend, std::string_view prompt, const ig::SamplingParams& params,
                              const engine::TokenFn& on_token) {
  return run_task_with(tk, model_id, backend_tag(backend), prompt, params, [&](std::span<const int32_t> ids) {
    return engine::generate(model, backend, ids, params, model.config().eog_ids, on_token);
  });
}

Expected<TaskResult> run_task_with(const tok::Tokenizer& tk, const ig::Hash32& model_id, const std::string& tag,
                                   std::string_view prompt, const ig::SamplingParams& params,
                                   const GenerateFn& generate) {
  if (auto why = ig::backend_problem(tag); !why.empty())
    return fail("task.bad_backend_tag", "backend tag '" + tag + "': " + why);
  IG_TRY_ASSIGN(ids, task_prompt_ids(tk, prompt));
  IG_TRY_ASSIGN(gen, generate(ids));
  if (!gen.stopped_on_eos && gen.tokens.size() < params.max_tokens)
    return fail("task.cancelled", "generation was stopped after " + std::to_string(gen.tokens.size()) +
                                      " of " + std::to_string(params.max_tokens) + " tokens");
  TaskResult r;
  r.prompt.assign(prompt);
  r.params = params;
  r.prompt_ids.assign(ids.begin(), ids.end());  // ids are >= 0: the tokenizer made them
  r.output.assign(gen.tokens.begin(), gen.tokens.end());
  r.fingerprints.reserve(gen.steps.size());
  for (const auto& s : gen.steps) r.fingerprints.push_back(fingerprint(s));
  IG_TRY_ASSIGN(text, output_text(tk, r.output));
  r.text = std::move(text);
  r.receipt = make_receipt(model_id, r.prompt, r.params, r.output, r.fingerprints, tag);
  r.prefill_seconds = gen.prefill_seconds;
  r.decode_seconds = gen.decode_seconds;
  return r;
}

// ---------------------------------------------------------------------------------------
// The result file

nlohmann::json to_json(const TaskResult& r) {
  const auto bytes = ig::encode_receipt(r.receipt);
  json fps = json::array();
  for (const auto& f : r.fingerprints) fps.push_back({f.token, f.logit_q, f.runner_up_q});
  const auto& rc = r.receipt;
  const auto& p = r.params;
  return {
      {"receipt", to_hex(bytes)},
      {"receipt_id", to_hex(ig::receipt_id(rc))},
      {"receipt_fields",
       {{"model_id", to_hex(rc.model_id)},
        {"prompt_hash", to_hex(rc.prompt_hash)},
        {"params_hash", to_hex(rc.params_hash)},
        {"output_hash", to_hex(rc.output_hash)},
        {"fingerprint_root", to_hex(rc.fingerprint_root)},
        {"steps", rc.steps},
        {"backend", rc.backend}}},
      {"prompt", r.prompt},
      {"params",
       {{"max_tokens", p.max_tokens},
        {"temperature_milli", p.temperature_milli},
        {"top_k", p.top_k},
        {"top_p_milli", p.top_p_milli},
        {"seed", p.seed}}},
      {"prompt_ids", r.prompt_ids},
      {"output", r.output},
      {"fingerprints", fps},
      {"text", r.text},
      {"prefill_seconds", r.prefill_seconds},
      {"decode_seconds", r.decode_seconds},
  };
}

namespace {

Unexpected bad(const std::string& what) { return fail("result.bad_bundle", what); }

// Exactly these keys, no others: a misspelt field is an error, not a silent default.
Status expect_keys(const json& obj, const char* where, std::initializer_list<const char*> keys) {
  if (!obj.is_object()) return bad(std::string(where) + " must be a JSON object");
  const std::set<std::string> want(keys.begin(), keys.end());
  for (const auto& [k, v] : obj.items())
    if (!want.count(k)) return bad(std::string(where) + " has an unknown field '" + k + "'");
  for (const char* k : keys)
    if (!obj.contains(k)) return bad(std::string(where) + " lacks the field '" + k + "'");
  return {};
}

// A JSON integer (signed or unsigned representation) within [lo, hi]; floats are refused.
std::optional<int64_t> int_in(const json& v, int64_t lo, int64_t hi) {
  if (v.is_number_unsigned()) {
    const uint64_t x = v.get<uint64_t>();
    if (x > uint64_t(hi)) return std::nullopt;
    return int64_t(x);
  }
  if (v.is_number_integer()) {
    const int64_t x = v.get<int64_t>();
    if (x < lo || x > hi) return std::nullopt;
    return x;
  }
  return std::nullopt;
}

Expected<uint32_t> u32_field(const json& obj, const char* key) {
  auto v = int_in(obj.at(key), 0, std::numeric_limits<uint32_t>::max());
  if (!v) return bad(std::string("'") + key + "' must be an integer in 0..4294967295");
  return uint32_t(*v);
}

Expected<uint64_t> u64_field(const json& obj, const char* key) {
  const json& v = obj.at(key);
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return uint64_t(v.get<int64_t>());
  return bad(std::string("'") + key + "' must be an integer in 0..2^64-1");
}

Expected<std::string> string_field(const json& obj, const char* key) {
  const json& v = obj.at(key);
  if (!v.is_string()) return bad(std::string("'") + key + "' must be a string");
  return v.get<std::string>();
}

Expected<double> seconds_field(const json& obj, const char* key) {
  const json& v = obj.at(key);
  if (!v.is_number()) return bad(std::string("'") + key + "' must be a number");
  const double s = v.get<double>();
  if (!std::isfinite(s) || s < 0) return bad(std::string("'") + key + "' must be a finite number >= 0");
  return s;
}

Expected<std::vector<uint32_t>> id_list(const json& obj, const char* key) {
  const json& a = obj.at(key);
  if (!a.is_array()) return bad(std::string("'") + key + "' must be an array of token ids");
  std::vector<uint32_t> ids;
  ids.reserve(a.size());
  for (const auto& v : a) {
    auto id = int_in(v, 0, std::numeric_limits<uint32_t>::max());
    if (!id) return bad(std::string("'") + key + "' holds something other than a token id (0..2^32-1)");
    ids.push_back(uint32_t(*id));
  }
  return ids;
}

Expected<std::vector<ig::Fingerprint>> fingerprint_list(const json& obj) {
  const json& a = obj.at("fingerprints");
  if (!a.is_array()) return bad("'fingerprints' must be an array");
  std::vector<ig::Fingerprint> out;
  out.reserve(a.size());
  constexpr int64_t lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  for (const auto& f : a) {
    if (!f.is_array() || f.size() != 3) return bad("each fingerprint is [token, logit_q, runner_up_q]");
    auto t = int_in(f[0], lo, hi), l = int_in(f[1], lo, hi), r = int_in(f[2], lo, hi);
    if (!t || !l || !r) return bad("fingerprint fields are 32-bit signed integers");
    out.push_back({int32_t(*t), int32_t(*l), int32_t(*r)});
  }
  return out;
}

Expected<ig::SamplingParams> params_of(const json& j) {
  const json& p = j.at("params");
  IG_TRY(expect_keys(p, "'params'", {"max_tokens", "temperature_milli", "top_k", "top_p_milli", "seed"}));
  ig::SamplingParams out;
  IG_TRY_ASSIGN(max_tokens, u32_field(p, "max_tokens"));
  IG_TRY_ASSIGN(temperature, u32_field(p, "temperature_milli"));
  IG_TRY_ASSIGN(top_k, u32_field(p, "top_k"));
  IG_TRY_ASSIGN(top_p, u32_field(p, "top_p_milli"));
  IG_TRY_ASSIGN(seed, u64_field(p, "seed"));
  out.max_tokens = max_tokens;
  out.temperature_milli = temperature;
  out.top_k = top_k;
  out.top_p_milli = top_p;
  out.seed = seed;
  return out;
}

// The readable copies must say what the authoritative bytes say.
Status check_copies(const json& j, const ig::InferenceReceipt& r) {
  IG_TRY_ASSIGN(id_hex, string_field(j, "receipt_id"));
  if (id_hex != to_hex(ig::receipt_id(r))) return bad("'receipt_id' is not the SHA-256 of the receipt bytes");
  const json& f = j.at("receipt_fields");
  IG_TRY(expect_keys(f, "'receipt_fields'",
                     {"model_id", "prompt_hash", "params_hash", "output_hash", "fingerprint_root", "steps", "backend"}));
  const std::pair<const char*, const ig::Hash32*> hashes[] = {
      {"model_id", &r.model_id},       {"prompt_hash", &r.prompt_hash},
      {"params_hash", &r.params_hash}, {"output_hash", &r.output_hash},
      {"fingerprint_root", &r.fingerprint_root}};
  for (const auto& [key, h] : hashes) {
    IG_TRY_ASSIGN(hex, string_field(f, key));
    if (hex != to_hex(*h)) return bad(std::string("receipt_fields.") + key + " differs from the receipt bytes");
  }
  IG_TRY_ASSIGN(steps, u32_field(f, "steps"));
  if (steps != r.steps) return bad("receipt_fields.steps differs from the receipt bytes");
  IG_TRY_ASSIGN(backend, string_field(f, "backend"));
  if (backend != r.backend) return bad("receipt_fields.backend differs from the receipt bytes");
  return {};
}

Expected<TaskResult> parse(const json& j) {
  IG_TRY(expect_keys(j, "a result file",
                     {"receipt", "receipt_id", "receipt_fields", "prompt", "params", "prompt_ids", "output",
                      "fingerprints", "text", "prefill_seconds", "decode_seconds"}));
  TaskResult r;
  IG_TRY_ASSIGN(hex, string_field(j, "receipt"));
  if (hex.size() > 2 * ig::kMaxReceiptBytes) return bad("'receipt' is longer than any receipt");
  IG_TRY_ASSIGN(bytes, bytes_from_hex(hex));
  IG_TRY_ASSIGN(receipt, ig::decode_receipt(bytes));
  r.receipt = std::move(receipt);
  IG_TRY(check_copies(j, r.receipt));
  IG_TRY_ASSIGN(prompt, string_field(j, "prompt"));
  IG_TRY_ASSIGN(params, params_of(j));
  IG_TRY_ASSIGN(prompt_ids, id_list(j, "prompt_ids"));
  IG_TRY_ASSIGN(output, id_list(j, "output"));
  IG_TRY_ASSIGN(fps, fingerprint_list(j));
  IG_TRY_ASSIGN(text, string_field(j, "text"));
  IG_TRY_ASSIGN(prefill, seconds_field(j, "prefill_seconds"));
  IG_TRY_ASSIGN(decode, seconds_field(j, "decode_seconds"));
  r.prompt = std::move(prompt);
  r.params = params;
  r.prompt_ids = std::move(prompt_ids);
  r.output = std::move(output);
  r.fingerprints = std::move(fps);
  r.text = std::move(text);
  r.prefill_seconds = prefill;
  r.decode_seconds = decode;
  return r;
}

}  // namespace

Expected<TaskResult> task_result_from_json(const nlohmann::json& j) {
  // Every access above is type-checked first; this only keeps the "never throws" promise if
  // one was missed (or memory runs out on a huge array).
  try {
    return parse(j);
  } catch (const std::exception& e) {
    return fail("result.bad_bundle", std::string("unreadable result: ") + e.what());
  }
}

Expected<TaskResult> read_task_result(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))  // a directory would "open" and read as garbage
    return fail("result.io", "cannot open result file " + path + " (not a regular file)");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("result.io", "cannot open result file " + path);
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return fail("result.io", "cannot read result file " + path);
  if (uint64_t(size) > kMaxResultFileBytes)
    return fail("result.io", path + " is larger than " + std::to_string(kMaxResultFileBytes >> 20) + " MiB");
  in.seekg(0, std::ios::beg);
  std::string text(size_t(size), '\0');
  if (!in.read(text.data(), size)) return fail("result.io", "cannot read result file " + path);
  // allow_exceptions = false: a syntax error (or invalid UTF-8 in a string) is a discarded value.
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return fail("result.bad_json", path + " is not valid JSON");
  return task_result_from_json(j);
}

Status write_task_result(const std::string& path, const TaskResult& r) {
  std::string body;
  try {
    // strict UTF-8 handler: prompt and text are valid UTF-8 in any result this library made;
    // one that is not must not be silently altered (its hashes would no longer match).
    // One line: a result holds a fingerprint per token, which an indented dump spreads over
    // four lines each; `jq .` shows it readably.
    body = to_json(r).dump(-1, ' ', false, json::error_handler_t::strict) + "\n";
  } catch (const std::exception& e) {
    return fail("result.bad_bundle", std::string("cannot encode the result: ") + e.what());
  }
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("result.io", "cannot write " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < body.size()) {
    const ssize_t n = ::write(fd, body.data() + done, body.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail("result.io", "failed writing " + tmp + ": " + why);
    }
    done += size_t(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    ::unlink(tmp.c_str());
    return fail("result.io", "failed writing " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return fail("result.io", "cannot rename " + tmp + " to " + path + ": " + why);
  }
  return {};
}

}  // namespace ig::receipt
