#include "calibration/range.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace qdq {
namespace {

TEST(AbsHistogram, CountsMagnitudesInTheirBins) {
  AbsHistogram h(4.0f, 4);  // bins [0,1) [1,2) [2,3) [3,4]
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> values = {0.5f, -0.5f, 1.0f, -2.5f, 3.99f, 4.0f, 100.0f, nan};
  h.add(values.data(), static_cast<int64_t>(values.size()));
  EXPECT_EQ(h.counts(), (std::vector<double>{2, 1, 1, 3}));  // beyond the range: last bin
  EXPECT_FLOAT_EQ(h.edge(1), 1.0f);
  EXPECT_FLOAT_EQ(h.edge(4), 4.0f);
}

TEST(AbsHistogram, AllZeroTensorHasAnEmptyRange) {
  AbsHistogram h(0.0f);
  const std::vector<float> zeros(10, 0.0f);
  h.add(zeros.data(), 10);
  EXPECT_EQ(h.counts()[0], 10.0);
  EXPECT_EQ(amax_percentile(h, 99.99), 0.0f);
  EXPECT_EQ(amax_entropy(h), 0.0f);
}

std::vector<float> evenly_spread(int count, float max) {
  std::vector<float> v;
  for (int i = 0; i < count; ++i) v.push_back(max * (i + 0.5f) / count);
  return v;
}

TEST(AmaxPercentile, IsTheValueBelowWhichTheShareFalls) {
  const auto values = evenly_spread(100000, 1.0f);
  AbsHistogram h(1.0f);
  h.add(values.data(), static_cast<int64_t>(values.size()));
  const float bin = 1.0f / AbsHistogram::kDefaultBins;
  EXPECT_NEAR(amax_percentile(h, 99.0), 0.99f, bin);
  EXPECT_NEAR(amax_percentile(h, 50.0), 0.5f, bin);
  EXPECT_FLOAT_EQ(amax_percentile(h, 100.0), 1.0f);
}

TEST(AmaxEntropy, KeepsTheRangeOfEvenlySpreadValues) {
  // Nothing lies far out: clipping only adds error.
  const auto values = evenly_spread(200000, 3.0f);
  AbsHistogram h(3.0f);
  h.add(values.data(), static_cast<int64_t>(values.size()));
  EXPECT_GT(amax_entropy(h), 2.9f);
}

TEST(AmaxEntropy, ClipsFarOutliersThatMinMaxKeeps) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(200000);
  for (float& v : values) v = normal(rng);
  for (int i = 0; i < 20; ++i) values[static_cast<size_t>(i)] = 60.0f;  // MinMax's amax
  AbsHistogram h(60.0f);
  h.add(values.data(), static_cast<int64_t>(values.size()));
  const float amax = amax_entropy(h);
  EXPECT_GT(amax, 3.0f);         // the bulk (|x| < 4.5 here) keeps its resolution
  EXPECT_LT(amax, 10.0f);        // the 20 outliers are clipped
  EXPECT_GE(amax, h.edge(128));  // never fewer bins than quantized levels
}

TEST(AmaxEntropy, ReluOutputsZeroSpikeDoesNotDecide) {
  // Half the values exactly 0 (a ReLU's output), the rest evenly spread.
  auto values = evenly_spread(100000, 2.0f);
  values.resize(200000, 0.0f);
  AbsHistogram h(2.0f);
  h.add(values.data(), static_cast<int64_t>(values.size()));
  EXPECT_GT(amax_entropy(h), 1.9f);
}

TEST(AmaxLp, AtTwoKeepsEvenlySpreadValuesAndClipsALaplaceTail) {
  const auto spread = evenly_spread(200000, 3.0f);
  AbsHistogram even(3.0f);
  even.add(spread.data(), static_cast<int64_t>(spread.size()));
  EXPECT_GT(amax_lp(even, 127, 2.0), 2.9f);

  // Laplace-like magnitudes (exponential, mean 1; max 12.6 here): the
  // MSE-optimal 8-bit clip is about 9.9 (Banner et al., ACIQ), below the max.
  std::mt19937 rng(7);
  std::exponential_distribution<float> exponential(1.0f);
  std::vector<float> values(200000);
  float max = 0.0f;
  for (float& v : values) max = std::max(max, v = exponential(rng));
  AbsHistogram h(max);
  h.add(values.data(), static_cast<int64_t>(values.size()));
  const float int8 = amax_lp(h, 127, 2.0), uint8 = amax_lp(h, 255, 2.0);
  EXPECT_GT(int8, 9.0f);
  EXPECT_LT(int8, 11.0f);
  EXPECT_GE(uint8, int8);  // finer steps: clipping pays less
}

// Values in [0, 1] and one in 4,000 at 100 (the far tail of an undertrained
// ResNet-50's residual stream): squared error keeps the tail, whose clipping
// it weighs at 99^2 per value; p = 0.5 weighs it at 99^0.5 and keeps the
// resolution of the rest.
TEST(AmaxLp, BelowOneClipsASparseFarTailThatSquaredErrorKeeps) {
  std::vector<float> values = evenly_spread(200000, 1.0f);
  values.resize(values.size() + 50, 100.0f);
  AbsHistogram h(100.0f);
  h.add(values.data(), static_cast<int64_t>(values.size()));
  EXPECT_GT(amax_lp(h, 255, 2.0), 90.0f);
  const float clipped = amax_lp(h, 255, 0.5);
  EXPECT_GT(clipped, 0.9f);
  EXPECT_LT(clipped, 1.5f);
}

}  // namespace
}  // namespace qdq
