// Task results: fingerprints and their leaves, run_task's receipt, the prompt and text rules,
// and the result file (round trip; strict, never-throwing rejection of malformed files).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "inference/engine/engine.hpp"
#include "inference/receipt/fingerprint.hpp"
#include "inference/receipt/ids.hpp"
#include "inference/receipt/result.hpp"

namespace ig::receipt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
const std::string kData = INFERGRID_SHARED_DATA;

struct Stories {
  engine::Model model;
  ig::Hash32 id;
};

const Stories& stories() {
  static const Stories s = [] {
    auto m = engine::Model::open(kData + "/models/stories260K.gguf");
    if (!m) throw std::runtime_error(m.error().to_string());
    const ig::Hash32 id = model_id(m->file());
    return Stories{std::move(*m), id};
  }();
  return s;
}

std::unique_ptr<kernels::Backend> backend(kernels::BackendKind k = kernels::BackendKind::Cpu, int threads = 1) {
  return std::move(*kernels::make_backend({k, threads}));
}

ig::SamplingParams greedy(uint32_t n) {
  ig::SamplingParams p;
  p.max_tokens = n;
  return p;
}

ig::SamplingParams sampled(uint32_t n, uint64_t seed) {
  ig::SamplingParams p = greedy(n);
  p.temperature_milli = 800;
  p.top_k = 40;
  p.top_p_milli = 950;
  p.seed = seed;
  return p;
}

