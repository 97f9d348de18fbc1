// Runs the plan's tasks on a small thread pool: each worker thread keeps its own backends (a
// Backend is used by one thread at a time); the models are shared read-only.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <thread>

#include "bench/verify_study/study.hpp"
#include "inference/engine/sampler.hpp"

namespace ig::study {
namespace {

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t hash_name(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Distinct prompts (greedy tasks with equal prompts would be the same result twice), in the
// register stories260K was trained on; the random models tokenize any text.
std::string prompt_for(int i) {
  static const char* who[] = {"a little girl", "a small dog", "the old man", "a happy cat", "two friends",
                              "a brave boy", "the farmer", "a tiny bird", "her mother", "a big bear"};
  static const char* did[] = {"found", "wanted", "saw", "lost", "made", "liked", "took", "gave away", "opened", "hid"};
  static const char* what[] = {"a red ball", "a shiny box", "the blue kite", "a warm cake", "an old map",
                               "a funny hat", "the green tree", "a little boat", "a soft toy", "a big key"};
  static const char* when[] = {"", " one day", " in the park", " at night", " after school"};
  return std::string("Once upon a time, ") + who[i % 10] + " " + did[(i / 10) % 10] + " " + what[(i / 100) % 10] +
         when[(i / 1000) % 5] + ".";
}

ParamKind param_cycle(int i) {
  static const ParamKind k[] = {ParamKind::Greedy, ParamKind::Sampled, ParamKind::Greedy, ParamKind::SampledPlain};
  return k[i % 4];
}

// How many tokens the verifier would accept at this step: the freedom the tolerance leaves a
// miner. Greedy: the tokens within the margin of the top. Sampled: the candidates whose
// decision margin is within it (the race decides between them by their Gumbel noise).
int acceptable_tokens(std::span<const float> logits, const ig::SamplingParams& p, uint32_t step, double m) {
  int count = 0;
  if (p.greedy()) {
    const float top = *std::max_element(logits.begin(), logits.end());
    for (float l : logits) count += double(top) - double(l) <= m;
    return count;
  }
  const engine::Candidates c = engine::candidates(logits, p);
  if (c.ids.size() == logits.size() && engine::sampling_top_p(p) >= 1.0) {
    const double t = double(engine::sampling_temperature(p));
    std::vector<double> s(logits.size());
    for (size_t i = 0; i < s.size(); ++i) s[i] = engine::race_score(logits[i], t, p.seed, step, int32_t(i));
    const double best = *std::max_element(s.begin(), s.end());
    for (double x : s) count += x >= best - m;
    return count;
  }
  const size_t limit = std::min(c.ids.size(), c.kept + 8);
  for (size_t i = 0; i < limit; ++i) count += receipt::decision_margin(logits, p, step, c.ids[i]) <= m;
  return count;
}

struct Job {
  const HonestPlan* honest = nullptr;
  const CheatPlan* cheat = nullptr;
  int index = 0;
};

class Backends {
 public:
  Expected<kernels::Backend*> get(const std::string& name) {
    auto it = map_.find(name);
    if (it != map_.end()) return it->second.get();
    IG_TRY_ASSIGN(spec, backend_spec(name));
    IG_TRY_ASSIGN(b, kernels::make_backend(spec.options));
    return (map_[name] = std::move(b)).get();
  }

 private:
  std::map<std::string, std::unique_ptr<kernels::Backend>> map_;
};

Expected<std::optional<TaskRecord>> run_job(const Plan& plan, const ModelSet& models, Backends& backends, const Job& job) {
  TaskRecord rec;
  rec.index = job.index;
  rec.params = param_cycle(job.index);
  const std::string name = job.honest ? job.honest->model + ":" + job.honest->miner + "->" + job.honest->verifier
                                      : job.cheat->kind + ":" + job.cheat->claimed;
  const uint64_t seed = mix(plan.seed ^ hash_name(name) ^ mix(uint64_t(job.index)));
  const std::string prompt = prompt_for(job.index);
  receipt::TaskResult result;
  const StudyModel* model = nullptr;
  kernels::Backend* verifier = nullptr;
  if (job.honest) {
    const HonestPlan& h = *job.honest;
    rec.group = "honest";
    rec.name = name;
    rec.model = h.model;
    rec.miner = h.miner;
    rec.verifier = h.verifier;
    IG_TRY_ASSIGN(m, models.get(h.model));
    model = m;
    IG_TRY_ASSIGN(mb, backends.get(h.miner));
    IG_TRY_ASSIGN(r, receipt::run_task(*m->model, *m->tokenizer, m->id, *mb, prompt,
                                       params_for(rec.params, plan.max_tokens, seed)));
    result = std::move(r);
    IG_TRY_ASSIGN(vb, backends.get(h.verifier));
    verifier = vb;
  } else {
    const CheatPlan& c = *job.cheat;
    rec.group = "cheat";
    rec.name = c.kind + ":" + c.claimed;
    rec.model = c.claimed;
    rec.miner = c.miner;
    rec.verifier = c.verifier;
    IG_TRY_ASSIGN(m, models.get(c.claimed));
    model = m;
    const StudyModel* used = nullptr;
    if (!c.used.empty()) {
      IG_TRY_ASSIGN(u, models.get(c.used));
      used = u;
    }
    IG_TRY_ASSIGN(mb, backends.get(c.miner));
    auto made = make_cheat(c.kind, *m, used, *mb, prompt, rec.params, plan.max_tokens, seed);
    if (!made) {
      if (made.error().code == "study.short_output") return std::optional<TaskRecord>();
      return fail(made.error());
    }
    result = std::move(made->result);
    rec.cheat_step = made->cheat_step;
    rec.steered = made->steered;
    IG_TRY_ASSIGN(vb, backends.get(c.verifier));
    verifier = vb;
    // A cheater names whatever backend makes the verifier most lenient: another one than the
    // verifier's, so that it is checked tolerantly.
    const std::string own = receipt::backend_tag(*vb);
    if (result.receipt.backend == own) result.receipt.backend = own == kernels::kNumericsCuda ? kernels::kNumericsCpu : kernels::kNumericsCuda;
  }
  rec.steps = result.output.size();
  rec.claimed_greedy = result.params.greedy();
  const receipt::Mode mode = receipt::mode_for(result.receipt, *verifier);
  receipt::StepLogitsFn on_step;
  const bool freedom = job.honest && !result.params.greedy() && job.index < 4 * plan.freedom_tasks;
  const receipt::Tolerance tol = receipt::default_tolerance(receipt::noise_class(*model->model));
  if (freedom && mode == receipt::Mode::Tolerant) {
    on_step = [&](uint32_t step, std::span<const float> logits) {
      double sum = 0, top = -INFINITY;
      for (float l : logits) sum += l, top = std::max(top, double(l));
      const double sigma = tol.abs_sigma + tol.rel_sigma * (top - sum / double(logits.size()));
      const int n = acceptable_tokens(logits, result.params, step, tol.margin_k * sigma);
      rec.freedom_steps++;
      rec.freedom_tokens += n;
      rec.freedom_multi += n > 1;
    };
  }
  IG_TRY_ASSIGN(check, receipt::verify_detailed(*model->model, *model->tokenizer, model->id, *verifier, result, mode,
                                                std::nullopt, on_step));
  rec.check = std::move(check);
  return std::optional<TaskRecord>(std::move(rec));
}

}  // namespace

Expected<std::vector<TaskRecord>> run_plan(const Plan& plan, const ModelSet& models, bool verbose,
                                           const RecordFn& on_record) {
  std::vector<Job> jobs;
  for (const auto& h : plan.honest)
    for (int i = 0; i < h.tasks; ++i) jobs.push_back(Job{&h, nullptr, i});
  for (const auto& c : plan.cheats)
    for (int i = 0; i < c.tasks; ++i) jobs.push_back(Job{nullptr, &c, i});
  std::vector<std::optional<TaskRecord>> out(jobs.size());
  std::atomic<size_t> next{0}, done{0};
  std::mutex mu;
  std::optional<Error> first_error;
  const auto started = std::chrono::steady_clock::now();
  auto worker = [&] {
    Backends backends;
    for (;;) {
      const size_t i = next++;
      if (i >= jobs.size()) return;
      {
        std::lock_guard l(mu);
        if (first_error) return;
      }
      auto r = run_job(plan, models, backends, jobs[i]);
      std::lock_guard l(mu);
      if (!r) {
        if (!first_error) first_error = r.error();
        return;
      }
      out[i] = std::move(*r);
      if (on_record && out[i]) on_record(*out[i]);
      const size_t d = ++done;
      if (verbose && (d % 50 == 0 || d == jobs.size()))
        std::fprintf(stderr, "[verify_study] %zu of %zu tasks (%.0f s)\n", d, jobs.size(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, plan.jobs); ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (first_error) return fail(*first_error);
  std::vector<TaskRecord> records;
  for (auto& r : out)
    if (r) records.push_back(std::move(*r));
  return records;
}

}  // namespace ig::study
