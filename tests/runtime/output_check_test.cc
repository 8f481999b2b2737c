// The accuracy gate's four measures on values worked out by hand.
#include "runtime/output_check.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace qdq {
namespace {

const std::vector<float> kRef = {1.0f, -2.0f, 3.0f, 0.0f};
const std::vector<float> kOut = {1.5f, -2.0f, 2.0f, 0.0f};  // errors 0.5, 0, 1, 0

TEST(OutputCheck, Linf) {
  // max |a - r| - rtol |r|: 0.5 - 0.1, 0 - 0.2, 1 - 0.3, 0 -> 0.7.
  const OutputCheck c = check_output(kOut, kRef, AccuracyAlgorithm::kLinf, 0.7, 0.1);
  EXPECT_NEAR(c.error, 0.7, 1e-6);
  EXPECT_TRUE(c.passed);
  EXPECT_FALSE(check_output(kOut, kRef, AccuracyAlgorithm::kLinf, 0.69, 0.1).passed);
}

TEST(OutputCheck, L1AndL2) {
  const OutputCheck l1 = check_output(kOut, kRef, AccuracyAlgorithm::kL1, 0.25, 0.1);
  EXPECT_NEAR(l1.error, 1.5 / 4, 1e-9);
  EXPECT_NEAR(l1.limit, 0.25 + 0.1 * 6.0 / 4, 1e-9);
  EXPECT_TRUE(l1.passed);
  EXPECT_FALSE(check_output(kOut, kRef, AccuracyAlgorithm::kL1, 0.2, 0.1).passed);
  const OutputCheck l2 = check_output(kOut, kRef, AccuracyAlgorithm::kL2, 0.1, 0.0);
  EXPECT_NEAR(l2.error, std::sqrt(1.25 / 4), 1e-7);
  EXPECT_FALSE(l2.passed);
}

TEST(OutputCheck, Cosine) {
  const std::vector<float> scaled = {2.0f, -4.0f, 6.0f, 0.0f};  // same direction
  EXPECT_NEAR(check_output(scaled, kRef, AccuracyAlgorithm::kCosine, 1e-6, 0).error, 0.0, 1e-9);
  const std::vector<float> opposite = {-1.0f, 2.0f, -3.0f, 0.0f};
  EXPECT_NEAR(check_output(opposite, kRef, AccuracyAlgorithm::kCosine, 0, 0).error, 2.0, 1e-9);
  const std::vector<float> zeros(4, 0.0f);
  EXPECT_TRUE(check_output(zeros, zeros, AccuracyAlgorithm::kCosine, 0, 0).passed);
  EXPECT_FALSE(check_output(zeros, kRef, AccuracyAlgorithm::kCosine, 0.5, 0).passed);
}

TEST(OutputCheck, NanNeverPasses) {
  std::vector<float> out = kRef;
  out[2] = std::numeric_limits<float>::quiet_NaN();
  for (auto a : {AccuracyAlgorithm::kLinf, AccuracyAlgorithm::kL1, AccuracyAlgorithm::kL2,
                 AccuracyAlgorithm::kCosine})
    EXPECT_FALSE(check_output(out, kRef, a, 1e9, 1e9).passed) << accuracy_algorithm_name(a);
}

TEST(OutputCheck, AlgorithmNames) {
  for (const char* name : {"linf", "l1", "l2", "cos"})
    EXPECT_STREQ(accuracy_algorithm_name(*parse_accuracy_algorithm(name)), name);
  EXPECT_FALSE(parse_accuracy_algorithm("l3").has_value());
}

}  // namespace
}  // namespace qdq
