#include "inference/engine/sampler.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>
#include <vector>

// The conversions below must be single correctly rounded IEEE operations on every machine:
// a target evaluating float expressions in wider precision (x87, FLT_EVAL_METHOD 2) could
// round them differently and choose other tokens than everyone else.
static_assert(FLT_EVAL_METHOD == 0, "the sampler needs float arithmetic evaluated in its own type");

namespace ig::engine {

float sampling_temperature(const ig::SamplingParams& p) {
  // Both operands are exact in binary32 (temperature_milli <= 100000 < 2^24 once validated),
  // so this is the correctly rounded quotient: the same bits on every machine.
  return float(p.temperature_milli) / 1000.0f;
}

double sampling_top_p(const ig::SamplingParams& p) { return double(p.top_p_milli) / 1000.0; }

Status validate(const ig::SamplingParams& p) {
  if (auto why = ig::sampling_params_problem(p)) return fail("sampler.bad_params", *why);
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

int32_t choose_token(std::span<const float> logits, const ig::SamplingParams& p, uint32_t step) {
  if (p.greedy()) return argmax(logits);
  const double temperature = double(sampling_temperature(p));
  const double top_p = sampling_top_p(p);
  const size_t k = p.top_k == 0 ? logits.size() : std::min<size_t>(p.top_k, logits.size());
  const std::vector<int32_t> ids = top_ids(logits, k);
  const double lmax = logits[ids[0]];
  std::vector<double> w(ids.size());
  double sum = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    w[i] = std::exp((double(logits[ids[i]]) - lmax) / temperature);
    sum += w[i];
  }
  size_t kept = ids.size();
  if (top_p < 1.0) {
    const double target = top_p * sum;
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
