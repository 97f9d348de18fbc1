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

namespace {
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

double token_draw(uint64_t seed, uint32_t step, int32_t token) {
  // Two SplitMix64 rounds: (seed, step) first, then the token, so that neighbouring steps and
  // neighbouring ids get unrelated draws.
  const uint64_t z = mix64(seed + (uint64_t(step) + 1) * 0x9E3779B97F4A7C15ull);
  const uint64_t r = mix64(z ^ ((uint64_t(uint32_t(token)) + 1) * 0xD1B54A32D192ED03ull));
  return (double(r >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double gumbel_noise(uint64_t seed, uint32_t step, int32_t token) {
  return -std::log(-std::log(token_draw(seed, step, token)));
}

double race_score(float logit, double temperature, uint64_t seed, uint32_t step, int32_t token) {
  return double(logit) + temperature * gumbel_noise(seed, step, token);
}

namespace {

bool before(std::span<const float> l, int32_t a, int32_t b) {
  return l[a] > l[b] || (l[a] == l[b] && a < b);
}

// The largest of v (NaNs skipped; -inf when there is nothing else), folded into `best`.
// Eight running maxima instead of one: the single chain of dependent compares cost a
// verification 68 ms per 128 steps on a 151,936-entry vocabulary (12% of it).
float running_max(std::span<const float> v, float best) {
  float m[8];
  std::fill(std::begin(m), std::end(m), best);
  size_t i = 0;
  for (; i + 8 <= v.size(); i += 8)
    for (int j = 0; j < 8; ++j) m[j] = m[j] < v[i + size_t(j)] ? v[i + size_t(j)] : m[j];
  for (; i < v.size(); ++i) m[0] = m[0] < v[i] ? v[i] : m[0];
  for (int j = 1; j < 8; ++j) best = best < m[j] ? m[j] : best;
  return best < m[0] ? m[0] : best;
}

// The sequential `if (l[i] > l[best]) best = i` from best = 0: the first id of the largest value
// (+0 and -0 equal, NaNs never chosen, unless id 0 is a NaN: then 0). As the order-free maximum
// (running_max) and a search for its first id, whose compares are independent: the chain of
// dependent ones cost a greedy verification a tenth of a millisecond per step.
int32_t argmax(std::span<const float> l) {
  if (l.empty() || std::isnan(l[0])) return 0;
  const float m = running_max(l, -INFINITY);
  for (int32_t i = 0; i < int32_t(l.size()); ++i)
    if (l[size_t(i)] == m) return i;
  return 0;  // (not reached: m is one of l's values, l[0] at least)
}

// The first k ids in candidate order. For k below the vocabulary one pass keeps the best k seen
// so far in a heap whose top is the worst of them: nearly every logit of a 150k vocabulary is
// rejected by one comparison with that top (a selection over all ids, as before, cost about a
// millisecond per sampled step, a fifth of verifying a sampled Q4_0 output). The comparator is a
// strict total order, so the first k and their order are unique: the same ids in the same
// order as a full sort.
std::vector<int32_t> top_ids(std::span<const float> l, size_t k) {
  auto cmp = [&](int32_t a, int32_t b) { return before(l, a, b); };
  if (k >= l.size()) {
    std::vector<int32_t> ids(l.size());
    std::iota(ids.begin(), ids.end(), 0);
    std::sort(ids.begin(), ids.end(), cmp);
    return ids;
  }
  std::vector<int32_t> heap;  // std::*_heap with cmp: front() is the last in candidate order
  heap.reserve(k);
  int32_t i = 0;
  for (; i < int32_t(l.size()) && heap.size() < k; ++i) {
    heap.push_back(i);
    std::push_heap(heap.begin(), heap.end(), cmp);
  }
  // An id whose logit is not at least the heap's last member's (smaller, or NaN) cannot enter:
  // one float compare against a register, the full order only for the few that pass it.
  float last = l[size_t(heap.front())];
  for (; i < int32_t(l.size()); ++i) {
    if (!(l[size_t(i)] >= last) || !cmp(i, heap.front())) continue;
    std::pop_heap(heap.begin(), heap.end(), cmp);
    heap.back() = i;
    std::push_heap(heap.begin(), heap.end(), cmp);
    last = l[size_t(heap.front())];
  }
  std::sort(heap.begin(), heap.end(), cmp);
  return heap;
}

}  // namespace

Candidates candidates(std::span<const float> logits, const ig::SamplingParams& p) {
  const double temperature = double(sampling_temperature(p));
  const double top_p = sampling_top_p(p);
  const size_t k = p.top_k == 0 ? logits.size() : std::min<size_t>(p.top_k, logits.size());
  Candidates c;
  if (k == logits.size() && top_p >= 1.0) {
    // Everything races: the order does not matter, skip the sort (a 150k vocabulary).
    c.ids.resize(logits.size());
    std::iota(c.ids.begin(), c.ids.end(), 0);
    const int32_t best = argmax(logits);
    std::swap(c.ids[0], c.ids[size_t(best)]);  // ids[0] is still the top, as promised
  } else {
    c.ids = top_ids(logits, k);
  }
  const double lmax = logits[size_t(c.ids[0])];
  c.weight.resize(c.ids.size());
  for (size_t i = 0; i < c.ids.size(); ++i) {
    c.weight[i] = std::exp((double(logits[size_t(c.ids[i])]) - lmax) / temperature);
    c.total += c.weight[i];
  }
  c.kept = c.ids.size();
  if (top_p < 1.0) {
    const double target = top_p * c.total;
    double cum = 0;
    for (size_t i = 0; i < c.ids.size(); ++i) {
      cum += c.weight[i];
      if (cum >= target) { c.kept = i + 1; break; }
    }
  }
  return c;
}

int32_t choose_token(std::span<const float> logits, const ig::SamplingParams& p, uint32_t step) {
  if (p.greedy()) return argmax(logits);
  const Candidates c = candidates(logits, p);
  const double temperature = double(sampling_temperature(p));
  int32_t best = c.ids[0];
  double best_score = race_score(logits[size_t(best)], temperature, p.seed, step, best);
  for (size_t i = 1; i < c.kept; ++i) {
    const int32_t id = c.ids[i];
    const double s = race_score(logits[size_t(id)], temperature, p.seed, step, id);
    if (s > best_score || (s == best_score && id < best)) {  // ties: the lower id, whatever the order
      best = id;
      best_score = s;
    }
  }
  return best;
}


// runner_up is what a sequential `best = std::max(best, logits[i])` over i != token gives: the
// first value of the largest class in id order. Equal values differ in bits only for +0 and -0,
// so the order-free maximum above is that value unless it is a zero, whose sign is then the
// first zero's.
Decision describe(std::span<const float> logits, int32_t token) {
  Decision d;
  d.token = token;
  d.logit = logits[size_t(token)];
  const auto before = logits.first(size_t(token)), after = logits.subspan(size_t(token) + 1);
  float best = running_max(after, running_max(before, -INFINITY));
  if (best == 0.0f)
    for (int32_t i = 0; i < int32_t(logits.size()); ++i)
      if (i != token && logits[size_t(i)] == 0.0f) {
        best = logits[size_t(i)];
        break;
      }
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
