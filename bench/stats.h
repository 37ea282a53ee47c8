#pragma once
// Shared by the load generators.
#include <algorithm>
#include <vector>

namespace sase::bench {

// The p-quantile (0..1) of v (reorders v); 0 for an empty vector.
inline double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace sase::bench