fs::path temp_dir() {
  const fs::path d = fs::temp_directory_path() / ("ig_result_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

TEST(ReceiptFingerprint, FixedPointAndTheCommonLeafLayout) {
  EXPECT_EQ(quantize_logit(1.5f), 98304);
  EXPECT_EQ(quantize_logit(-0.25f), -16384);
  EXPECT_EQ(quantize_logit(1.0f / 131072), 1);    // half a unit rounds away from zero
  EXPECT_EQ(quantize_logit(-1.0f / 131072), -1);
  EXPECT_EQ(quantize_logit(1e30f), INT32_MAX);
  EXPECT_EQ(quantize_logit(-INFINITY), INT32_MIN + 1);
  EXPECT_EQ(quantize_logit(NAN), INT32_MIN);
  const auto f = fingerprint(engine::Decision{16, 1.0f, -1.0f / 65536});
  EXPECT_EQ(f, (ig::Fingerprint{16, 65536, -1}));
  // The leaf is the same hash the engine always committed to: SHA-256(0x00 | step | token |
  // logit_q | runner_up_q), little-endian.
  const uint8_t bytes[17] = {0, 3, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(ig::fingerprint_leaf(3, f), ig::sha256(bytes));
}

TEST(ReceiptIds, HexAndModelId) {
  EXPECT_EQ(to_hex(model_id(stories().model.file())),
            "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");  // SOURCES.md
  auto h = hash_from_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
  ASSERT_TRUE(h);
  EXPECT_EQ(to_hex(*h), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_from_hex("zz").error().code, "result.bad_hex");
  EXPECT_EQ(hash_from_hex(std::string(64, 'g')).error().code, "result.bad_hex");
  EXPECT_EQ(bytes_from_hex("abc").error().code, "result.bad_hex");
}

TEST(ReceiptPrompt, TheTaskPromptRule) {
  const auto& m = stories().model;
  auto ids = task_prompt_ids(m, "Once upon a time");
  ASSERT_TRUE(ids) << ids.error().to_string();
  EXPECT_EQ(*ids, (std::vector<int32_t>{1, 403, 407, 261, 378}));  // SOURCES.md: as llama.cpp
  EXPECT_EQ(task_prompt_ids(m, "").value(), std::vector<int32_t>{1});  // BOS alone
  // Control-token text is plain text: "<s>" is not a second BOS.
  auto special = task_prompt_ids(m, "<s>");
  ASSERT_TRUE(special);
  EXPECT_GT(special->size(), 2u);
  EXPECT_EQ(std::count(special->begin(), special->end(), 1), 1);
  EXPECT_EQ(task_prompt_ids(m, "caf\xC3").error().code, "task.bad_prompt");
}

TEST(ReceiptText, Utf8RuleReplacesEveryBadByte) {
  const std::string R = "\xEF\xBF\xBD";
  EXPECT_EQ(sanitize_utf8("plain ascii"), "plain ascii");
  EXPECT_EQ(sanitize_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(sanitize_utf8("a\xE2\x82"), "a" + R + R);             // truncated
  EXPECT_EQ(sanitize_utf8("\xC0\x80"), R + R);                    // overlong NUL
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), R + R + R);            // surrogate
  EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80"), R + R + R + R);    // above U+10FFFF
  EXPECT_EQ(sanitize_utf8("\x80x"), R + "x");                     // stray continuation
  EXPECT_EQ(sanitize_utf8(std::string("a\0b", 3)), std::string("a\0b", 3));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9"));
  EXPECT_FALSE(is_valid_utf8("caf\xC3"));
  EXPECT_FALSE(is_valid_utf8("\xE0\x9F\xBF"));  // overlong 3-byte
  // stories260K's byte tokens are ids 3 + byte: one character split over three tokens.
  const auto& m = stories().model;
  const std::vector<uint32_t> euro = {3 + 0xE2, 3 + 0x82, 3 + 0xAC};
  EXPECT_EQ(output_text(m, euro).value(), "\xE2\x82\xAC");
  EXPECT_EQ(output_text(m, std::vector<uint32_t>(euro.begin(), euro.begin() + 2)).value(), R + R);
  EXPECT_EQ(output_text(m, std::vector<uint32_t>{432, 2}).value(), ",");  // EOS renders as nothing
  EXPECT_FALSE(output_text(m, std::vector<uint32_t>{512}));
}

TEST(ReceiptRunTask, TheReceiptCommitsToTextParamsOutputAndBackend) {
  const auto& s = stories();
  for (const auto kind : {kernels::BackendKind::Cpu, kernels::BackendKind::Reference}) {
    auto be = backend(kind);
    for (const auto& p : {greedy(30), sampled(30, 7)}) {
      auto r = run_task(s.model, s.id, *be, "Once upon a time", p);
      ASSERT_TRUE(r) << r.error().to_string();
      const ig::InferenceReceipt& rc = r->receipt;
      EXPECT_EQ(rc.model_id, s.id);
      EXPECT_EQ(rc.prompt_hash, ig::prompt_hash("Once upon a time"));  // the TEXT, as the chain hashes it
      EXPECT_EQ(rc.params_hash, ig::sampling_params_hash(p));
      EXPECT_EQ(rc.backend, be->numerics());
      EXPECT_EQ(rc.backend, backend_tag(*be));
      EXPECT_EQ(rc.steps, r->output.size());
      EXPECT_EQ(rc.output_hash, ig::output_hash(r->output));
      EXPECT_EQ(rc.fingerprint_root, ig::fingerprint_root(r->fingerprints));
      EXPECT_TRUE(ig::backend_problem(rc.backend).empty());
      EXPECT_EQ(r->prompt, "Once upon a time");
      EXPECT_EQ(r->params, p);
      EXPECT_EQ(r->prompt_ids, (std::vector<uint32_t>{1, 403, 407, 261, 378}));
      ASSERT_EQ(r->fingerprints.size(), r->output.size());
      for (size_t i = 0; i < r->output.size(); ++i) EXPECT_EQ(uint32_t(r->fingerprints[i].token), r->output[i]);
      EXPECT_EQ(r->text, output_text(s.model, r->output).value());
      EXPECT_EQ(r->output.size(), 30u);  // stories260K does not end a story this soon
      auto bytes = ig::encode_receipt(rc);
      EXPECT_EQ(ig::decode_receipt(bytes).value(), rc);  // the chain's decoder takes it as is
    }
  }
  EXPECT_EQ(std::string(backend(kernels::BackendKind::Reference)->numerics()), "reference/1");
  const std::string cpu = backend()->numerics();
  EXPECT_EQ(cpu, kernels::cpu_has_avx2() ? "cpu/3" : "cpu-scalar/2");
  EXPECT_EQ(backend(kernels::BackendKind::Cpu, 2)->numerics(), cpu);  // threads do not change the bits
}

TEST(ReceiptRunTask, APrebuiltTokenizerGivesTheSameResult) {
  const auto& s = stories();
  auto tk = model_tokenizer(s.model);
  ASSERT_TRUE(tk) << tk.error().to_string();
  auto be = backend();
  const auto p = sampled(20, 11);
  auto a = run_task(s.model, s.id, *be, "Once upon a time", p);
  auto b = run_task(s.model, *tk, s.id, *be, "Once upon a time", p);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->receipt, b->receipt);
  EXPECT_EQ(a->text, b->text);
  EXPECT_EQ(task_prompt_ids(*tk, "Once upon a time").value(), task_prompt_ids(s.model, "Once upon a time").value());
  EXPECT_EQ(output_text(*tk, a->output).value(), a->text);
}

TEST(ReceiptRunTask, GreedyReproducesTheSharedExpectedOutput) {
  std::ifstream in(kData + "/models/stories260K.greedy.json");
  const auto cases = json::parse(in)["cases"];
  const auto& s = stories();
  auto be = backend(kernels::BackendKind::Cpu, 2);
  const auto want = cases[1]["generated_ids"].get<std::vector<uint32_t>>();
  auto r = run_task(s.model, s.id, *be, cases[1]["prompt"].get<std::string>(), greedy(uint32_t(want.size())));
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->output, want);
  // The case's text is the prompt's (with SentencePiece's leading space) followed by the output's.
  EXPECT_EQ(" Once upon a time" + r->text, cases[1]["text"].get<std::string>());
  const auto want0 = cases[0]["generated_ids"].get<std::vector<uint32_t>>();
  auto r0 = run_task(s.model, s.id, *be, "", greedy(uint32_t(want0.size())));  // BOS only
  ASSERT_TRUE(r0);
  ASSERT_EQ(r0->output.size(), want0.size());
  for (size_t i = 0; i < 180; ++i) ASSERT_EQ(r0->output[i], want0[i]) << "step " << i;  // see SOURCES.md
}

