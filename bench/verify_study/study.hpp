// The verification study (docs/verification.md): honest results produced on one backend and
// checked on another, and cheats of every kind that pays, all checked by receipt::verify; it
// reports detection rates, tokens needed to detect, and false positives, with confidence
// intervals, as JSON and a PNG plot.
//
// Files: models.cpp (the models, made or derived in the work directory), cheats.cpp (how
// each cheat is produced), runner.cpp (tasks over a thread pool), stats.cpp (intervals and
// quantiles), report.cpp (aggregation, JSON, plot), main.cpp (the command line and the plan).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inference/engine/model.hpp"
#include "inference/receipt/result.hpp"
#include "inference/receipt/verifier.hpp"
#include "inference/tokenizer/tokenizer.hpp"
#include "kernels/kernels.hpp"

namespace ig::study {

// A backend as the study names it: "cpu", "cpu2" (2 threads), "cpu-scalar", "cpu-avx2",
// "cpu-avx512", "reference".
struct BackendSpec {
  std::string name;
  kernels::BackendOptions options;
};
Expected<BackendSpec> backend_spec(const std::string& name);

// A model file of the study and what the verifier knows of it.
struct StudyModel {
  std::string name;  // "qwen-q8", "stories", ...
  std::string path;
  std::shared_ptr<const engine::Model> model;
  std::shared_ptr<const tok::Tokenizer> tokenizer;
  ig::Hash32 id{};
};

class ModelSet {
 public:
  // Makes (or reuses) every model of the plan in `dir`; `quick` makes the small set only.
  static Expected<ModelSet> prepare(const std::string& dir, bool quick);
  Expected<const StudyModel*> get(const std::string& name) const;

 private:
  std::map<std::string, StudyModel> models_;
};

enum class ParamKind { Greedy, Sampled, SampledPlain };  // Sampled: T 0.8, top-k 40, top-p 0.95;
                                                         // SampledPlain: T 1.0, no cut
const char* param_kind_name(ParamKind k);
ig::SamplingParams params_for(ParamKind k, uint32_t max_tokens, uint64_t seed);

// Honest results of `model` produced on `miner` and verified on `verifier`.
struct HonestPlan {
  std::string model, miner, verifier;
  int tasks = 0;
};

// Cheat kinds (cheats.cpp says exactly what each does).
struct CheatPlan {
  std::string kind;          // "quant_q4_for_q8", "model_same_shape", "token_random", ...
  std::string claimed;       // the model the receipt names
  std::string used;          // the model actually run ("" = the claimed one)
  std::string miner, verifier;
  int tasks = 0;
  // Which target applies: "at_step" (caught at the changed step), "model" (within 16 tokens),
  // "quant" (within 64), "other" (caught), "info" (measured only: by design a replacement
  // within the honest noise passes, so there is no target to meet).
  std::string budget_kind;
};

struct Plan {
  std::vector<HonestPlan> honest;
  std::vector<CheatPlan> cheats;
  uint32_t max_tokens = 64;
  uint64_t seed = 1;
  int jobs = 1;
  int freedom_tasks = 0;  // per honest plan: sampled tasks whose acceptable-token counts are measured
};
Plan full_plan();
Plan quick_plan();

struct TaskRecord {
  std::string group;        // "honest" or "cheat"
  std::string name;         // the plan's model/pairing or cheat kind
  std::string model, miner, verifier;
  ParamKind params = ParamKind::Greedy;  // the kind the task was made with
  bool claimed_greedy = true;            // what the result claims (a cheat may claim other)
  int index = 0;
  size_t steps = 0;                  // output length
  int64_t cheat_step = -1;           // the changed step (token cheats)
  int steered = 0;                   // token_steer: steps it steered
  receipt::Check check;              // the verdict and the per-step observations
  // Sampled-step freedom (honest tasks chosen for it): how many tokens the verifier would
  // accept at each step, summed, and the steps with more than one.
  int freedom_steps = 0, freedom_multi = 0;
  long freedom_tokens = 0;
};

// Runs every task of the plan (honest and cheats) and returns their records in plan order.
// `on_record`, when given, sees each record as its task finishes (one at a time), so that a
// long run can save them as it goes.
using RecordFn = std::function<void(const TaskRecord&)>;
Expected<std::vector<TaskRecord>> run_plan(const Plan& plan, const ModelSet& models, bool verbose,
                                           const RecordFn& on_record = nullptr);

// Cheats: a result of `kind` for `claimed` (see cheats.cpp). `used` is the model run when it
// differs from the claimed one.
struct CheatOutcome {
  receipt::TaskResult result;
  int64_t cheat_step = -1;
  int steered = 0;  // token_steer: steps where it took another token than the sampler's
};
Expected<CheatOutcome> make_cheat(const std::string& kind, const StudyModel& claimed, const StudyModel* used,
                                  kernels::Backend& backend, const std::string& prompt, ParamKind pk,
                                  uint32_t max_tokens, uint64_t seed);

// Tokens the verifier needed to reject a result (docs/verification.md): 0 for a rule the
// verifier checks without running the model (stop rule, hashes), first_bad_step + 1 for a
// step check, the crossing step + 1 for the drift test; -1 when accepted.
int64_t tokens_to_detect(const receipt::Verdict& v);

// The records as JSON lines (with every step observation), and back. A file of lines appended
// as tasks finished (PREFIX-records.partial.jsonl of a run that was stopped) reads the same.
std::string record_line(const TaskRecord& r);  // one line, '\n' included
Status write_records(const std::string& path, const std::vector<TaskRecord>& records);
Expected<std::vector<TaskRecord>> read_records(const std::string& path);
// Re-judges every record that reached the prefill under the current default tolerances.
void rejudge_all(const Plan& plan, std::vector<TaskRecord>& records);
// The parameters a record's result claimed, as far as the rules care (greedy or not).
ig::SamplingParams claimed_params(const TaskRecord& r, uint32_t max_tokens);

// Aggregates the records into the report and writes JSON (and the plot's data, script and PNG
// when gnuplot is present) under `out_prefix`. Returns the report.
nlohmann::json report(const Plan& plan, const std::vector<TaskRecord>& records, const std::string& out_prefix,
                      bool plot);

}  // namespace ig::study
