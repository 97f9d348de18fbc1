// verify_study: the verification study (docs/verification.md).
//
//   verify_study [--work DIR] [--out PREFIX] [--jobs N] [--scale X] [--honest-scale X] [--only SUBSTRING]
//                [--seed S] [--quick] [--expect] [--no-plot] [--quiet]
//   verify_study --from-records PREFIX-records.jsonl [--out PREFIX] [--quick] ...
//
// Makes the study's models in DIR (default /tmp/infergrid-verify-study; kept and reused),
// runs every honest pairing and cheat of the plan, and writes PREFIX.json (default
// verify_study.json), every task's step observations as PREFIX-records.jsonl (appended to
// PREFIX-records.partial.jsonl as tasks finish, so a stopped run keeps its data), and, when
// gnuplot is installed, PREFIX.png. --from-records re-judges saved observations under the
// current thresholds and re-makes the report without running a model (calibration). --quick runs the small plan
// ctest uses (seconds); --expect then exits 1 unless every honest result is accepted and every
// cheat is caught within its target. --scale multiplies every task count, --honest-scale the
// honest pairings' instead.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>

#include "bench/verify_study/study.hpp"

namespace ig::study {

Plan full_plan() {
  Plan p;
  p.freedom_tasks = 25;
  // Honest pairings. Tolerant (another numerics tag) unless both sides share a tag: thread
  // counts and the AVX2/AVX-512 variants must agree bit for bit (exact mode).
  p.honest = {
      {"qwen-q8", "cpu", "reference", 400},       {"qwen-q8", "reference", "cpu", 60},
      {"qwen-q8", "cpu-scalar", "cpu", 100},      {"qwen-q8", "cpu", "cpu2", 40},
      {"qwen-q8", "cpu-avx2", "cpu-avx512", 40},  {"qwen-f16", "cpu", "reference", 200},
      {"llama-q4", "cpu", "reference", 300},      {"llama-q4", "cpu-avx2", "cpu-avx512", 40},
      {"stories", "cpu", "reference", 600},       {"stories", "cpu", "cpu2", 100},
      {"stories-q8", "cpu", "reference", 600},    {"stories-q8", "cpu-scalar", "cpu", 200},
  };
  auto cheat = [&](std::string kind, std::string claimed, std::string used, int n, std::string target) {
    p.cheats.push_back(CheatPlan{std::move(kind), std::move(claimed), std::move(used), "cpu", "reference", n,
                                 std::move(target)});
  };
  cheat("quant_q4_for_q8", "qwen-q8", "qwen-q4", 150, "quant");
  cheat("model_same_shape", "qwen-q8", "qwen-q8-s4", 100, "model");
  cheat("model_smaller", "qwen-q8", "qwen-small-q8", 100, "model");
  cheat("token_random", "qwen-q8", "", 100, "at_step");
  cheat("token_second", "qwen-q8", "", 100, "info");
  cheat("truncated", "qwen-q8", "", 50, "other");
  cheat("truncated_eos", "qwen-q8", "", 50, "other");
  cheat("greedy_claimed_sampled", "qwen-q8", "", 100, "other");
  cheat("other_seed", "qwen-q8", "", 100, "other");
  cheat("token_steer", "qwen-q8", "", 100, "info");
  cheat("quant_q8_for_f16", "qwen-f16", "qwen-q8", 100, "quant");
  cheat("quant_q8_for_f32", "stories", "stories-q8", 300, "quant");
  cheat("model_noise_1e-2", "stories", "stories-n2", 300, "model");
  cheat("model_noise_1e-3", "stories", "stories-n3", 300, "model");
  cheat("token_random", "stories", "", 300, "at_step");
  cheat("token_second", "stories", "", 300, "info");
  cheat("truncated", "stories", "", 100, "other");
  cheat("truncated_eos", "stories", "", 100, "other");
  cheat("greedy_claimed_sampled", "stories", "", 300, "other");
  cheat("other_seed", "stories", "", 300, "other");
  cheat("token_steer", "stories", "", 300, "info");
  cheat("quant_q4_for_q8", "stories-q8", "stories-q4", 400, "quant");
  cheat("model_noise_1e-2", "stories-q8", "stories-q8-n2", 300, "model");
  cheat("token_random", "stories-q8", "", 300, "at_step");
  cheat("greedy_claimed_sampled", "stories-q8", "", 300, "other");
  cheat("other_seed", "stories-q8", "", 300, "other");
  cheat("token_steer", "stories-q8", "", 300, "info");
  return p;
}

Plan quick_plan() {
  Plan p;
  p.freedom_tasks = 2;
  p.honest = {{"tiny-q8", "cpu", "reference", 24}, {"tiny-f16", "cpu", "reference", 12},
              {"stories", "cpu", "reference", 24}, {"stories-q8", "cpu", "reference", 24},
              {"stories", "cpu", "cpu2", 8}};
  auto cheat = [&](std::string kind, std::string claimed, std::string used, int n, std::string target) {
    p.cheats.push_back(CheatPlan{std::move(kind), std::move(claimed), std::move(used), "cpu", "reference", n,
                                 std::move(target)});
  };
  cheat("quant_q4_for_q8", "tiny-q8", "tiny-q4", 8, "quant");
  cheat("quant_q8_for_f16", "tiny-f16", "tiny-q8", 8, "quant");
  cheat("model_same_shape", "tiny-q8", "tiny-q8-s4", 8, "model");
  cheat("quant_q4_for_q8", "stories-q8", "stories-q4", 8, "quant");
  cheat("model_noise_1e-3", "stories", "stories-n3", 8, "model");
  cheat("token_random", "stories", "", 8, "at_step");
  cheat("token_random", "tiny-q8", "", 8, "at_step");
  cheat("truncated", "stories", "", 4, "other");
  cheat("greedy_claimed_sampled", "stories", "", 8, "other");
  cheat("other_seed", "stories", "", 8, "other");
  return p;
}

namespace {

// --expect: every honest result accepted; every cheat caught, within its target.
bool meets_targets(const nlohmann::json& r) {
  bool ok = true;
  for (const auto& h : r["honest"])
    if (h["false_positives"]["k"].get<long>() != 0) {
      std::fprintf(stderr, "honest %s %s->%s: %ld false positives\n", h["model"].get<std::string>().c_str(),
                   h["miner"].get<std::string>().c_str(), h["verifier"].get<std::string>().c_str(),
                   h["false_positives"]["k"].get<long>());
      ok = false;
    }
  for (const auto& c : r["cheats"]) {
    const std::string target = c["target"];
    if (target == "info") continue;  // measured, no target: near-tie replacements, steering
    const char* field = target == "model" ? "within_16" : target == "quant" ? "within_64" : "detected";
    bool met = c[field]["k"] == c[field]["n"];
    if (target == "at_step") met = met && c["at_its_step"]["k"] == c["at_its_step"]["n"];
    if (!met) {
      std::fprintf(stderr, "cheat %s on %s: target %s not met\n", c["kind"].get<std::string>().c_str(),
                   c["claimed"].get<std::string>().c_str(), target.c_str());
      ok = false;
    }
  }
  return ok;
}

}  // namespace
}  // namespace ig::study

