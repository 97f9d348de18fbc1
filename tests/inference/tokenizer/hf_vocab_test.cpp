// vocab_from_hf on small hand-made tokenizer.json files: what a good one converts to, and a
// clear error (never a crash or a throw) for every kind of malformed one.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "inference/gguf/gguf.hpp"
#include "inference/tokenizer/hf_vocab.hpp"
#include "inference/tokenizer/tokenizer.hpp"

namespace {
using json = nlohmann::json;
using ig::tok::byte_to_unicode;
using ig::tok::TokenId;

std::string mapped(std::string_view text) {
  std::string out;
  for (unsigned char c : text) out += byte_to_unicode(c);
  return out;
}

// A GPT-2-style byte-level vocabulary: the 256 byte tokens (ids 0..255), "he" 256, "ll" 257,
// "hell" 258, "hello" 259, " w" 260, then the added <|endoftext|> 261 (special) and <tool> 262.
json good_tokenizer() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_to_unicode(static_cast<uint8_t>(b))] = b;
  const std::vector<std::string> words = {"he", "ll", "hell", "hello", " w"};
  for (size_t k = 0; k < words.size(); ++k) vocab[mapped(words[k])] = 256 + k;
  json merges = json::array({"h e", "l l", "he ll", mapped("hell") + " o", mapped(" ") + " w"});
  return json{
      {"version", "1.0"},
      {"added_tokens", json::array({json{{"id", 261}, {"content", "<|endoftext|>"}, {"special", true}},
                                    json{{"id", 262}, {"content", "<tool>"}, {"special", false}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer", json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"post_processor", json{{"type", "ByteLevel"}}},
      {"model", json{{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}, {"dropout", nullptr}}},
  };
}

json good_config() { return json{{"bos_token", "<|endoftext|>"}, {"eos_token", "<|endoftext|>"}}; }

ig::Expected<ig::tok::HfConversion> convert(const json& tok, const json& config = good_config()) {
  return ig::tok::vocab_from_hf(tok.dump(), config.is_null() ? "" : config.dump());
}

// The conversion fails with `code` and a message containing `needle`.
void expect_error(const ig::Expected<ig::tok::HfConversion>& r, const std::string& code, const std::string& needle) {
  ASSERT_FALSE(r.has_value()) << "converted, but should have failed with: " << needle;
  EXPECT_EQ(r.error().code, code) << r.error().to_string();
  EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().to_string();
  EXPECT_LT(r.error().message.size(), 400u) << "the message should stay readable";
}

void expect_bad_file(const json& tok, const std::string& needle, const json& config = good_config()) {
  expect_error(convert(tok, config), "hf.bad_file", needle);
}

TEST(HfConvert, ConvertsAByteLevelBpeTokenizer) {
  auto c = convert(good_tokenizer());
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->arch, "gpt2");
  EXPECT_EQ(c->vocab.pre, "gpt-2");
  EXPECT_EQ(c->vocab.tokens.size(), 263u);
  EXPECT_EQ(c->vocab.merges[2], "he ll");
  EXPECT_EQ(c->vocab.types[261], ig::tok::TokenType::Control);
  EXPECT_EQ(c->vocab.types[262], ig::tok::TokenType::UserDefined);
  EXPECT_EQ(c->vocab.bos, 261);
  EXPECT_EQ(c->vocab.eos, 261);
  EXPECT_EQ(c->vocab.eot, 261);
  EXPECT_FALSE(c->vocab.add_bos);  // gpt-2's default when neither the config nor a template says
  EXPECT_EQ(c->vocab.normalizer, "");
  auto tok = ig::tok::Tokenizer::from_vocab(c->vocab);
  ASSERT_TRUE(tok.has_value());
  EXPECT_EQ(*tok->encode("hello world<tool>", false), (std::vector<TokenId>{259, 260, 'o', 'r', 'l', 'd', 262}));
}

TEST(HfConvert, WritesAVocabularyFileThatLoads) {
  auto tok = good_tokenizer();
  tok["normalizer"] = json{{"type", "NFC"}};
  auto c = convert(tok);
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  const std::string path = testing::TempDir() + "hf_vocab_test.gguf";
  ASSERT_TRUE(ig::tok::write_vocab_gguf(path, *c).has_value());
  auto f = ig::gguf::File::open(path);
  ASSERT_TRUE(f.has_value()) << f.error().to_string();
  EXPECT_EQ(*f->get_string("general.architecture"), "gpt2");
  EXPECT_EQ(*f->get_string(ig::tok::kNormalizerKey), "nfc");
  auto v = ig::tok::read_vocab(*f);
  std::filesystem::remove(path);
  ASSERT_TRUE(v.has_value()) << v.error().to_string();
  EXPECT_EQ(v->tokens, c->vocab.tokens);
  EXPECT_EQ(v->types, c->vocab.types);
  EXPECT_EQ(v->merges, c->vocab.merges);
  EXPECT_EQ(v->bos, 261);
  EXPECT_EQ(v->normalizer, "nfc");
}

TEST(HfConvert, MergesAsPairsAndIdHolesAreAccepted) {
  auto tok = good_tokenizer();
  tok["model"]["merges"] = json::array({json::array({"h", "e"}), json::array({"l", "l"})});
  tok["added_tokens"][1]["id"] = 300;  // ids 262..299 unused
  auto c = convert(tok);
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->vocab.merges, (std::vector<std::string>{"h e", "l l"}));
  ASSERT_EQ(c->vocab.tokens.size(), 301u);
  EXPECT_EQ(c->vocab.tokens[270], "[PAD270]");
  EXPECT_EQ(c->vocab.types[270], ig::tok::TokenType::Unused);
}

TEST(HfConvert, RefusesWhatIsNotJson) {
  expect_error(ig::tok::vocab_from_hf("", ""), "hf.bad_file", "tokenizer.json is not valid JSON");
  expect_error(ig::tok::vocab_from_hf("{\"model\": {", ""), "hf.bad_file", "not valid JSON");
  expect_error(ig::tok::vocab_from_hf("[1, 2]", ""), "hf.bad_file", "must hold a JSON object, not array");
  expect_error(ig::tok::vocab_from_hf("{\"model\": \"\xff\xfe\"}", ""), "hf.bad_file", "not valid JSON");
  expect_error(ig::tok::vocab_from_hf(good_tokenizer().dump(), "{"), "hf.bad_file",
               "tokenizer_config.json is not valid JSON");
  expect_error(ig::tok::vocab_from_hf(good_tokenizer().dump(), "\"text\""), "hf.bad_file",
               "tokenizer_config.json must hold a JSON object");
  // Deep nesting is refused by the parser or the checks, not a stack overflow.
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  EXPECT_FALSE(ig::tok::vocab_from_hf(deep, "").has_value());
  // (Written by hand: nlohmann's own dump() would recurse 200,000 levels.)
  const std::string head = R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": )";
  expect_error(ig::tok::vocab_from_hf(head + deep + "}}", ""), "hf.bad_file", "model.vocab must be an object");
}

TEST(HfConvert, RefusesAMissingOrMistypedModel) {
  auto tok = good_tokenizer();
  tok.erase("model");
  expect_bad_file(tok, "tokenizer.json has no model");
  tok["model"] = "BPE";
  expect_bad_file(tok, "model must be an object, not string");
  tok = good_tokenizer();
  tok["model"]["type"] = 5;
  expect_bad_file(tok, "model.type must be a string, not number");
  tok["model"]["type"] = "Unigram";
  expect_error(convert(tok), "hf.unsupported", "model type 'Unigram' is not supported");
  tok = good_tokenizer();
  tok["model"]["byte_fallback"] = "yes";
  expect_bad_file(tok, "model.byte_fallback must be true or false, not string");
  tok = good_tokenizer();
  tok["model"]["ignore_merges"] = 1;
  expect_bad_file(tok, "model.ignore_merges must be true or false");
  tok = good_tokenizer();
  tok["model"].erase("vocab");
  expect_bad_file(tok, "model.vocab is missing");
  tok["model"]["vocab"] = json::array({"a", "b"});
  expect_bad_file(tok, "model.vocab must be an object");
}

TEST(HfConvert, RefusesIdsOutOfRange) {
  auto with_id = [](json id) {
    auto tok = good_tokenizer();
    tok["model"]["vocab"]["he"] = std::move(id);
    return tok;
  };
  expect_bad_file(with_id(-1), "token 'he' has a negative id (-1)");
  expect_bad_file(with_id(2.5), "token 'he' has an id that is not an integer (2.5)");
  expect_bad_file(with_id("256"), "token 'he' has an id that is not an integer (string)");
  expect_bad_file(with_id(json::array({256})), "not an integer (array)");
  expect_bad_file(with_id(1u << 24), "token 'he' has id 16777216, out of range");
  expect_bad_file(with_id(uint64_t{1} << 40), "out of range");
  expect_bad_file(with_id(1e30), "not an integer");
  // In range, but a 263-token vocabulary reaching id 16,000,000 is a broken file.
  expect_bad_file(with_id(16000000), "ids go up to 16000000 but there are only 263 tokens");
  expect_bad_file(with_id(0), "model.vocab gives id 0 to both");
  auto tok = good_tokenizer();
  tok["added_tokens"][0]["id"] = -5;
  expect_bad_file(tok, "added_tokens[0] '<|endoftext|>' has a negative id");
  tok["added_tokens"][0]["id"] = uint64_t{1} << 33;
  expect_bad_file(tok, "added_tokens[0] '<|endoftext|>' has id 8589934592, out of range");
  tok["added_tokens"][0]["id"] = 256;  // already "he"
  expect_bad_file(tok, "added_tokens[0] '<|endoftext|>' takes id 256, which is 'he'");
  tok["added_tokens"][0].erase("id");
  expect_bad_file(tok, "added_tokens[0] '<|endoftext|>' has no id");
  tok = good_tokenizer();
  tok["added_tokens"][1]["content"] = "he";  // the text of id 256, again at 262
  expect_bad_file(tok, "token 'he' has two ids, 256 and 262");
}

TEST(HfConvert, RefusesMistypedAddedTokens) {
  auto tok = good_tokenizer();
  tok["added_tokens"] = json::object();
  expect_bad_file(tok, "added_tokens must be an array, not object");
  tok["added_tokens"] = json::array({"<|endoftext|>"});
  expect_bad_file(tok, "added_tokens[0] must be an object");
  tok = good_tokenizer();
  tok["added_tokens"][1]["content"] = 7;
  expect_bad_file(tok, "added_tokens[1].content must be a string, not number");
  tok["added_tokens"][1]["content"] = "";
  expect_bad_file(tok, "added_tokens[1] has no content");
  tok = good_tokenizer();
  tok["added_tokens"][1]["special"] = "false";
  expect_bad_file(tok, "added_tokens[1].special must be true or false");
  tok = good_tokenizer();
  tok["added_tokens"][1]["lstrip"] = true;
  expect_error(convert(tok), "hf.unsupported", "added token '<tool>' strips spaces");
}

TEST(HfConvert, RefusesMalformedMerges) {
  auto with_merges = [](json merges) {
    auto tok = good_tokenizer();
    tok["model"]["merges"] = std::move(merges);
    return tok;
  };
  auto tok = good_tokenizer();
  tok["model"].erase("merges");
  expect_error(convert(tok), "hf.unsupported", "model.merges is missing");
  expect_bad_file(with_merges(json::object()), "model.merges must be an array, not object");
  expect_bad_file(with_merges(json::array({"h e", 42})), "merge #1 is neither");
  expect_bad_file(with_merges(json::array({json::array({"h", "e", "x"})})), "merge #0 is neither");
  expect_bad_file(with_merges(json::array({"he"})), "merge #0 'he' is not 'left right'");
  expect_bad_file(with_merges(json::array({"h e l"})), "merge #0 'h e l' is not 'left right'");
  expect_bad_file(with_merges(json::array({json::array({"h e", "l"})})), "cannot be written as 'left right'");
  expect_bad_file(with_merges(json::array({json::array({"", "l"})})), "cannot be written as 'left right'");
  // Parts and results must be tokens of model.vocab, as Hugging Face's library requires.
  expect_bad_file(with_merges(json::array({"h zz"})), "merge #0 'h zz': 'zz' is not in model.vocab");
  expect_bad_file(with_merges(json::array({"x y"})), "merge #0 'x y': 'xy' is not in model.vocab");
  expect_bad_file(with_merges(json::array({"<|endoftext|> h"})), "is not in model.vocab");
  // A repeated merge has two ranks, and implementations disagree about which one counts.
  expect_bad_file(with_merges(json::array({"h e", "l l", "h e"})), "merge #2 'h e' repeats merge #0");
  expect_bad_file(with_merges(json::array({"h e", json::array({"h", "e"})})), "merge #1 'h e' repeats merge #0");
  // A megabyte-long merge: refused, and the message quotes only the start of it.
  const std::string huge(1 << 20, 'h');
  expect_bad_file(with_merges(json::array({huge + " e"})), "bytes)' is not in model.vocab");
}

TEST(HfConvert, RefusesMistypedPreTokenizerAndNormalizer) {
  auto tok = good_tokenizer();
  tok["pre_tokenizer"] = "ByteLevel";
  expect_bad_file(tok, "pre_tokenizer must be an object");
  tok["pre_tokenizer"] = json{{"type", "ByteLevel"}, {"add_prefix_space", "no"}};
  expect_bad_file(tok, "pre_tokenizer.add_prefix_space must be true or false");
  tok["pre_tokenizer"] = json{{"type", 3}};
  expect_bad_file(tok, "pre_tokenizer.type must be a string");
  tok["pre_tokenizer"] = json{{"type", "Sequence"}, {"pretokenizers", json::array({1, 2})}};
  expect_bad_file(tok, "pre_tokenizer.pretokenizers must hold objects");
  tok["pre_tokenizer"] = json{{"type", "Sequence"},
                              {"pretokenizers",
                               json::array({json{{"type", "Split"}, {"pattern", "x"}, {"behavior", "Isolated"}},
                                            json{{"type", "ByteLevel"}, {"use_regex", false}}})}};
  expect_bad_file(tok, "pre_tokenizer.pretokenizers[0].pattern must be an object");
  tok["pre_tokenizer"] = json{{"type", "Whitespace"}};
  expect_error(convert(tok), "hf.unsupported", "pre_tokenizer must be ByteLevel or Sequence");
  tok = good_tokenizer();
  tok["normalizer"] = "NFC";
  expect_bad_file(tok, "normalizer must be an object, not string");
  tok["normalizer"] = json{{"type", "NFKC"}};
  expect_error(convert(tok), "hf.unsupported", "normalizer 'NFKC' is not supported");
  tok["normalizer"] = json{{"type", "Sequence"}, {"normalizers", json::array({json{{"type", "NFC"}}})}};
  auto c = convert(tok);
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->vocab.normalizer, "nfc");
}

