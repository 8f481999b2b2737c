// The calibrator choice on a small classifier: the candidate whose ranges
// keep the model's top-1 wins, equals go to the first of auto's order.
#include "calibration/select_calibrator.h"

#include <gtest/gtest.h>

#include "calibration/calibration_test_util.h"

namespace qdq {
namespace {

// Random images [2, 5, 5] in [-1, 1].
class RandomDataset : public Dataset {
 public:
  int64_t size() const override { return 40; }
  ImageBatch load(int64_t first, int64_t count) const override {
    ImageBatch batch;
    batch.images = testing::random_floats({count, 2, 5, 5}, static_cast<uint32_t>(7 + first));
    batch.labels.assign(static_cast<size_t>(count), 0);
    return batch;
  }
};

// Ranges for both quantized tensors: the input's, and the ReLU output's.
TensorRanges ranges(const Graph& g, float input_amax, float hidden_amax) {
  const auto names = tensors_to_calibrate(g, {});
  return {{names[0], {-input_amax, input_amax}}, {names[1], {0.0f, hidden_amax}}};
}

// The candidates with calibrate_each's FP32 outputs: the model run batch by batch.
Calibration calibration(const Graph& g, std::map<Calibrator, TensorRanges> candidates,
                        int64_t batch) {
  const RandomDataset data;
  Calibration c{std::move(candidates), {}};
  for (int64_t first = 0; first < data.size(); first += batch)
    c.outputs.push_back(testing::run_graph(
        g, {{"x", data.load(first, std::min(batch, data.size() - first)).images}})[0]);
  return c;
}

TEST(SelectCalibrator, TheRangesThatKeepFp32sTop1Win) {
  const Graph g = testing::conv_relu_gemm(-1);
  CalibrationOptions options;
  options.batch = 8;
  const std::map<Calibrator, TensorRanges> candidates{
      {Calibrator::kMse, ranges(g, 0.01f, 0.01f)},     // clips nearly everything
      {Calibrator::kLp, ranges(g, 1.0f, 8.0f)},        // keeps every value
      {Calibrator::kEntropy, ranges(g, 1.0f, 0.2f)}};  // clips the hidden layer
  auto choice =
      select_calibrator(g, calibration(g, candidates, options.batch), RandomDataset(), options, {});
  ASSERT_TRUE(choice.is_ok()) << choice.status().message();
  EXPECT_EQ(choice->chosen, Calibrator::kLp);
  ASSERT_EQ(choice->scores.size(), 3u);
  for (const CalibratorScore& s : choice->scores) {
    if (s.calibrator == Calibrator::kLp) {
      EXPECT_GE(s.agreement(), 0.95);
    } else {
      EXPECT_LT(s.agreement(), 0.9) << static_cast<int>(s.calibrator);
    }
  }
}

TEST(SelectCalibrator, EqualCandidatesGoToTheFirstOfAutosOrder) {
  const Graph g = testing::conv_relu_gemm(-1);
  const TensorRanges same = ranges(g, 1.0f, 8.0f);
  auto choice = select_calibrator(
      g,
      calibration(
          g,
          {{Calibrator::kPercentile, same}, {Calibrator::kEntropy, same}, {Calibrator::kLp, same}},
          CalibrationOptions{}.batch),
      RandomDataset(), {}, {});
  ASSERT_TRUE(choice.is_ok()) << choice.status().message();
  EXPECT_EQ(choice->chosen, Calibrator::kLp);
}

TEST(ChooseCalibrator, CountsWithinTwiceThePoissonNoiseAsEqualThenTakesTheLeastOutputMse) {
  // 9 against 10 of 512 (CIFAR-10 ResNet-32's percentile and mse): equal,
  // so the smaller output MSE decides.
  EXPECT_EQ(choose_calibrator(
                {{Calibrator::kMse, 512, 10, 0.058}, {Calibrator::kPercentile, 512, 9, 0.085}}),
            Calibrator::kMse);
  // 20 against 68 (the undertrained ResNet-50's lp and entropy): not equal.
  EXPECT_EQ(
      choose_calibrator({{Calibrator::kLp, 512, 20, 32.5}, {Calibrator::kEntropy, 512, 68, 0.1}}),
      Calibrator::kLp);
  // 0 differences: one image's difference is still within the band.
  EXPECT_EQ(choose_calibrator({{Calibrator::kMse, 512, 1, 0.5},
                               {Calibrator::kEntropy, 512, 0, 0.9},
                               {Calibrator::kPercentile, 512, 2, 0.1}}),
            Calibrator::kMse);
}

}  // namespace
}  // namespace qdq