int main(int argc, char** argv) {
  using namespace ig::study;
  CLI::App app{"verify_study: detection and false-positive rates of result verification"};
  std::string work = "/tmp/infergrid-verify-study", out = "verify_study", only, from;
  int jobs = 1;
  double scale = 1.0, honest_scale = -1;
  uint64_t seed = 1;
  bool quick = false, expect = false, no_plot = false, quiet = false;
  app.add_option("--work", work, "directory for the study's model files (made once, reused)");
  app.add_option("--out", out, "output prefix: PREFIX.json, PREFIX.png");
  app.add_option("--jobs", jobs, "tasks run at once")->check(CLI::Range(1, 64));
  app.add_option("--scale", scale, "multiply every task count")->check(CLI::Range(0.001, 100.0));
  app.add_option("--honest-scale", honest_scale, "multiply the honest pairings' task counts instead (default: --scale)")
      ->check(CLI::Range(0.001, 100.0));
  app.add_option("--only", only, "run only the plan entries whose name contains this");
  app.add_option("--seed", seed, "study seed (prompts and sampling seeds derive from it)");
  app.add_option("--from-records", from, "re-judge and report saved records instead of running tasks");
  app.add_flag("--quick", quick, "the small plan (ctest)");
  app.add_flag("--expect", expect, "exit 1 unless every target is met");
  app.add_flag("--no-plot", no_plot, "skip gnuplot");
  app.add_flag("--quiet", quiet, "no progress on stderr");
  CLI11_PARSE(app, argc, argv);

  Plan plan = quick ? quick_plan() : full_plan();
  plan.seed = seed;
  plan.jobs = jobs;
  auto scaled = [](int n, double x) { return std::max(1, int(std::lround(double(n) * x))); };
  std::erase_if(plan.honest, [&](const HonestPlan& h) { return (h.model + ":" + h.miner + "->" + h.verifier).find(only) == std::string::npos; });
  std::erase_if(plan.cheats, [&](const CheatPlan& c) { return (c.kind + ":" + c.claimed).find(only) == std::string::npos; });
  for (auto& h : plan.honest) h.tasks = scaled(h.tasks, honest_scale > 0 ? honest_scale : scale);
  for (auto& c : plan.cheats) c.tasks = scaled(c.tasks, scale);

  auto bail = [](const ig::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.to_string().c_str());
    return 2;
  };
  ig::Expected<std::vector<TaskRecord>> records = std::vector<TaskRecord>{};
  if (!from.empty()) {
    records = read_records(from);
    if (!records) return bail(records.error());
  } else {
    auto models = ModelSet::prepare(work, quick);
    if (!models) return bail(models.error());
    // Each record is appended to PREFIX-records.partial.jsonl as its task finishes, so a run
    // stopped early still leaves its data for --from-records; the complete file replaces it.
    const std::string partial = out + "-records.partial.jsonl";
    std::FILE* f = std::fopen(partial.c_str(), "w");
    if (!f) return bail(ig::Error{"study.io", "cannot write " + partial});
    records = run_plan(plan, *models, !quiet, [&](const TaskRecord& r) {
      const std::string line = record_line(r);
      std::fwrite(line.data(), 1, line.size(), f);
      std::fflush(f);
    });
    std::fclose(f);
    if (!records) return bail(records.error());
    if (auto st = write_records(out + "-records.jsonl", *records); !st) return bail(st.error());
    std::remove(partial.c_str());
  }
  rejudge_all(plan, *records);
  const nlohmann::json r = report(plan, *records, out, !no_plot);
  if (!quiet) std::fprintf(stderr, "[verify_study] wrote %s.json%s\n", out.c_str(), no_plot ? "" : " (and the plot)");
  std::printf("%s\n", r["honest_cross_backend"].dump().c_str());
  if (expect && !meets_targets(r)) return 1;
  return 0;
}
