// Calibration end to end on tiny graphs built in code: the cache's text form,
// which tensors get ranges, what insert_qdq writes, and calibrate() over a
// dataset whose values are known.
#include <gtest/gtest.h>

#include <cmath>

#include "calibration/cache.h"
#include "calibration/calibrate.h"
#include "calibration/calibration_test_util.h"
#include "calibration/insert_qdq.h"
#include "graph/builder.h"
#include "passes/pass_test_util.h"

namespace qdq {
namespace {

TEST(CalibrationCache, RoundTripsItsText) {
  CalibrationCache cache{0x0123456789abcdefULL,
                         "entropy 512",
                         {{"input", {-0.6600001f, 2.640000104904175f}}, {"relu_1", {0.0f, 0.1f}}}};
  const std::string text = format_calibration_cache(cache);
  const CalibrationCache back = parse_calibration_cache(text, "c.txt");
  EXPECT_EQ(back.model, cache.model);
  EXPECT_EQ(back.calibrator, "entropy 512");
  ASSERT_EQ(back.ranges.size(), 2u);
  EXPECT_EQ(back.ranges.at("input").min, -0.6600001f);  // bit for bit
  EXPECT_EQ(back.ranges.at("input").max, 2.640000104904175f);
  EXPECT_EQ(back.ranges.at("relu_1").min, 0.0f);
  EXPECT_EQ(back.ranges.at("relu_1").max, 0.1f);
  EXPECT_EQ(format_calibration_cache(back), text);
}

// Caches written before asymmetric ranges: amax and the sign.
TEST(CalibrationCache, ReadsVersionOne) {
  const CalibrationCache back = parse_calibration_cache(
      "qdq-calibration-cache 1\nmodel 0123456789abcdef\ncalibrator mse 512\n"
      "input 2.5 signed\nrelu_1 0.25 unsigned\n",
      "c.txt");
  EXPECT_EQ(back.ranges.at("input").min, -2.5f);
  EXPECT_EQ(back.ranges.at("input").max, 2.5f);
  EXPECT_EQ(back.ranges.at("relu_1").min, 0.0f);
  EXPECT_EQ(back.ranges.at("relu_1").max, 0.25f);
}

TEST(CalibrationCache, MalformedTextNamesTheLine) {
  const std::string header = "qdq-calibration-cache 2\nmodel 0123456789abcdef\ncalibrator minmax\n";
  const std::string v1 = "qdq-calibration-cache 1\nmodel 0123456789abcdef\ncalibrator minmax\n";
  for (const auto& [text, where] : std::vector<std::pair<std::string, std::string>>{
           {"TRT-8601-EntropyCalibration2\n", "c.txt:1"},
           {"qdq-calibration-cache 3\n", "c.txt:1"},
           {"qdq-calibration-cache 2\nmodel 12\n", "c.txt:2"},
           {header + "x 1.5\n", "c.txt:4"},
           {header + "x nan 1\n", "c.txt:4"},
           {header + "x -1 inf\n", "c.txt:4"},
           {header + "x 0.5 1\n", "c.txt:4"},
           {header + "x -2 -1\n", "c.txt:4"},
           {header + "x -1 1x\n", "c.txt:4"},
           {header + "x -1 1\nx -2 2\n", "c.txt:5"},
           {v1 + "x nan signed\n", "c.txt:4"},
           {v1 + "x -1 signed\n", "c.txt:4"},
           {v1 + "x 1 maybe\n", "c.txt:4"},
           {"qdq-calibration-cache 2\n", "header"}}) {
    try {
      parse_calibration_cache(text, "c.txt");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(where), std::string::npos) << e.what();
    }
  }
}

TEST(InsertQdq, ListsEachLayersActivationInputOnce) {
  Graph g = testing::conv_relu_gemm();
  const auto all = tensors_to_calibrate(g, {});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], "x");
  EXPECT_EQ(tensors_to_calibrate(g, {true, false}).size(), 1u);
  EXPECT_EQ(tensors_to_calibrate(g, {true, true}).size(), 0u);
}

TEST(InsertQdq, QuantizesWeightsPerChannelBiasesToInt32AndActivationsByRange) {
  Graph g = testing::conv_relu_gemm();
  const auto names = tensors_to_calibrate(g, {});
  EXPECT_EQ(insert_qdq(g, {{names[0], {-1.0f, 2.0f}}, {names[1], {0.0f, 4.0f}}}, {}), 2);
  auto counts = testing::op_counts(g);
  EXPECT_EQ(counts["QuantizeLinear"], 2);
  EXPECT_EQ(counts["DequantizeLinear"], 6);  // 2 activations, 2 weights, 2 biases
  for (Node* n : g.nodes()) {
    if (n->op_type != "DequantizeLinear") continue;
    const Tensor* q = n->input(0)->constant ? &*n->input(0)->constant : nullptr;
    if (!q) {
      // An activation in uint8: x's [-1, 2] in 255 steps with zero on the
      // grid point nearest its place (85); the ReLU output's [0, 4] from 0.
      const Tensor& zero = *n->input(2)->constant;
      const float scale = n->input(1)->constant->data<float>()[0];
      ASSERT_EQ(zero.dtype(), DType::kUInt8);
      if (n->input(0)->producer->input(0)->name == "x") {
        EXPECT_EQ(zero.data<uint8_t>()[0], 85);
        EXPECT_FLOAT_EQ(scale, 3.0f / 255.0f);
      } else {
        EXPECT_EQ(zero.data<uint8_t>()[0], 0);
        EXPECT_FLOAT_EQ(scale, 4.0f / 255.0f);
      }
    } else if (q->dtype() == DType::kInt8) {
      // A weight: per output channel, the largest |w| of each channel at 127.
      const Tensor& scale = *n->input(1)->constant;
      EXPECT_EQ(scale.numel(), q->dim(0) == 4 ? 4 : 3);
      int max_q = 0;
      for (int64_t i = 0; i < q->numel(); ++i)
        max_q = std::max(max_q, std::abs(int{q->data<int8_t>()[i]}));
      EXPECT_EQ(max_q, 127);
    } else {
      EXPECT_EQ(q->dtype(), DType::kInt32);  // a bias
    }
  }
  // The quantized model computes what the float one does, to quantization error.
  std::map<std::string, Tensor> in{{"x", testing::random_floats({1, 2, 5, 5}, 9)}};
  Graph f = testing::conv_relu_gemm();
  const Tensor want = testing::run_graph(f, in)[0];
  const Tensor got = testing::run_graph(g, in)[0];
  for (int64_t i = 0; i < want.numel(); ++i)
    EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i], 0.15f) << "output " << i;
}

