// Perplexity over a token sequence, computed as llama.cpp's perplexity example does
// (examples/perplexity/perplexity.cpp, `perplexity()`, at c392e50):
//
//   - the text is tokenized once with the vocab's own BOS/EOS rule (common_tokenize with
//     add_special = true); llama.cpp refuses fewer than 2 * ctx tokens;
//   - it is cut into n_chunk = n_tokens / ctx non-overlapping chunks of ctx tokens (the tail
//     is dropped); each chunk is evaluated from an empty KV cache at positions 0..ctx-1, with
//     its first token replaced by BOS when the vocab adds BOS;
//   - only the second half of each chunk is scored: with first = ctx / 2, the logits at
//     positions first .. ctx-2 predict the tokens at first+1 .. ctx-1 (ctx - first - 1 per
//     chunk), each a log-softmax over the whole vocabulary in double;
//   - nll = sum / count, perplexity = exp(nll).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/expected.hpp"
#include "inference/engine/model.hpp"
#include "kernels/kernels.hpp"

namespace ig::engine {

struct PerplexityOptions {
  int ctx = 512;           // llama.cpp's default --ctx-size for this tool
  int max_chunks = -1;     // llama.cpp's --chunks (-1: all)
  bool add_bos = true;     // llama_vocab_get_add_bos: replace each chunk's first token by BOS
};

struct PerplexityResult {
  double nll = 0;                    // mean negative log-likelihood (natural log)
  double perplexity = 0;             // exp(nll)
  int chunks = 0;
  int ctx = 0;
  int64_t n_tokens = 0;              // tokens in the text
  int64_t scored = 0;                // predictions scored: chunks * (ctx - ctx/2 - 1)
  std::vector<double> running;       // perplexity after each chunk (llama.cpp's "[i]ppl," line)
};

// `tokens` is the tokenized text (BOS first when the vocab adds it). Fails when there are
// fewer than 2 * ctx tokens (as llama.cpp does), when ctx is below 4 or beyond the model's
// context, or on a token outside the vocabulary.
Expected<PerplexityResult> perplexity(const Model& model, kernels::Backend& backend,
                                      std::span<const int32_t> tokens, const PerplexityOptions& opt);

// -log softmax(logits)[target], in double (max-subtracted sum of exponentials).
double token_nll(std::span<const float> logits, int32_t target);

}  // namespace ig::engine