TEST(ReceiptRunTask, RefusesWhatCannotBeATaskResult) {
  const auto& s = stories();
  auto be = backend();
  EXPECT_EQ(run_task(s.model, s.id, *be, "x", greedy(0)).error().code, "sampler.bad_params");
  auto p = sampled(8, 1);
  p.top_p_milli = 1001;
  EXPECT_EQ(run_task(s.model, s.id, *be, "x", p).error().code, "sampler.bad_params");
  EXPECT_EQ(run_task(s.model, s.id, *be, "x", greedy(5000)).error().code, "engine.context_full");
  EXPECT_EQ(run_task(s.model, s.id, *be, "\xFF", greedy(4)).error().code, "task.bad_prompt");
  int seen = 0;
  auto cancelled = run_task(s.model, s.id, *be, "x", greedy(20), [&](int32_t) { return ++seen < 5; });
  EXPECT_EQ(cancelled.error().code, "task.cancelled");
  EXPECT_EQ(seen, 5);
}

TaskResult sample_result() {
  const auto& s = stories();
  auto r = run_task(s.model, s.id, *backend(), "Once upon a time", sampled(12, 3));
  if (!r) throw std::runtime_error(r.error().to_string());
  return *r;
}

void expect_same(const TaskResult& a, const TaskResult& b) {
  EXPECT_EQ(a.receipt, b.receipt);
  EXPECT_EQ(a.prompt, b.prompt);
  EXPECT_EQ(a.params, b.params);
  EXPECT_EQ(a.prompt_ids, b.prompt_ids);
  EXPECT_EQ(a.output, b.output);
  EXPECT_EQ(a.fingerprints, b.fingerprints);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.prefill_seconds, b.prefill_seconds);
  EXPECT_EQ(a.decode_seconds, b.decode_seconds);
}

TEST(ReceiptFile, RoundTripThroughJsonAndFile) {
  TaskResult r = sample_result();
  r.params.seed = 0xFFFFFFFFFFFFFFFFull;  // the whole u64 range survives JSON
  r.text = "quote \" newline \n nul " + std::string(1, '\0') + " caf\xC3\xA9";
  r.prefill_seconds = 0.125;
  r.decode_seconds = 3.5;
  r.receipt = make_receipt(r.receipt.model_id, r.prompt, r.params, r.output, r.fingerprints, r.receipt.backend);
  auto back = task_result_from_json(to_json(r));
  ASSERT_TRUE(back) << back.error().to_string();
  expect_same(*back, r);
  const json j = to_json(r);
  EXPECT_EQ(j["receipt"], to_hex(ig::encode_receipt(r.receipt)));
  EXPECT_EQ(j["receipt_id"], to_hex(ig::receipt_id(r.receipt)));
  EXPECT_EQ(j["receipt_fields"]["backend"], r.receipt.backend);
  EXPECT_EQ(j["params"]["seed"].get<uint64_t>(), r.params.seed);

  const fs::path dir = temp_dir();
  const std::string path = (dir / "r.json").string();
  ASSERT_TRUE(write_task_result(path, r));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  auto read = read_task_result(path);
  ASSERT_TRUE(read) << read.error().to_string();
  expect_same(*read, r);
  // A result that is not valid UTF-8 cannot be written faithfully, so it is not written.
  TaskResult bad_text = r;
  bad_text.prompt = "\xC3";
  EXPECT_EQ(write_task_result(path, bad_text).error().code, "result.bad_bundle");
  EXPECT_TRUE(read_task_result(path));  // the previous file is intact
  fs::remove_all(dir);
}

