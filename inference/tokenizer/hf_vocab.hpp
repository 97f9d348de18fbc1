// Hugging Face tokenizer.json (+ tokenizer_config.json) -> a GGUF vocabulary, for the
// byte-level BPE tokenizers of Llama 3 and Qwen2/2.5 (and GPT-2-style ones), following what
// llama.cpp's convert_hf_to_gguf.py writes so the result loads in either program:
//
//  - tokens by id from model.vocab and added_tokens; ids nobody uses become "[PAD<id>]" (unused);
//  - added tokens: "special" ones, and ones that look special ("<|...|>"), are control tokens,
//    the rest user-defined (matched in any text, as Hugging Face does);
//  - merges as "left right" strings, whichever of the two JSON forms the file uses (each of two
//    model.vocab tokens whose concatenation is one too, none repeated);
//  - the pre-tokenizer recognised from its Split regex: llama3 or qwen2 (or gpt-2);
//  - bos/eos/pad/unk from tokenizer_config.json (or the post-processor's template), eot from
//    the end-of-turn token names llama.cpp knows; add_bos_token from the config, else the
//    template, else llama.cpp's default for the pre-tokenizer;
//  - an NFC normalizer as kNormalizerKey (llama.cpp skips normalizers; we do not).
//
//   IG_TRY_ASSIGN(conv, ig::tok::vocab_from_hf(tokenizer_json_text, config_text));
//   IG_TRY(ig::tok::write_vocab_gguf("vocab.gguf", conv));
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"
#include "inference/gguf/writer.hpp"
#include "inference/tokenizer/tokenizer.hpp"

namespace ig::tok {

struct HfOptions {
  std::string pre;  // force this pre-tokenizer name instead of recognising the regex
};

struct HfConversion {
  Vocab vocab;
  std::string arch;                // general.architecture of the vocab-only file: llama, qwen2 or gpt2
  std::string name;                // general.name
  TokenId pad = kNoToken;
  std::vector<std::string> notes;  // how each derived setting was decided, for a person to read
};

// Converts tokenizer.json (and tokenizer_config.json; config_json may be empty when there is
// none). Errors: "hf.unsupported" names a feature we do not implement (another model type,
// pre-tokenizer, normalizer, stripping added tokens), "hf.bad_file" a malformed file (invalid
// JSON, a setting of the wrong type, an id out of range or shared, a bad or repeated merge, a
// special token not in the vocabulary), each naming the setting. Bad input never throws.
Expected<HfConversion> vocab_from_hf(std::string_view tokenizer_json, std::string_view config_json,
                                     const HfOptions& options = {});

// Adds tokenizer.ggml.* (and kNormalizerKey when `v` normalizes) for `v` to a GGUF writer.
void add_vocab_metadata(gguf::Writer& w, const Vocab& v, TokenId pad = kNoToken);
// A vocabulary-only GGUF file (no tensors), like llama.cpp's models/ggml-vocab-*.gguf.
Status write_vocab_gguf(const std::string& path, const HfConversion& c);

}  // namespace ig::tok
