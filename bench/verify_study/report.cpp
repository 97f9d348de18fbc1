// The study's report: false positives per honest pairing, detection per cheat kind, the
// honest noise the thresholds are calibrated on, a threshold sweep, and the plot.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>

#include "bench/verify_study/stats.hpp"
#include "bench/verify_study/study.hpp"
#include "inference/receipt/fingerprint.hpp"

namespace ig::study {
namespace {

using nlohmann::json;

json interval_json(long k, long n) {
  const Interval w = wilson(k, n), cp = clopper_pearson(k, n);
  return {{"k", k}, {"n", n}, {"rate", n ? double(k) / double(n) : 0.0}, {"wilson95", {w.lo, w.hi}},
          {"clopper_pearson95", {cp.lo, cp.hi}}};
}

receipt::Tolerance tolerance_of(const TaskRecord& r) {
  return receipt::default_tolerance(r.check.verdict.noise);
}

// Per-task maxima of the normalized quantities the rules compare with their thresholds.
struct Extremes {
  double logit = 0;   // max |claimed - recomputed| / sigma over logit and runner-up
  double margin = 0;  // max decision margin / sigma
  double drift_ratio = 0;  // drift / its limit
};

Extremes extremes(const TaskRecord& r) {
  Extremes e;
  const receipt::Tolerance tol = tolerance_of(r);
  for (const auto& s : r.check.steps) {
    const double sigma = receipt::step_sigma(s, tol);
    const double a = std::fabs(receipt::dequantize_logit(s.claimed.logit_q) - receipt::dequantize_logit(s.recomputed.logit_q));
    const double b = std::fabs(receipt::dequantize_logit(s.claimed.runner_up_q) -
                               receipt::dequantize_logit(s.recomputed.runner_up_q));
    e.logit = std::max(e.logit, std::max(a, b) / sigma);
    e.margin = std::max(e.margin, std::min(1e9, s.margin / sigma));
  }
  if (r.check.verdict.drift_limit > 0) e.drift_ratio = r.check.verdict.drift / r.check.verdict.drift_limit;
  return e;
}

bool tolerant(const TaskRecord& r) { return r.check.verdict.mode == receipt::Mode::Tolerant; }

json honest_group(const std::vector<const TaskRecord*>& rs) {
  long rejected = 0, greedy = 0, exact_steps = 0, steps = 0, fsteps = 0, fmulti = 0, ftokens = 0;
  std::map<std::string, long> codes;
  std::vector<double> logit, margin, drift;
  double drift_terms = 0;
  long drift_n = 0;
  for (const TaskRecord* r : rs) {
    const auto& v = r->check.verdict;
    if (!v.accepted) {
      rejected++;
      codes[v.code]++;
    }
    greedy += r->params == ParamKind::Greedy;
    exact_steps += v.exact_matches;
    steps += v.steps_checked;
    fsteps += r->freedom_steps;
    fmulti += r->freedom_multi;
    ftokens += r->freedom_tokens;
    const Extremes e = extremes(*r);
    logit.push_back(e.logit);
    margin.push_back(e.margin);
    drift.push_back(e.drift_ratio);
    for (const auto& s : r->check.steps) drift_terms += receipt::drift_term(s, tolerance_of(*r)), drift_n++;
  }
  json j = {{"tasks", rs.size()},
            {"greedy", greedy},
            {"sampled", long(rs.size()) - greedy},
            {"mode", rs.empty() ? "" : receipt::mode_name(rs[0]->check.verdict.mode)},
            {"noise_class", rs.empty() ? "" : receipt::noise_class_name(rs[0]->check.verdict.noise)},
            {"false_positives", interval_json(rejected, long(rs.size()))},
            {"codes", codes},
            {"exact_match_share", steps ? double(exact_steps) / double(steps) : 0.0},
            {"max_logit_sigmas", quantile(logit, 1.0)},
            {"p99_logit_sigmas", quantile(logit, 0.99)},
            {"max_margin_sigmas", quantile(margin, 1.0)},
            {"p99_margin_sigmas", quantile(margin, 0.99)},
            {"max_drift_over_limit", quantile(drift, 1.0)},
            {"mean_drift_term", drift_n ? drift_terms / double(drift_n) : 0.0}};
  if (fsteps > 0)
    j["sampled_freedom"] = {{"steps", fsteps},
                            {"mean_acceptable_tokens", double(ftokens) / double(fsteps)},
                            {"share_with_a_choice", double(fmulti) / double(fsteps)}};
  return j;
}

json cheat_group(const CheatPlan& plan, const std::vector<const TaskRecord*>& rs) {
  long detected = 0, within16 = 0, within64 = 0, at_step = 0, with_step = 0, steered = 0, steered_steps = 0;
  std::vector<double> tokens;
  std::map<std::string, long> codes;
  for (const TaskRecord* r : rs) {
    const auto& v = r->check.verdict;
    const int64_t t = tokens_to_detect(v);
    if (!v.accepted) {
      detected++;
      codes[v.code]++;
      tokens.push_back(double(t));
      within16 += t <= 16;
      within64 += t <= 64;
    }
    steered += r->steered;
    steered_steps += long(r->steps);
    if (r->cheat_step >= 0) {
      with_step++;
      at_step += !v.accepted && v.first_bad_step == r->cheat_step && v.code != "verify.logit_drift";
    }
  }
  const long n = long(rs.size());
  json j = {{"kind", plan.kind},
            {"claimed", plan.claimed},
            {"used", plan.used.empty() ? plan.claimed : plan.used},
            {"miner", plan.miner},
            {"verifier", plan.verifier},
            {"target", plan.budget_kind},
            {"detected", interval_json(detected, n)},
            {"within_16", interval_json(within16, n)},
            {"within_64", interval_json(within64, n)},
            {"tokens_median", quantile(tokens, 0.5)},
            {"tokens_p99", quantile(tokens, 0.99)},
            {"tokens_max", quantile(tokens, 1.0)},
            {"codes", codes}};
  if (with_step > 0) j["at_its_step"] = interval_json(at_step, with_step);
  if (plan.kind == "token_steer")
    j["steered_share_of_steps"] = steered_steps ? double(steered) / double(steered_steps) : 0.0;
  return j;
}

// Re-judges every tolerant record with the margin and logit thresholds scaled by `factor`:
// how the false positives and the detection within budget move with the threshold.
json sweep(const Plan& plan, const std::vector<TaskRecord>& records) {
  json out = json::array();
  for (double factor : {0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0}) {
    long fp = 0, honest = 0;
    std::map<std::string, std::pair<long, long>> kinds;  // kind -> (caught within budget, n)
    for (const TaskRecord& r : records) {
      if (!tolerant(r)) continue;
      receipt::Tolerance tol = tolerance_of(r);
      tol.margin_k *= factor;
      tol.logit_k *= factor;
      const receipt::StepJudgement j = receipt::judge_steps(r.check.steps, claimed_params(r, plan.max_tokens), receipt::Mode::Tolerant, tol);
      const bool rejected = r.check.steps.empty() ? !r.check.verdict.accepted : !j.accepted;
      if (r.group == "honest") {
        honest++;
        fp += rejected;
      } else {
        const int64_t t = r.check.steps.empty() ? tokens_to_detect(r.check.verdict) : j.first_bad_step + 1;
        const std::string kind = r.name.substr(0, r.name.find(':'));
        auto& k = kinds[kind];
        k.second++;
        k.first += rejected && t <= (kind.rfind("model", 0) == 0 ? 16 : 64);
      }
    }
    json kj = json::object();
    for (const auto& [k, v] : kinds) kj[k] = double(v.first) / double(v.second);
    out.push_back({{"factor", factor}, {"honest_false_positives", fp}, {"honest", honest}, {"caught_within_budget", kj}});
  }
  return out;
}

// The honest noise the thresholds rest on, per noise class: residuals relative to the scale.
json calibration(const std::vector<TaskRecord>& records) {
  json out = json::object();
  for (auto nc : {receipt::NoiseClass::Dense, receipt::NoiseClass::Quantized}) {
    std::vector<double> rel, absd, scale;
    for (const TaskRecord& r : records) {
      if (r.group != "honest" || !tolerant(r) || r.check.verdict.noise != nc) continue;
      for (const auto& s : r.check.steps) {
        for (auto [c, v] : {std::pair{s.claimed.logit_q, s.recomputed.logit_q}, {s.claimed.runner_up_q, s.recomputed.runner_up_q}}) {
          const double d = std::fabs(receipt::dequantize_logit(c) - receipt::dequantize_logit(v));
          absd.push_back(d);
          rel.push_back(s.scale > 0 ? d / s.scale : 0);
        }
        scale.push_back(s.scale);
      }
    }
    if (absd.empty()) continue;
    double sq = 0;
    for (double d : absd) sq += d * d;
    const receipt::Tolerance t = receipt::default_tolerance(nc);
    out[receipt::noise_class_name(nc)] = {
        {"residuals", absd.size()},
        {"abs_rms", std::sqrt(sq / double(absd.size()))},
        {"abs_p50", quantile(absd, 0.5)},
        {"abs_p99", quantile(absd, 0.99)},
        {"abs_max", quantile(absd, 1.0)},
        {"rel_to_scale_p50", quantile(rel, 0.5)},
        {"rel_to_scale_p99", quantile(rel, 0.99)},
        {"rel_to_scale_max", quantile(rel, 1.0)},
        {"scale_p50", quantile(scale, 0.5)},
        {"tolerance",
         {{"abs_sigma", t.abs_sigma}, {"rel_sigma", t.rel_sigma}, {"margin_k", t.margin_k}, {"logit_k", t.logit_k},
          {"drift_clip", t.drift_clip}, {"drift_mean", t.drift_mean}, {"drift_alpha", t.drift_alpha}}}};
  }
  return out;
}

void write_plot(const std::string& prefix, const Plan& plan, const std::vector<TaskRecord>& records) {
  // 1: empirical CDF of tokens-to-detect per cheat kind; 2: per-task worst logit residual in
  // noise sigmas, honest against cheating, with the per-step threshold.
  std::ofstream d(prefix + "-detect.dat");
  std::vector<std::string> kinds;
  for (const auto& c : plan.cheats) {
    const std::string name = c.kind + ":" + c.claimed;
    std::vector<double> t;
    long n = 0;
    for (const auto& r : records)
      if (r.group == "cheat" && r.name == name) {
        n++;
        if (!r.check.verdict.accepted) t.push_back(double(tokens_to_detect(r.check.verdict)));
      }
    if (n == 0) continue;
    std::sort(t.begin(), t.end());
    d << "# " << name << "\n0 0\n";
    for (size_t i = 0; i < t.size(); ++i) d << t[i] << " " << double(i + 1) / double(n) << "\n";
    d << "\n\n";
    kinds.push_back(name);
  }
  std::ofstream h(prefix + "-noise.dat");
  for (const std::string group : {"honest", "cheat"}) {
    h << "# " << group << ": log10 of the worst step's residual over its threshold, results\n";
    std::map<int, long> bins;  // quarter-decades
    for (const auto& r : records)
      if (r.group == group && tolerant(r) && !r.check.steps.empty()) {
        const Extremes e = extremes(r);
        const receipt::Tolerance t = tolerance_of(r);
        const double worst = std::max({e.logit / t.logit_k, e.margin / t.margin_k, 1e-4});
        bins[int(std::floor(std::log10(std::min(worst, 1e8)) * 4))]++;
      }
    for (const auto& [b, n] : bins) h << double(b) / 4 + 0.125 << " " << n << "\n";
    h << "\n\n";
  }
  std::ofstream g(prefix + ".gp");
  // pngcairo draws dashes and anti-aliased lines; gnuplot-nox without cairo falls back to png.
  g << "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) { set terminal pngcairo size 1600,760 font ',10' } "
    << "else { set terminal png size 1600,760 font ',10' }\nset termoption noenhanced\nset output '" << prefix
    << ".png'\nset multiplot layout 1,2\n"
    << "set title 'Cheats: share rejected within N tokens (dashed: the 16 and 64 token budgets)'\n"
    << "set xlabel '1 + tokens the verifier needed (1 = rejected without running the model)'\n"
    << "set ylabel 'share of cheating results rejected'\nset logscale x 2\nset xrange [0.5:128]\nset yrange [0:1.02]\n"
    << "set key bottom right font ',8'\nset arrow from 17,0 to 17,1.02 nohead dt 2\nset arrow from 65,0 to 65,1.02 nohead dt 2\n"
    << "plot ";
  for (size_t i = 0; i < kinds.size(); ++i) {
    // A hue per kind around the wheel, and three dash patterns, so 30 curves stay apart.
    const double hue = 6.0 * double(i) / double(kinds.size());
    const double x = 1.0 - std::fabs(std::fmod(hue, 2.0) - 1.0);
    const double rgb[6][3] = {{1, x, 0}, {x, 1, 0}, {0, 1, x}, {0, x, 1}, {x, 0, 1}, {1, 0, x}};
    const auto& c = rgb[std::min(5, int(hue))];
    char color[8];
    std::snprintf(color, sizeof color, "#%02x%02x%02x", int(c[0] * 200), int(c[1] * 200), int(c[2] * 200));
    g << (i ? ", " : "") << "'" << prefix << "-detect.dat' index " << i << " using ($1+1):2 with steps lw 2 dt "
      << (i % 3 + 1) << " lc rgb '" << color << "' title '" << kinds[i] << "'";
  }
  g << "\nunset arrow\nunset logscale x\n"
    << "set title 'Per result: the worst step residual / its threshold (tolerant mode; > 1 is rejected)'\n"
    << "set xlabel 'log10(max over steps of max(logit residual / logit_k sigma, decision margin / margin_k sigma))'\n"
    << "set ylabel 'results'\nset xrange [-4.5:8.5]\nset yrange [0:*]\nset key top right\n"
    << "set arrow from 0,graph 0 to 0,graph 1 nohead dt 2 lc 'black'\nset style fill transparent solid 0.5\n"
    << "set boxwidth 0.25\nplot '" << prefix << "-noise.dat' index 0 using 1:2 with boxes title 'honest', '' index 1 using 1:2 "
    << "with boxes title 'cheats'\nunset multiplot\n";
}

}  // namespace

json report(const Plan& plan, const std::vector<TaskRecord>& records, const std::string& prefix, bool plot) {
  json j;
  j["max_tokens"] = plan.max_tokens;
  j["seed"] = plan.seed;
  json honest = json::array();
  long cross = 0, cross_fp = 0, cross_greedy = 0;
  std::set<std::string> cross_models;
  for (const auto& h : plan.honest) {
    const std::string name = h.model + ":" + h.miner + "->" + h.verifier;
    std::vector<const TaskRecord*> rs;
    for (const auto& r : records)
      if (r.group == "honest" && r.name == name) rs.push_back(&r);
    json g = honest_group(rs);
    g["model"] = h.model;
    g["miner"] = h.miner;
    g["verifier"] = h.verifier;
    honest.push_back(g);
    for (const TaskRecord* r : rs)
      if (tolerant(*r)) {
        cross++;
        cross_fp += !r->check.verdict.accepted;
        cross_greedy += r->params == ParamKind::Greedy;
        cross_models.insert(r->model);
      }
  }
  j["honest"] = honest;
  j["honest_cross_backend"] = {{"false_positives", interval_json(cross_fp, cross)},
                               {"greedy", cross_greedy},
                               {"sampled", cross - cross_greedy},
                               {"models", cross_models}};
  json cheats = json::array();
  for (const auto& c : plan.cheats) {
    std::vector<const TaskRecord*> rs;
    for (const auto& r : records)
      if (r.group == "cheat" && r.name == c.kind + ":" + c.claimed) rs.push_back(&r);
    cheats.push_back(cheat_group(c, rs));
  }
  j["cheats"] = cheats;
  j["calibration"] = calibration(records);
  j["threshold_sweep"] = sweep(plan, records);
  std::ofstream(prefix + ".json") << j.dump(1) << "\n";
  if (plot) {
    write_plot(prefix, plan, records);
    const std::string cmd = "gnuplot '" + prefix + ".gp' 2>/dev/null";
    j["plot"] = std::system(cmd.c_str()) == 0 ? prefix + ".png" : "gnuplot failed or is missing (apt-get install gnuplot-nox)";
  }
  return j;
}

}  // namespace ig::study
