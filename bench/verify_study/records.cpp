// The study's raw data: one JSON line per task with its step observations, so that the
// thresholds can be re-calibrated and the report re-made (--from-records) without running a
// model again: every rule is a function of the observations (receipt::judge_steps).
#include <fstream>

#include "bench/verify_study/study.hpp"

namespace ig::study {
namespace {

using nlohmann::json;

json fp(const ig::Fingerprint& f) { return json::array({f.token, f.logit_q, f.runner_up_q}); }
ig::Fingerprint fp_from(const json& j) { return ig::Fingerprint{j.at(0).get<int32_t>(), j.at(1).get<int32_t>(), j.at(2).get<int32_t>()}; }

ParamKind param_kind(const std::string& s) {
  return s == "sampled" ? ParamKind::Sampled : s == "sampled_plain" ? ParamKind::SampledPlain : ParamKind::Greedy;
}

}  // namespace

std::string record_line(const TaskRecord& r) {
  const auto& v = r.check.verdict;
  json steps = json::array();
  for (const auto& s : r.check.steps)
    steps.push_back({fp(s.claimed), fp(s.recomputed), fp(s.expected), s.scale, s.margin == receipt::kNoMargin ? -1.0 : s.margin});
  json j = {{"group", r.group},       {"name", r.name},         {"model", r.model},
            {"miner", r.miner},       {"verifier", r.verifier}, {"params", param_kind_name(r.params)}, {"claimed_greedy", r.claimed_greedy},
            {"index", r.index},       {"steps", r.steps},       {"cheat_step", r.cheat_step}, {"steered", r.steered},
            {"mode", receipt::mode_name(v.mode)}, {"noise", receipt::noise_class_name(v.noise)},
            {"accepted", v.accepted}, {"code", v.code},         {"first_bad_step", v.first_bad_step},
            {"freedom", {r.freedom_steps, r.freedom_multi, r.freedom_tokens}}, {"obs", steps}};
  return j.dump() + "\n";
}

Status write_records(const std::string& path, const std::vector<TaskRecord>& records) {
  std::ofstream out(path + ".tmp");
  for (const TaskRecord& r : records) out << record_line(r);
  out.close();
  if (!out || std::rename((path + ".tmp").c_str(), path.c_str()) != 0)
    return fail("study.io", "cannot write " + path);
  return {};
}

Expected<std::vector<TaskRecord>> read_records(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail("study.io", "cannot read " + path);
  std::vector<TaskRecord> out;
  std::string line;
  while (std::getline(in, line)) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) return fail("study.bad_records", "a line of " + path + " is not JSON");
    try {
      TaskRecord r;
      r.group = j.at("group");
      r.name = j.at("name");
      r.model = j.at("model");
      r.miner = j.at("miner");
      r.verifier = j.at("verifier");
      r.params = param_kind(j.at("params"));
      r.claimed_greedy = j.at("claimed_greedy");
      r.index = j.at("index");
      r.steps = j.at("steps");
      r.cheat_step = j.at("cheat_step");
      r.steered = j.value("steered", 0);
      auto& v = r.check.verdict;
      v.mode = j.at("mode") == "exact" ? receipt::Mode::Exact : receipt::Mode::Tolerant;
      v.noise = j.at("noise") == "dense" ? receipt::NoiseClass::Dense : receipt::NoiseClass::Quantized;
      v.accepted = j.at("accepted");
      v.code = j.at("code");
      v.first_bad_step = j.at("first_bad_step");
      r.freedom_steps = j.at("freedom").at(0);
      r.freedom_multi = j.at("freedom").at(1);
      r.freedom_tokens = j.at("freedom").at(2);
      for (const auto& s : j.at("obs")) {
        receipt::StepObservation o;
        o.claimed = fp_from(s.at(0));
        o.recomputed = fp_from(s.at(1));
        o.expected = fp_from(s.at(2));
        o.scale = s.at(3);
        const double m = s.at(4);
        o.margin = m < 0 ? receipt::kNoMargin : m;
        r.check.steps.push_back(o);
      }
      out.push_back(std::move(r));
    } catch (const json::exception& e) {
      return fail("study.bad_records", path + ": " + e.what());
    }
  }
  return out;
}

ig::SamplingParams claimed_params(const TaskRecord& r, uint32_t max_tokens) {
  return params_for(r.claimed_greedy ? ParamKind::Greedy : ParamKind::Sampled, max_tokens, 0);
}

void rejudge_all(const Plan& plan, std::vector<TaskRecord>& records) {
  for (TaskRecord& r : records) {
    if (r.check.steps.empty()) continue;  // decided before the prefill: no threshold involved
    auto& v = r.check.verdict;
    const receipt::StepJudgement j = receipt::judge_steps(r.check.steps, claimed_params(r, plan.max_tokens), v.mode,
                                                          receipt::default_tolerance(v.noise));
    v.accepted = j.accepted;
    v.code = j.code;
    v.first_bad_step = j.first_bad_step;
    v.exact_matches = j.exact_matches;
    v.steps_checked = int(r.check.steps.size());
    v.drift = j.drift;
    v.drift_limit = j.drift_limit;
  }
}

}  // namespace ig::study
