// A small but complete tokenizer vocabulary for random-weight models, so that
// generated test models can tokenize and detokenize real text.
#pragma once

#include <cstdint>

#include "common/expected.hpp"
#include "inference/gguf/writer.hpp"

namespace ig::gguf {

enum class VocabKind {
  Spm,  // tokenizer.ggml.model "llama": <unk>,<s>,</s>, 256 byte tokens, scored pieces
  Bpe,  // tokenizer.ggml.model "gpt2", pre "qwen2": 256 byte symbols, merges, 3 specials
};

inline constexpr uint32_t kMinSpmVocab = 260;
inline constexpr uint32_t kMinBpeVocab = 259;

// Writes tokenizer.ggml.* keys describing exactly n_vocab tokens.
Status add_synthetic_vocab(Writer& w, VocabKind kind, uint32_t n_vocab);

}  // namespace ig::gguf
