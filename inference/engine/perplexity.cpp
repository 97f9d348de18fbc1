#include "inference/engine/perplexity.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "inference/engine/session.hpp"

namespace ig::engine {

double token_nll(std::span<const float> logits, int32_t target) {
  float mx = logits[0];
  for (float v : logits) mx = std::max(mx, v);
  double sum = 0;
  for (float v : logits) sum += std::exp(double(v) - double(mx));
  return std::log(sum) - (double(logits[size_t(target)]) - double(mx));
}

Expected<PerplexityResult> perplexity(const Model& model, kernels::Backend& backend,
                                      std::span<const int32_t> tokens, const PerplexityOptions& opt) {
  const auto& c = model.config();
  const int ctx = opt.ctx;
  if (ctx < 4 || ctx > c.context)
    return fail("perplexity.bad_ctx", "--ctx " + std::to_string(ctx) + " is outside 4.." +
                                          std::to_string(c.context) + " (the model's context)");
  if (int64_t(tokens.size()) < 2 * int64_t(ctx))
    return fail("perplexity.too_short", "the text tokenizes to " + std::to_string(tokens.size()) +
                                            " tokens; a context of " + std::to_string(ctx) +
                                            " needs at least " + std::to_string(2 * int64_t(ctx)));
  if (opt.add_bos && c.bos_id < 0)
    return fail("perplexity.no_bos", "the vocab adds BOS but declares no bos_token_id");
  for (int32_t t : tokens)
    if (t < 0 || t >= c.vocab)
      return fail("perplexity.bad_token", "token id " + std::to_string(t) + " is outside the vocabulary");
  int n_chunk = int(int64_t(tokens.size()) / ctx);
  if (opt.max_chunks >= 0) n_chunk = std::min(n_chunk, opt.max_chunks);
  const int first = ctx / 2;

  IG_TRY_ASSIGN(session, Session::create(model, backend, ctx));
  PerplexityResult r;
  r.ctx = ctx;
  r.chunks = n_chunk;
  r.n_tokens = int64_t(tokens.size());
  double nll = 0;
  int64_t count = 0;
  std::vector<int32_t> chunk(static_cast<size_t>(ctx), 0);
  for (int i = 0; i < n_chunk; ++i) {
    const auto begin = tokens.begin() + int64_t(i) * ctx;
    std::copy(begin, begin + ctx, chunk.begin());
    if (opt.add_bos) chunk[0] = c.bos_id;
    session.reset();
    // Logits at position p predict the original token at p + 1; positions first .. ctx-2.
    double chunk_nll = 0;
    // (no output head for the first half: its logits are not scored)
    IG_TRY(session.eval_from(chunk, first, [&](int p, std::span<const float> logits) {
      if (p < first || p >= ctx - 1) return;
      chunk_nll += token_nll(logits, begin[p + 1]);
    }));
    nll += chunk_nll;
    count += ctx - first - 1;
    r.running.push_back(std::exp(nll / double(count)));
  }
  r.scored = count;
  r.nll = nll / double(count);
  r.perplexity = std::exp(r.nll);
  return r;
}

}  // namespace ig::engine
