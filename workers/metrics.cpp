#include "workers/metrics.hpp"

namespace ig::workers {

void render_miner_metrics(rpc::MetricsText& m, const MinerStats& s, const std::string& account) {
  const rpc::Labels l{{"account", account}};
  auto one = [&](const char* name, const char* type, const char* help, double v) {
    m.family(name, type, help);
    m.sample(name, v, l);
  };
  one("infergrid_miner_tasks_assigned_total", "counter", "Assignments this miner has seen.", double(s.assigned));
  one("infergrid_miner_results_submitted_total", "counter", "Results signed and sent.", double(s.submitted));
  one("infergrid_miner_tasks_failed_total", "counter", "Tasks it could not serve (unknown model, past deadline, errors).",
      double(s.failed));
  one("infergrid_miner_tokens_generated_total", "counter", "Tokens generated for submitted results.", double(s.tokens));
  one("infergrid_miner_tokens_per_second", "gauge",
      "Generated tokens per second of each task's generation time, since start (per task: tasks decoded together overlap).",
      s.tokens_per_second());
  one("infergrid_miner_decode_steps_total", "counter", "Forward passes of the decode loop (each carries every running task).",
      double(s.decode_steps));
  one("infergrid_miner_decode_sequence_steps_total", "counter",
      "Sum over forward passes of the tasks in them: divided by decode_steps, the mean batch.",
      double(s.decode_sequence_steps));
  one("infergrid_miner_decode_batch_peak", "gauge", "The most tasks decoded together in one forward pass.",
      double(s.decode_peak_batch));
  one("infergrid_miner_queue_depth", "gauge", "Tasks waiting or running now.", double(s.queue_depth));
  // A summary without quantiles: the generation time of each submitted result.
  m.family("infergrid_miner_generation_seconds", "summary", "Time spent generating each submitted result.");
  m.sample("infergrid_miner_generation_seconds_sum", s.busy_seconds, l);
  m.sample("infergrid_miner_generation_seconds_count", double(s.submitted), l);
  if (s.cheated)
    one("infergrid_miner_cheated_total", "counter", "TEST/DEMO ONLY: results this miner altered.", double(s.cheated));
}

void render_verifier_metrics(rpc::MetricsText& m, const VerifierStats& s, const std::string& account) {
  const rpc::Labels l{{"account", account}};
  auto one = [&](const char* name, const char* type, const char* help, double v) {
    m.family(name, type, help);
    m.sample(name, v, l);
  };
  one("infergrid_verifier_results_seen_total", "counter", "Results seen (task_result events).", double(s.seen));
  one("infergrid_verifier_results_sampled_total", "counter", "Results chosen for a check.", double(s.sampled));
  m.family("infergrid_verifier_verdicts_total", "counter", "Verdicts posted, by outcome.");
  m.sample("infergrid_verifier_verdicts_total", double(s.accepted), {{"account", account}, {"accept", "true"}});
  m.sample("infergrid_verifier_verdicts_total", double(s.rejected), {{"account", account}, {"accept", "false"}});
  one("infergrid_verifier_verdicts_too_late_total", "counter",
      "Checks that ended after the task's verdict window had closed: no verdict sent.", double(s.too_late));
  one("infergrid_verifier_weight_commits_total", "counter", "Weight commits sent.", double(s.commits));
  one("infergrid_verifier_weight_reveals_total", "counter", "Weight reveals sent.", double(s.reveals));
  one("infergrid_verifier_verified_tokens_total", "counter", "Tokens re-checked.", double(s.verified_tokens));
  m.family("infergrid_verifier_verification_seconds", "summary", "Time spent re-checking each result that got a verdict.");
  m.sample("infergrid_verifier_verification_seconds_sum", s.verify_seconds, l);
  m.sample("infergrid_verifier_verification_seconds_count", double(s.accepted + s.rejected), l);
}

}  // namespace ig::workers