TEST(HfConvert, RefusesMistypedConfig) {
  const auto tok = good_tokenizer();
  expect_bad_file(tok, "tokenizer_config.json: bos_token must be a string or an object, not number",
                  json{{"bos_token", 5}});
  expect_bad_file(tok, "tokenizer_config.json: eos_token.content must be a string",
                  json{{"eos_token", json{{"content", false}}}});
  expect_bad_file(tok, "bos_token '<s>' is not in the vocabulary", json{{"bos_token", "<s>"}});
  expect_bad_file(tok, "add_bos_token must be true or false, not string", json{{"add_bos_token", "true"}});
  expect_bad_file(tok, "add_bos_token is set but there is no bos_token", json{{"add_bos_token", true}});
  expect_bad_file(tok, "add_eos_token is set but there is no eos_token", json{{"add_eos_token", true}});
  // Without a config file: no bos/eos, eot still found by name.
  auto c = convert(tok, nullptr);
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->vocab.bos, ig::tok::kNoToken);
  EXPECT_EQ(c->vocab.eot, 261);
}

// Every node of a good file replaced in turn by values of every other type: the converter
// answers each with a result or an error, and never crashes or throws.
TEST(HfConvert, SurvivesEveryNodeReplacedByEveryType) {
  const json good = good_tokenizer();
  const json flat = good.flatten();
  const std::vector<json> replacements = {nullptr, 0, -1, 1e300, "x", "", true, json::array(), json::object(),
                                          json::array({nullptr}), json{{"type", "BPE"}}};
  size_t runs = 0, errors = 0;
  for (const auto& [path, value] : flat.items()) {
    (void)value;
    // The byte tokens all look alike; one of them stands for the rest.
    if (path.starts_with("/model/vocab/") && path != "/model/vocab/a" && path != "/model/vocab/he") continue;
    for (const json& r : replacements) {
      json tok = good;
      tok[json::json_pointer(path)] = r;
      auto c = convert(tok);
      ++runs;
      errors += !c.has_value();
      if (!c) {
        EXPECT_FALSE(c.error().message.empty());
      }
    }
  }
  EXPECT_GT(runs, 200u);
  EXPECT_GT(errors, runs / 3);  // most replacements break the file
}

// Truncated and byte-flipped files: errors, never crashes.
TEST(HfConvert, SurvivesTruncatedAndCorruptedText) {
  const std::string text = good_tokenizer().dump();
  const std::string config = good_config().dump();
  for (size_t len = 0; len < text.size(); len += 97) EXPECT_FALSE(ig::tok::vocab_from_hf(text.substr(0, len), config));
  std::mt19937 rng(12);
  for (int k = 0; k < 300; ++k) {
    std::string bad = text;
    for (int flips = 0; flips < 3; ++flips) bad[rng() % bad.size()] = static_cast<char>(rng() % 256);
    auto c = ig::tok::vocab_from_hf(bad, config);
    if (!c) {
      EXPECT_FALSE(c.error().message.empty());
    }
  }
}
}  // namespace
