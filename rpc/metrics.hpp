// Prometheus metrics, the text exposition format (version 0.0.4) that every Prometheus server
// and client library reads. The node, the gateway and the workers render their metrics at
// scrape time from counters they already keep, so nothing here is a global registry: a
// MetricsText collects one scrape, a Histogram is the one piece of live state that cannot be
// derived from a counter (bucket counts of observed durations).
//
//   rpc::MetricsText m;
//   m.family("infergrid_chain_height", "gauge", "Height of the last committed block.");
//   m.sample("infergrid_chain_height", 42);
//   m.histogram("infergrid_block_interval_seconds", "Time between consecutive blocks.", h.snapshot());
//   server.add_get("/metrics", [&](const rpc::HttpGet&) { return m.reply(); });
//
// Names follow the Prometheus conventions (docs/metrics.md): a prefix per program, base units
// (seconds, bytes), `_total` on counters. This header is free of Boost like every public rpc/
// header.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ig::rpc {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Bucket counts of observed values, thread-safe (a mutex: observations happen at most a few
// hundred times a second — once per block, per request, per task).
class Histogram {
 public:
  // `upper_bounds` ascending; +Inf is implicit.
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);

  struct Snapshot {
    std::vector<double> bounds;       // finite upper bounds
    std::vector<uint64_t> cumulative; // one per bound: observations <= bound
    uint64_t count = 0;               // all observations (the +Inf bucket)
    double sum = 0;
  };
  Snapshot snapshot() const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative
  uint64_t count_ = 0;
  double sum_ = 0;
};

// `count` bounds start, start*factor, start*factor^2, ...
std::vector<double> exponential_buckets(double start, double factor, size_t count);

// One scrape's text. Families are written in the order they are declared; a sample must
// follow its family's declaration (the format requires a family's samples to be contiguous).
class MetricsText {
 public:
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

  // Declares a family: "# HELP" and "# TYPE" lines. type: counter, gauge, histogram, summary,
  // untyped. A name declared twice is written once (the second declaration is ignored).
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample line. `name` may carry a suffix of its family (_bucket, _sum, _count).
  void sample(std::string_view name, double value, const Labels& labels = {});
  // A family with exactly one unlabelled sample.
  void single(std::string_view name, std::string_view type, std::string_view help, double value);
  // A whole histogram family (or one labelled series of it, when the family is declared).
  void histogram(std::string_view name, std::string_view help, const Histogram::Snapshot& h,
                 const Labels& labels = {});

  const std::string& text() const { return out_; }

 private:
  std::string out_;
  std::set<std::string, std::less<>> declared_;
};

// Prometheus number text: integers without a fraction, "+Inf", "-Inf", "NaN".
std::string format_metric_value(double v);
// A label value with \, " and newline escaped.
std::string escape_label_value(std::string_view v);
// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_metric_name(std::string_view name);

}  // namespace ig::rpc
