#include "inference/receipt/checks.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "inference/engine/sampler.hpp"
#include "inference/receipt/fingerprint.hpp"

namespace ig::receipt {

const char* mode_name(Mode m) { return m == Mode::Exact ? "exact" : "tolerant"; }

const char* noise_class_name(NoiseClass c) { return c == NoiseClass::Dense ? "dense" : "quantized"; }

NoiseClass noise_class(const engine::Model& model) {
  auto quantized = [](const kernels::Weight& w) {
    return w.type == kernels::DType::Q8_0 || w.type == kernels::DType::Q4_0 || kernels::dtype_is_kquant(w.type) ||
           kernels::dtype_is_q5(w.type);
  };
  if (quantized(model.token_embd()) || quantized(model.output())) return NoiseClass::Quantized;
  for (const auto& l : model.layers())
    for (const kernels::Weight* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
      if (quantized(*w)) return NoiseClass::Quantized;
  return NoiseClass::Dense;
}

Tolerance default_tolerance(NoiseClass c) {
  // Calibrated by bench/verify_study (docs/verification.md, "Thresholds"): sigma fitted so that
  // the noisiest model of each class has an honest mean z^2 of about 1; the k's leave at least
  // 1.4x between the largest honest residual and decision margin of the study and the
  // threshold; drift_mean 1.5 bounds the honest mean of the clipped z^2 with headroom.
  Tolerance t;
  if (c == NoiseClass::Dense) {
    t.abs_sigma = 2e-5;
    t.rel_sigma = 2e-6;
  } else {
    t.abs_sigma = 0.012;
    t.rel_sigma = 0.0018;
  }
  t.margin_k = 7;
  t.logit_k = 10;
  t.drift_clip = 6;
  t.drift_mean = 1.5;
  t.drift_alpha = 1e-6;
  return t;
}

namespace {

// The sampled decision margin's machinery: the verifier's top-k list sorted by logit, the
// race scores, and prefix masses to answer "mass of the tokens above x" by binary search.
class Race {
 public:
  Race(std::span<const float> logits, const ig::SamplingParams& p, uint32_t step, int32_t token)
      : l_(logits), c_(token), top_p_(engine::sampling_top_p(p)) {
    const double temperature = double(engine::sampling_temperature(p));
    const engine::Candidates cand = engine::candidates(logits, p);
    const size_t vocab = logits.size();
    whole_vocab_ = cand.ids.size() == vocab;
    race_all_ = whole_vocab_ && top_p_ >= 1.0;
    ids_ = cand.ids;
    weight_ = cand.weight;
    total_ = cand.total;
    score_.resize(ids_.size());
    for (size_t i = 0; i < ids_.size(); ++i) {
      score_[i] = engine::race_score(l_[size_t(ids_[i])], temperature, p.seed, step, ids_[i]);
      if (ids_[i] == c_) pos_ = int64_t(i);
    }
    score_c_ = engine::race_score(l_[size_t(c_)], temperature, p.seed, step, c_);
    if (race_all_) return;
    prefix_.assign(ids_.size() + 1, 0.0);
    for (size_t i = 0; i < ids_.size(); ++i) prefix_[i + 1] = prefix_[i] + weight_[i];
    if (!whole_vocab_) {  // the best logit outside the top-k: what a member must stay above
      std::vector<char> in(vocab, 0);
      for (int32_t id : ids_) in[size_t(id)] = 1;
      for (size_t i = 0; i < vocab; ++i)
        if (!in[i]) first_out_ = std::max(first_out_, double(l_[i]));
    }
    by_score_.resize(ids_.size());
    std::iota(by_score_.begin(), by_score_.end(), size_t(0));
    std::sort(by_score_.begin(), by_score_.end(), [&](size_t a, size_t b) { return score_[a] > score_[b]; });
  }

  double margin() const {
    if (race_all_) {
      double best = -INFINITY;
      for (size_t i = 0; i < ids_.size(); ++i)
        if (ids_[i] != c_) best = std::max(best, score_[i]);
      return std::max(0.0, best - score_c_);
    }
    if (feasible(0.0)) return 0.0;
    double lo = 0.0, hi = 1.0;
    while (!feasible(hi)) {
      lo = hi;
      hi *= 2;
      if (hi > 1e6) return kNoMargin;
    }
    for (int i = 0; i < 50; ++i) {  // feasibility only grows with m: bisect to ~1e-15 of hi
      const double mid = 0.5 * (lo + hi);
      (feasible(mid) ? hi : lo) = mid;
    }
    return hi;
  }

 private:
  double logit(size_t i) const { return double(l_[size_t(ids_[i])]); }
  // Mass of the listed ids with logit > x (strict) or >= x.
  double mass_above(double x, bool strict) const {
    size_t lo = 0, hi = ids_.size();  // logits descend along ids_
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (strict ? logit(mid) > x : logit(mid) >= x) lo = mid + 1;
      else hi = mid;
    }
    return prefix_[lo];
  }
  bool possibly_kept(double m) const {
    if (pos_ < 0 && double(l_[size_t(c_)]) + m < logit(ids_.size() - 1)) return false;
    if (top_p_ >= 1.0) return true;
    double above = mass_above(double(l_[size_t(c_)]) + m, true);
    return above / total_ < top_p_ + kCutSlack;
  }
  bool surely_kept(size_t i, double m) const {
    if (!whole_vocab_ && !(logit(i) > first_out_ + m)) return false;
    if (top_p_ >= 1.0) return true;
    return (mass_above(logit(i) - m, false) - weight_[i]) / total_ < top_p_ - kCutSlack;
  }
  bool feasible(double m) const {
    if (!possibly_kept(m)) return false;
    for (size_t i : by_score_) {
      if (score_[i] <= score_c_ + m) return true;  // no surely-kept competitor is far enough ahead
      if (ids_[i] != c_ && surely_kept(i, m)) return false;
    }
    return true;
  }

  std::span<const float> l_;
  int32_t c_;
  double top_p_;
  bool whole_vocab_ = false, race_all_ = false;
  std::vector<int32_t> ids_;
  std::vector<double> weight_, score_, prefix_;
  std::vector<size_t> by_score_;
  double total_ = 0, score_c_ = 0, first_out_ = -INFINITY;
  int64_t pos_ = -1;
};

}  // namespace

double decision_margin(std::span<const float> logits, const ig::SamplingParams& p, uint32_t step, int32_t token) {
  if (p.greedy()) {
    double best = -INFINITY;
    for (size_t i = 0; i < logits.size(); ++i)
      if (int32_t(i) != token) best = std::max(best, double(logits[i]));
    return std::max(0.0, best - double(logits[size_t(token)]));
  }
  return Race(logits, p, step, token).margin();
}

// max - mean of the logits. The sum runs in eight lanes (id mod 8) added in a fixed order at the
// end, the maximum likewise: one chain of dependent adds over a 151,936-entry vocabulary cost
// 0.2 ms a step, 8% of a verification. (Any fixed order gives every verifier the same bits.)
double logit_scale(std::span<const float> logits) {
  double sum[8] = {}, top[8];
  std::fill(std::begin(top), std::end(top), -INFINITY);
  size_t i = 0;
  for (; i + 8 <= logits.size(); i += 8)
    for (int j = 0; j < 8; ++j) {
      const double v = double(logits[i + size_t(j)]);
      sum[j] += v;
      top[j] = std::max(top[j], v);
    }
  for (; i < logits.size(); ++i) {
    sum[0] += double(logits[i]);
    top[0] = std::max(top[0], double(logits[i]));
  }
  const double total = ((sum[0] + sum[1]) + (sum[2] + sum[3])) + ((sum[4] + sum[5]) + (sum[6] + sum[7]));
  const double largest = std::max(std::max(std::max(top[0], top[1]), std::max(top[2], top[3])),
                                  std::max(std::max(top[4], top[5]), std::max(top[6], top[7])));
  return largest - total / double(logits.size());
}

StepObservation observe_step(std::span<const float> logits, const ig::SamplingParams& p, uint32_t step,
                             const ig::Fingerprint& claimed) {
  StepObservation s;
  s.claimed = claimed;
  const engine::Decision mine = engine::describe(logits, claimed.token);
  s.recomputed = fingerprint(mine);
  // Greedy: a claimed token strictly above every other logit is the argmax (unless id 0 holds a
  // NaN, which argmax keeps), so an honest step needs no second scan of the vocabulary.
  const bool sole_top = p.greedy() && mine.logit > mine.runner_up && !std::isnan(logits[0]);
  const int32_t choice = sole_top ? claimed.token : engine::choose_token(logits, p, step);
  // (the same token describes the same: one scan of the vocabulary fewer on an honest step)
  s.expected = choice == claimed.token ? s.recomputed : fingerprint(engine::describe(logits, choice));
  s.scale = logit_scale(logits);
  s.margin = claimed.token == choice ? 0.0 : decision_margin(logits, p, step, claimed.token);
  return s;
}

double step_sigma(const StepObservation& s, const Tolerance& tol) { return tol.abs_sigma + tol.rel_sigma * s.scale; }

double drift_term(const StepObservation& s, const Tolerance& tol) {
  const double a = dequantize_logit(s.claimed.logit_q) - dequantize_logit(s.recomputed.logit_q);
  const double b = dequantize_logit(s.claimed.runner_up_q) - dequantize_logit(s.recomputed.runner_up_q);
  const double sq = a * a + b * b;
  if (sq == 0) return 0;
  const double sigma = step_sigma(s, tol);
  if (!(sigma > 0)) return tol.drift_clip;
  return std::min(tol.drift_clip, sq / (2 * sigma * sigma));
}

double drift_limit(size_t n, const Tolerance& tol) {
  if (n == 0) return INFINITY;
  return tol.drift_mean + tol.drift_clip * std::sqrt(std::log(1.0 / tol.drift_alpha) / (2.0 * double(n)));
}

StepJudgement judge_steps(std::span<const StepObservation> steps, const ig::SamplingParams& p, Mode mode,
                          const Tolerance& tol) {
  StepJudgement j;
  auto fail_at = [&](size_t t, const char* code) {
    if (!j.accepted) return;
    j.accepted = false;
    j.code = code;
    j.first_bad_step = int64_t(t);
  };
  for (size_t t = 0; t < steps.size(); ++t) {
    const StepObservation& s = steps[t];
    const bool own_choice = s.claimed.token == s.expected.token;
    if (own_choice) j.exact_matches++;
    if (mode == Mode::Exact) {
      if (!own_choice) fail_at(t, "verify.token_mismatch");
      else if (s.claimed != s.recomputed) fail_at(t, "verify.logit_mismatch");
      continue;
    }
    const double sigma = step_sigma(s, tol);
    // A greedy miner's chosen logit is the largest, so its quantized logit is >= the quantized
    // runner-up (rounding is monotone): no noise can explain the opposite.
    if (p.greedy() && s.claimed.logit_q < s.claimed.runner_up_q) fail_at(t, "verify.greedy_claim");
    else if (!(s.margin <= tol.margin_k * sigma)) fail_at(t, "verify.token_mismatch");
    else {
      const double a = std::fabs(dequantize_logit(s.claimed.logit_q) - dequantize_logit(s.recomputed.logit_q));
      const double b = std::fabs(dequantize_logit(s.claimed.runner_up_q) - dequantize_logit(s.recomputed.runner_up_q));
      if (!(a <= tol.logit_k * sigma && b <= tol.logit_k * sigma)) fail_at(t, "verify.logit_mismatch");
    }
  }
  if (mode == Mode::Exact || steps.empty()) return j;
  double sum = 0;
  int64_t crossed = -1;  // the first prefix whose mean is over its own limit
  for (size_t t = 0; t < steps.size(); ++t) {
    sum += drift_term(steps[t], tol);
    if (crossed < 0 && sum / double(t + 1) > drift_limit(t + 1, tol)) crossed = int64_t(t);
  }
  j.drift = sum / double(steps.size());
  j.drift_limit = drift_limit(steps.size(), tol);
  // One look at the whole output decides (the bound is per test); the prefix that first
  // crossed only says how many tokens the evidence needed.
  if (j.accepted && j.drift > j.drift_limit) {
    j.accepted = false;
    j.code = "verify.logit_drift";
    j.first_bad_step = crossed >= 0 ? crossed : int64_t(steps.size()) - 1;
  }
  return j;
}

}  // namespace ig::receipt