// A dataset of `count` images [3, 4, 4] with values (i % 7) - 3 scaled by
// `scale`: max |x| = 3 * scale, negative values present.
class RampDataset : public Dataset {
 public:
  RampDataset(int64_t count, float scale) : count_(count), scale_(scale) {}
  int64_t size() const override { return count_; }
  ImageBatch load(int64_t first, int64_t count) const override {
    ImageBatch batch;
    batch.images = Tensor(DType::kFloat32, {count, 3, 4, 4});
    for (int64_t i = 0; i < batch.images.numel(); ++i)
      batch.images.data<float>()[i] = static_cast<float>((first * 48 + i) % 7 - 3) * scale_;
    batch.labels.assign(static_cast<size_t>(count), 0);
    return batch;
  }

 private:
  int64_t count_;
  float scale_;
};

TEST(Calibrate, MinMaxSeesTheLargestValueAndTheSignOfEachTensor) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {2, 3, 4, 4});
  b.output(b.op("Relu", {x}));
  Graph g = b.build();
  const std::string relu = g.outputs()[0]->name;
  CalibrationOptions options;
  options.calibrator = Calibrator::kMinMax;
  options.batch = 2;
  int64_t last_progress = 0;
  options.progress = [&](const char* stage, int64_t done, int64_t total) {
    EXPECT_STREQ(stage, "calibrating");
    EXPECT_EQ(total, 10);
    last_progress = done;
  };
  RampDataset data(11, 0.5f);
  auto ranges = calibrate(g, {"x", relu}, data, options);
  ASSERT_TRUE(ranges.is_ok()) << ranges.status().message();
  EXPECT_EQ(last_progress, 10);  // the fixed batch of 2: 10 of the 11 images
  EXPECT_EQ(ranges->at("x").min, -1.5f);
  EXPECT_EQ(ranges->at("x").max, 1.5f);
  EXPECT_EQ(ranges->at(relu).min, 0.0f);
  EXPECT_EQ(ranges->at(relu).max, 1.5f);
}

// Fashion-MNIST's shape of input: four pixels in five one background value,
// the garment spread evenly up to 3.5 times its magnitude.
class SpikeDataset : public Dataset {
 public:
  int64_t size() const override { return 8; }
  ImageBatch load(int64_t first, int64_t count) const override {
    ImageBatch batch;
    batch.images = Tensor(DType::kFloat32, {count, 3, 16, 16});
    for (int64_t i = 0; i < batch.images.numel(); ++i) {
      const int64_t k = first * 768 + i;
      batch.images.data<float>()[i] =
          k % 5 != 0 ? -0.66f : 2.31f * static_cast<float>(k % 997) / 996.0f;
    }
    batch.labels.assign(static_cast<size_t>(count), 0);
    return batch;
  }
};

// KL keeps resolution for the spike and clips the rest; for the model's input
// that would saturate the image, so every calibrator keeps its whole range.
TEST(Calibrate, TheModelInputKeepsItsWholeRangeUnderEveryCalibrator) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 3, 16, 16});
  b.output(b.op("Abs", {x}));  // the same |x| inside the model
  Graph g = b.build();
  const std::string copy = g.outputs()[0]->name;
  const SpikeDataset data;
  float min = 0.0f, max = 0.0f;
  const Tensor all = data.load(0, data.size()).images;
  for (int64_t i = 0; i < all.numel(); ++i) {
    min = std::min(min, all.data<float>()[i]);
    max = std::max(max, all.data<float>()[i]);
  }
  for (Calibrator c :
       {Calibrator::kEntropy, Calibrator::kPercentile, Calibrator::kMse, Calibrator::kMinMax}) {
    CalibrationOptions options;
    options.calibrator = c;
    options.percentile = 99.0;
    auto ranges = calibrate(g, {"x", copy}, data, options);
    ASSERT_TRUE(ranges.is_ok()) << ranges.status().message();
    EXPECT_EQ(ranges->at("x").min, min) << static_cast<int>(c);
    EXPECT_EQ(ranges->at("x").max, max) << static_cast<int>(c);
    if (c == Calibrator::kEntropy || c == Calibrator::kPercentile) {
      EXPECT_LT(ranges->at(copy).max, max)
          << static_cast<int>(c) << ": the same values inside the model are clipped";
    }
  }
}

TEST(Calibrate, UnknownTensorIsAnError) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 3, 4, 4});
  b.output(b.op("Relu", {x}));
  Graph g = b.build();
  RampDataset data(4, 1.0f);
  auto ranges = calibrate(g, {"nope"}, data, {});
  ASSERT_FALSE(ranges.is_ok());
  EXPECT_NE(ranges.status().message().find("'nope'"), std::string::npos);
}

}  // namespace
}  // namespace qdq
