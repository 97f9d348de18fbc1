#include "bench/verify_study/stats.hpp"

#include <algorithm>
#include <cmath>

namespace ig::study {
namespace {

// P(X <= k) for X ~ Binomial(n, p), summed in log space (n up to millions stays finite).
double binomial_cdf(long k, long n, double p) {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  const double lp = std::log(p), lq = std::log1p(-p);
  double sum = 0;
  for (long i = 0; i <= k; ++i) {
    const double lc = std::lgamma(double(n) + 1) - std::lgamma(double(i) + 1) - std::lgamma(double(n - i) + 1);
    sum += std::exp(lc + double(i) * lp + double(n - i) * lq);
  }
  return std::min(1.0, sum);
}

// The p in [0, 1] where f(p) crosses `target`, f decreasing in p.
template <class F>
double solve_decreasing(F f, double target) {
  double lo = 0, hi = 1;
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (lo + hi);
    (f(mid) > target ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace

Interval wilson(long k, long n, double z) {
  if (n <= 0) return {0, 1};
  const double p = double(k) / double(n), nn = double(n), z2 = z * z;
  const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / (1 + z2 / nn);
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

Interval clopper_pearson(long k, long n, double alpha) {
  if (n <= 0) return {0, 1};
  Interval r;
  // lower: P(X >= k; p) = alpha/2, i.e. 1 - cdf(k-1; p) = alpha/2 (cdf decreasing in p)
  r.lo = k == 0 ? 0.0 : solve_decreasing([&](double p) { return binomial_cdf(k - 1, n, p); }, 1 - alpha / 2);
  // upper: P(X <= k; p) = alpha/2
  r.hi = k == n ? 1.0 : solve_decreasing([&](double p) { return binomial_cdf(k, n, p); }, alpha / 2);
  return r;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = std::ceil(q * double(v.size()));
  const size_t i = rank < 1 ? 0 : std::min(v.size() - 1, size_t(rank) - 1);
  return v[i];
}

}  // namespace ig::study
