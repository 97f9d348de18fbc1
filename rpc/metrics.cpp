#include "rpc/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ig::rpc {

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  counts_.assign(bounds_.size(), 0);
}

void Histogram::observe(double value) {
  if (std::isnan(value)) return;  // a NaN would poison the sum forever
  std::lock_guard lock(mu_);
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  if (it != bounds_.end()) ++counts_[static_cast<size_t>(it - bounds_.begin())];
  ++count_;
  sum_ += value;
}

Histogram::Snapshot Histogram::snapshot() const {
  std::lock_guard lock(mu_);
  Snapshot s;
  s.bounds = bounds_;
  s.cumulative.reserve(counts_.size());
  uint64_t running = 0;
  for (uint64_t c : counts_) s.cumulative.push_back(running += c);
  s.count = count_;
  s.sum = sum_;
  return s;
}

std::vector<double> exponential_buckets(double start, double factor, size_t count) {
  std::vector<double> out;
  double v = start;
  for (size_t i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}

std::string format_metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Whole numbers (counters, heights, amounts up to 2^53) print exactly, without an exponent.
  if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // Prefer the shortest text that reads back as the same double.
  for (int precision = 6; precision < 17; ++precision) {
    char shorter[40];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

bool is_metric_name(std::string_view name) {
  if (name.empty()) return false;
  auto first_ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; };
  if (!first_ok(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), [&](char c) { return first_ok(c) || (c >= '0' && c <= '9'); });
}

namespace {

std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void append_labels(std::string& out, const Labels& labels) {
  if (labels.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    out += escape_label_value(v);
    out += '"';
  }
  out += '}';
}

}  // namespace

void MetricsText::family(std::string_view name, std::string_view type, std::string_view help) {
  if (!declared_.emplace(name).second) return;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void MetricsText::sample(std::string_view name, double value, const Labels& labels) {
  out_ += name;
  append_labels(out_, labels);
  out_ += ' ';
  out_ += format_metric_value(value);
  out_ += '\n';
}

void MetricsText::single(std::string_view name, std::string_view type, std::string_view help, double value) {
  family(name, type, help);
  sample(name, value);
}

void MetricsText::histogram(std::string_view name, std::string_view help, const Histogram::Snapshot& h,
                            const Labels& labels) {
  family(name, "histogram", help);
  const std::string base(name);
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    Labels l = labels;
    l.emplace_back("le", format_metric_value(h.bounds[i]));
    sample(base + "_bucket", static_cast<double>(h.cumulative[i]), l);
  }
  Labels inf = labels;
  inf.emplace_back("le", "+Inf");
  sample(base + "_bucket", static_cast<double>(h.count), inf);
  sample(base + "_sum", h.sum, labels);
  sample(base + "_count", static_cast<double>(h.count), labels);
}

}  // namespace ig::rpc
