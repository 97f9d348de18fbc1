// Confidence intervals for rates and order statistics, for the study's report.
#pragma once

#include <vector>

namespace ig::study {

struct Interval {
  double lo = 0, hi = 1;
};

// Wilson score interval of k successes in n trials (z = 1.96: 95%).
Interval wilson(long k, long n, double z = 1.959963984540054);
// Clopper-Pearson ("exact") interval at level 1 - alpha: the p at which observing k or more
// (k or fewer) of n has probability alpha / 2. With k = 0 the upper end is 1 - (alpha/2)^(1/n).
Interval clopper_pearson(long k, long n, double alpha = 0.05);
// Nearest-rank quantile (q in [0, 1]) of the values; 0 for none.
double quantile(std::vector<double> values, double q);

}  // namespace ig::study
