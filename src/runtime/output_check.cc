#include "runtime/output_check.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "support/status.h"

namespace qdq {

std::optional<AccuracyAlgorithm> parse_accuracy_algorithm(const std::string& name) {
  if (name == "linf") return AccuracyAlgorithm::kLinf;
  if (name == "l1") return AccuracyAlgorithm::kL1;
  if (name == "l2") return AccuracyAlgorithm::kL2;
  if (name == "cos") return AccuracyAlgorithm::kCosine;
  return std::nullopt;
}

const char* accuracy_algorithm_name(AccuracyAlgorithm a) {
  switch (a) {
    case AccuracyAlgorithm::kLinf:
      return "linf";
    case AccuracyAlgorithm::kL1:
      return "l1";
    case AccuracyAlgorithm::kL2:
      return "l2";
    case AccuracyAlgorithm::kCosine:
      return "cos";
  }
  return "?";
}

OutputCheck check_output(std::span<const float> actual, std::span<const float> reference,
                         AccuracyAlgorithm algorithm, double atol, double rtol) {
  check(actual.size() == reference.size(), "check_output: sizes differ", ErrorKind::kInternal);
  const double n = static_cast<double>(std::max<size_t>(1, actual.size()));
  double worst = actual.empty() ? 0.0 : -std::numeric_limits<double>::infinity();
  double abs_sum = 0, ref_abs_sum = 0, sq_sum = 0, ref_sq_sum = 0, dot = 0, actual_sq_sum = 0;
  bool nan = false;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], r = reference[i], d = std::abs(a - r);
    nan |= std::isnan(a) || std::isnan(r);
    worst = std::max(worst, d - rtol * std::abs(r));
    abs_sum += d;
    ref_abs_sum += std::abs(r);
    sq_sum += d * d;
    ref_sq_sum += r * r;
    dot += a * r;
    actual_sq_sum += a * a;
  }
  OutputCheck c{0, atol, false};
  switch (algorithm) {
    case AccuracyAlgorithm::kLinf:
      c.error = worst;
      break;
    case AccuracyAlgorithm::kL1:
      c.error = abs_sum / n;
      c.limit = atol + rtol * ref_abs_sum / n;
      break;
    case AccuracyAlgorithm::kL2:
      c.error = std::sqrt(sq_sum / n);
      c.limit = atol + rtol * std::sqrt(ref_sq_sum / n);
      break;
    case AccuracyAlgorithm::kCosine: {
      const double norms = std::sqrt(actual_sq_sum * ref_sq_sum);
      c.error = norms > 0 ? 1.0 - dot / norms : (actual_sq_sum == ref_sq_sum ? 0.0 : 1.0);
      break;
    }
  }
  c.passed = !nan && !std::isnan(c.error) && c.error <= c.limit;
  return c;
}

}  // namespace qdq
