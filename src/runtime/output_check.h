// The accuracy gate of qexec (--loadRefOutputs, --accuracyAlgorithm, --atol,
// --rtol): an output of the engine against reference values, one number and a
// verdict per output, like trtexec's and Polygraphy's checks.
#pragma once

#include <optional>
#include <span>
#include <string>

namespace qdq {

// a: the engine's output, r: the reference's.
//   linf: max |a - r| - rtol |r| over the elements      <= atol  (numpy.allclose)
//   l1:   mean |a - r|                                  <= atol + rtol mean |r|
//   l2:   sqrt(mean (a - r)^2)                          <= atol + rtol sqrt(mean r^2)
//   cos:  1 - a.r / (|a| |r|)                           <= atol  (rtol unused)
enum class AccuracyAlgorithm { kLinf, kL1, kL2, kCosine };
// "linf", "l1", "l2", "cos"; nullopt for another name.
std::optional<AccuracyAlgorithm> parse_accuracy_algorithm(const std::string& name);
const char* accuracy_algorithm_name(AccuracyAlgorithm a);

struct OutputCheck {
  double error;  // the left side above
  double limit;  // the right side
  bool passed;   // error <= limit, and no NaN on either side
};
// The spans must have the same length.
OutputCheck check_output(std::span<const float> actual, std::span<const float> reference,
                         AccuracyAlgorithm algorithm, double atol, double rtol);

}  // namespace qdq
