// The workers' Prometheus metrics (docs/metrics.md, "Workers"), rendered from the stats they
// keep (MinerWorker::stats, VerifierWorker::stats). Durations are exposed as summaries (_sum and
// _count), from which Prometheus derives means and rates: e.g. the mean verification time is
// rate(infergrid_verifier_verification_seconds_sum[5m]) / rate(..._count[5m]).
#pragma once

#include <string>

#include "rpc/metrics.hpp"
#include "workers/miner.hpp"
#include "workers/verifier.hpp"

namespace ig::workers {

// `account`: the worker's address, as a label (one process may run a miner and a verifier).
void render_miner_metrics(rpc::MetricsText& m, const MinerStats& s, const std::string& account);
void render_verifier_metrics(rpc::MetricsText& m, const VerifierStats& s, const std::string& account);

}  // namespace ig::workers