TEST(ReceiptFile, StrictReadingNamesTheBadField) {
  const json good = to_json(sample_result());
  ASSERT_TRUE(task_result_from_json(good));
  auto code_of = [](const json& j) {
    auto r = task_result_from_json(j);
    return r ? std::string("accepted") : r.error().code;
  };
  // Every field is required.
  for (const auto& [key, value] : good.items()) {
    json j = good;
    j.erase(key);
    EXPECT_EQ(code_of(j), "result.bad_bundle") << key;
  }
  for (const char* key : {"max_tokens", "temperature_milli", "top_k", "top_p_milli", "seed"}) {
    json j = good;
    j["params"].erase(key);
    EXPECT_EQ(code_of(j), "result.bad_bundle") << key;
  }
  struct Case { const char* what; std::function<void(json&)> edit; const char* code; };
  const std::vector<Case> cases = {
      {"unknown field", [](json& j) { j["outptu"] = json::array(); }, "result.bad_bundle"},
      {"unknown params field", [](json& j) { j["params"]["temperature"] = 0.8; }, "result.bad_bundle"},
      {"not an object", [](json& j) { j = json::array(); }, "result.bad_bundle"},
      {"receipt not hex", [](json& j) { j["receipt"] = "xyz1"; }, "result.bad_hex"},
      {"receipt too short", [](json& j) { j["receipt"] = "00ff"; }, "receipt.bad_length"},
      {"receipt huge", [](json& j) { j["receipt"] = std::string(100000, 'a'); }, "result.bad_bundle"},
      {"receipt a number", [](json& j) { j["receipt"] = 7; }, "result.bad_bundle"},
      {"receipt version 1", [](json& j) {
         std::string h = j["receipt"]; h[8] = '0'; h[9] = '1'; j["receipt"] = h; }, "receipt.bad_version"},
      {"receipt_id stale", [](json& j) { j["receipt_id"] = std::string(64, '0'); }, "result.bad_bundle"},
      {"copy of steps", [](json& j) { j["receipt_fields"]["steps"] = 99; }, "result.bad_bundle"},
      {"copy of backend", [](json& j) { j["receipt_fields"]["backend"] = "cuda/1"; }, "result.bad_bundle"},
      {"copy of a hash", [](json& j) { j["receipt_fields"]["params_hash"] = std::string(64, 'a'); }, "result.bad_bundle"},
      {"prompt a number", [](json& j) { j["prompt"] = 5; }, "result.bad_bundle"},
      {"temperature a float", [](json& j) { j["params"]["temperature_milli"] = 800.0; }, "result.bad_bundle"},
      {"temperature negative", [](json& j) { j["params"]["temperature_milli"] = -1; }, "result.bad_bundle"},
      {"top_k above u32", [](json& j) { j["params"]["top_k"] = 4294967296ull; }, "result.bad_bundle"},
      {"seed negative", [](json& j) { j["params"]["seed"] = -5; }, "result.bad_bundle"},
      {"seed a string", [](json& j) { j["params"]["seed"] = "5"; }, "result.bad_bundle"},
      {"params an array", [](json& j) { j["params"] = json::array({1, 2}); }, "result.bad_bundle"},
      {"output id negative", [](json& j) { j["output"][0] = -1; }, "result.bad_bundle"},
      {"output id float", [](json& j) { j["output"][0] = 1.5; }, "result.bad_bundle"},
      {"output id string", [](json& j) { j["output"][0] = "7"; }, "result.bad_bundle"},
      {"output an object", [](json& j) { j["output"] = json::object(); }, "result.bad_bundle"},
      {"prompt id too big", [](json& j) { j["prompt_ids"][0] = 4294967296ull; }, "result.bad_bundle"},
      {"fingerprint of 2", [](json& j) { j["fingerprints"][0] = json::array({1, 2}); }, "result.bad_bundle"},
      {"fingerprint beyond i32", [](json& j) { j["fingerprints"][0][1] = 2147483648ll; }, "result.bad_bundle"},
      {"fingerprint an object", [](json& j) { j["fingerprints"][0] = json::object(); }, "result.bad_bundle"},
      {"text null", [](json& j) { j["text"] = nullptr; }, "result.bad_bundle"},
      {"seconds negative", [](json& j) { j["decode_seconds"] = -1.0; }, "result.bad_bundle"},
      {"seconds a string", [](json& j) { j["prefill_seconds"] = "fast"; }, "result.bad_bundle"},
  };
  for (const auto& c : cases) {
    json j = good;
    c.edit(j);
    EXPECT_EQ(code_of(j), c.code) << c.what;
  }
  // Well-formed but inconsistent with the receipt: read, for the verifier to reject.
  json tampered = good;
  tampered["output"][3] = (tampered["output"][3].get<int>() + 1) % 512;
  EXPECT_TRUE(task_result_from_json(tampered));
  json fp_min = good;
  fp_min["fingerprints"][0][1] = INT32_MIN;
  EXPECT_TRUE(task_result_from_json(fp_min));
}

