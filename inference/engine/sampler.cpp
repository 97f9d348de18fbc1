#include "inference/engine/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace ig::engine {

Status validate(const SamplingParams& p) {
  if (p.max_tokens == 0) return fail("sampler.bad_params", "max_tokens must be at least 1");
  if (std::isnan(p.temperature) || p.temperature < 0 || std::isinf(p.temperature))
    return fail("sampler.bad_params", "temperature must be a finite number >= 0");
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
    return fail("sampler.bad_params", "top_p must be in (0, 1]");
  return {};
}

double uniform_draw(uint64_t seed, uint32_t step) {
  uint64_t z = seed + (uint64_t(step) + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return double(z >> 11) * (1.0 / 9007199254740992.0);
}

namespace {

bool before(std::span<const float> l, int32_t a, int32_t b) {
  return l[a] > l[b] || (l[a] == l[b] && a < b);
}

int32_t argmax(std::span<const float> l) {
  int32_t best = 0;
  for (int32_t i = 1; i < int32_t(l.size()); ++i)
    if (l[i] > l[best]) best = i;
  return best;
}

// The first k ids in candidate order.
std::vector<int32_t> top_ids(std::span<const float> l, size_t k) {
  std::vector<int32_t> ids(l.size());
  std::iota(ids.begin(), ids.end(), 0);
  auto cmp = [&](int32_t a, int32_t b) { return before(l, a, b); };
  // The comparator is a strict total order, so the first k and their order
  // are unique: selection then sort gives what a full sort would.
  if (k < ids.size()) {
    std::nth_element(ids.begin(), ids.begin() + std::ptrdiff_t(k), ids.end(), cmp);
    ids.resize(k);
    std::sort(ids.begin(), ids.end(), cmp);
  } else {
    std::sort(ids.begin(), ids.end(), cmp);
  }
  return ids;
}

}  // namespace

int32_t choose_token(std::span<const float> logits, const SamplingParams& p, uint32_t step) {
  if (p.greedy()) return argmax(logits);
  const size_t k = p.top_k == 0 ? logits.size() : std::min<size_t>(p.top_k, logits.size());
  const std::vector<int32_t> ids = top_ids(logits, k);
  const double lmax = logits[ids[0]];
  std::vector<double> w(ids.size());
  double sum = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    w[i] = std::exp((double(logits[ids[i]]) - lmax) / double(p.temperature));
    sum += w[i];
  }
  size_t kept = ids.size();
  if (p.top_p < 1.0f) {
    const double target = double(p.top_p) * sum;
    double cum = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      cum += w[i];
      if (cum >= target) { kept = i + 1; break; }
    }
  }
  double kept_sum = 0;
  for (size_t i = 0; i < kept; ++i) kept_sum += w[i];
  const double target = uniform_draw(p.seed, step) * kept_sum;
  double cum = 0;
  for (size_t i = 0; i < kept; ++i) {
    cum += w[i];
    if (cum > target) return ids[i];
  }
  return ids[kept - 1];
}

Decision describe(std::span<const float> logits, int32_t token) {
  Decision d;
  d.token = token;
  d.logit = logits[size_t(token)];
  float best = -INFINITY;
  for (int32_t i = 0; i < int32_t(logits.size()); ++i)
    if (i != token) best = std::max(best, logits[size_t(i)]);
  d.runner_up = best;
  return d;
}

int rank_of(std::span<const float> logits, int32_t token) {
  int r = 0;
  for (int32_t i = 0; i < int32_t(logits.size()); ++i)
    if (i != token && before(logits, i, token)) ++r;
  return r;
}

}  // namespace ig::engine