// Random damage, structural and byte-level: every outcome is a value, never an exception.
TEST(ReceiptFile, MalformedFilesNeverThrow) {
  const json good = to_json(sample_result());
  std::mt19937_64 rng(17);
  const std::vector<json> junk = {nullptr, -1, 0, 4294967296ull, 1e300, "x", "", json::array(), json::object(),
                                  json::array({1, 2, 3}), true, std::string(200, 'f'), -9223372036854775807ll};
  // Collect every path in the document.
  std::vector<json::json_pointer> paths;
  std::function<void(const json&, json::json_pointer)> walk = [&](const json& j, json::json_pointer at) {
    paths.push_back(at);
    if (j.is_object())
      for (const auto& [k, v] : j.items()) walk(v, at / k);
    else if (j.is_array())
      for (size_t i = 0; i < j.size(); ++i) walk(j[i], at / i);
  };
  walk(good, json::json_pointer());
  int accepted = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    json j = good;
    const int edits = 1 + int(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const auto& p = paths[rng() % paths.size()];
      try {  // an earlier edit may have replaced a container on this path: then skip it
        if (j.contains(p)) j[p] = junk[rng() % junk.size()];
      } catch (const json::exception&) {
      }
    }
    Expected<TaskResult> r = fail("x", "x");
    ASSERT_NO_THROW(r = task_result_from_json(j));
    if (r) {
      ++accepted;
      // whatever was accepted survives a round trip unchanged
      auto again = task_result_from_json(to_json(*r));
      ASSERT_TRUE(again);
      expect_same(*again, *r);
    }
  }
  EXPECT_LT(accepted, 3000);
  const fs::path dir = temp_dir();
  const std::string text = good.dump();
  for (int iter = 0; iter < 1500; ++iter) {
    std::string t = text;
    const int flips = 1 + int(rng() % 4);
    for (int f = 0; f < flips; ++f) t[rng() % t.size()] = char(rng() % 256);
    if (rng() % 4 == 0) t.resize(rng() % t.size());
    const std::string path = (dir / "fuzz.json").string();
    std::ofstream(path, std::ios::binary) << t;
    ASSERT_NO_THROW((void)read_task_result(path));
  }
  fs::remove_all(dir);
}

TEST(ReceiptFile, UnreadableFiles) {
  EXPECT_EQ(read_task_result("/nonexistent/r.json").error().code, "result.io");
  EXPECT_EQ(read_task_result(fs::temp_directory_path().string()).error().code, "result.io");
  const fs::path dir = temp_dir();
  const std::string path = (dir / "r.json").string();
  std::ofstream(path) << "{not json";
  EXPECT_EQ(read_task_result(path).error().code, "result.bad_json");
  std::ofstream(path, std::ios::binary) << "{\"prompt\": \"\xC3\"}";  // invalid UTF-8 in a string
  EXPECT_EQ(read_task_result(path).error().code, "result.bad_json");
  fs::resize_file(path, kMaxResultFileBytes + 1);  // sparse: refused before reading
  EXPECT_EQ(read_task_result(path).error().code, "result.io");
  EXPECT_EQ(write_task_result((dir / "no" / "such" / "dir.json").string(), sample_result()).error().code,
            "result.io");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ig::receipt
