// QuantizeLinear / DequantizeLinear / QLinear* semantics: rounding, saturation,
// per-axis parameters, refused scales, and the int32 accumulation of the integer
// ops on adversarial values.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "runtime/kernels/requantize.h"
#include "runtime/reference/run_node.h"

namespace qdq {
namespace {

using testing::run_node;
using testing::scalar_f;

TEST(QuantizeLinear, RoundsHalfToEvenAndSaturates) {
  Tensor x = Tensor::from_vector<float>(
      {10}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 1000.f, -1000.f, 0.49999997f, 3.0f});
  auto y = run_node("QuantizeLinear", {x, scalar_f(1.0f), Tensor::scalar<int8_t>(0)})[0];
  const std::vector<int8_t> want = {0, 2, 2, 0, -2, -2, 127, -128, 0, 3};
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(y.data<int8_t>()[i], want[i]) << "element " << i;

  auto u = run_node("QuantizeLinear", {x, scalar_f(1.0f), Tensor::scalar<uint8_t>(128)})[0];
  const std::vector<uint8_t> want_u = {128, 130, 130, 128, 126, 126, 255, 0, 128, 131};
  for (size_t i = 0; i < want_u.size(); ++i)
    EXPECT_EQ(u.data<uint8_t>()[i], want_u[i]) << "element " << i;
}

TEST(QuantizeLinear, DefaultsToUint8AndMapsNanToZeroPoint) {
  Tensor x = Tensor::from_vector<float>({3}, {std::nanf(""), 1.0f, -1.0f});
  auto y = run_node("QuantizeLinear", {x, scalar_f(0.5f), std::nullopt})[0];
  ASSERT_EQ(y.dtype(), DType::kUInt8);
  EXPECT_EQ(y.data<uint8_t>()[0], 0);
  EXPECT_EQ(y.data<uint8_t>()[1], 2);
  EXPECT_EQ(y.data<uint8_t>()[2], 0);  // saturates at the bottom
}

TEST(QuantizeLinear, PerAxisScalesAndZeroPoints) {
  Tensor x = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 1, 2, 3});
  Tensor scale = Tensor::from_vector<float>({2}, {1.0f, 0.5f});
  Tensor zp = Tensor::from_vector<int8_t>({2}, {0, 10});
  Attributes a;
  a.set("axis", int64_t{0});
  auto y = run_node("QuantizeLinear", {x, scale, zp}, a)[0];
  const std::vector<int8_t> want = {1, 2, 3, 12, 14, 16};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(y.data<int8_t>()[i], want[i]);
  auto back = run_node("DequantizeLinear", {y, scale, zp}, a)[0];
  for (int i = 0; i < 6; ++i) EXPECT_EQ(back.data<float>()[i], x.data<float>()[i]);
}

TEST(QuantizeLinear, RefusesScalesWithoutMeaning) {
  Tensor x = Tensor::from_vector<float>({1}, {1.0f});
  for (float bad : {0.0f, -1.0f, std::nanf(""), std::numeric_limits<float>::infinity()}) {
    EXPECT_THROW(run_node("QuantizeLinear", {x, scalar_f(bad), Tensor::scalar<int8_t>(0)}), Error)
        << bad;
    EXPECT_THROW(run_node("DequantizeLinear",
                          {Tensor::scalar<int8_t>(1), scalar_f(bad), Tensor::scalar<int8_t>(0)}),
                 Error)
        << bad;
  }
  Tensor wrong_count = Tensor::from_vector<float>({3}, {1, 1, 1});
  EXPECT_THROW(
      run_node("QuantizeLinear", {Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4}), wrong_count}),
      Error);
}

// Reference integer conv accumulation, written independently: int64 sums of
// (x - x_zero) * (w - w_zero) for a 1x1 convolution (a dot product per pixel).
TEST(QLinearConv, AccumulatesExactlyOnAdversarialValues) {
  const int64_t channels = 64;  // 64 pairs of 255 x 127: 2,073,600 — far past int16
  std::vector<uint8_t> xs(channels);
  std::vector<int8_t> ws(channels);
  for (int64_t c = 0; c < channels; ++c) {
    xs[c] = 255;
    ws[c] = c % 2 ? -127 : 127;
  }
  ws[0] = ws[1] = 127;  // a saturating vpmaddubsw pair: 255*127 + 255*127 > 32767
  Tensor x = Tensor::from_vector<uint8_t>({1, channels, 1, 1}, xs);
  Tensor w = Tensor::from_vector<int8_t>({1, channels, 1, 1}, ws);
  auto acc =
      run_node("ConvInteger", {x, w, Tensor::scalar<uint8_t>(0), Tensor::scalar<int8_t>(0)})[0];
  int64_t want = 0;
  for (int64_t c = 0; c < channels; ++c) want += int64_t{xs[c]} * ws[c];
  EXPECT_EQ(acc.data<int32_t>()[0], want);

  // Same through QLinearConv: output = round(acc * 1 * 1 / 1024) + 3, saturated.
  auto y = run_node("QLinearConv",
                    {x, scalar_f(1.0f), Tensor::scalar<uint8_t>(0), w, scalar_f(1.0f),
                     Tensor::scalar<int8_t>(0), scalar_f(1024.0f), Tensor::scalar<int8_t>(3)})[0];
  EXPECT_EQ(y.data<int8_t>()[0],
            static_cast<int8_t>(std::nearbyint(static_cast<float>(want) / 1024.0f) + 3));
}

// QLinearConv against its definition in float: DequantizeLinear -> Conv ->
// QuantizeLinear agrees to within one step (exactly, except where the float
// conv's own rounding lands on the other side of a .5 tie).
TEST(QLinearConv, MatchesFloatSimulationWithinOneStep) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> u8(0, 255), s8(-127, 127);
  const int64_t n = 2, c = 8, h = 7, m = 6;
  std::vector<uint8_t> xs(n * c * h * h);
  std::vector<int8_t> ws(m * c * 9);
  for (auto& v : xs) v = static_cast<uint8_t>(u8(rng));
  for (auto& v : ws) v = static_cast<int8_t>(s8(rng));
  Tensor x = Tensor::from_vector<uint8_t>({n, c, h, h}, xs);
  Tensor w = Tensor::from_vector<int8_t>({m, c, 3, 3}, ws);
  Tensor w_scale = Tensor::from_vector<float>({m}, {0.01f, 0.02f, 0.005f, 0.03f, 0.011f, 0.007f});
  Tensor w_zero = Tensor::from_vector<int8_t>({m}, {0, 0, 0, 0, 0, 0});
  const float x_scale = 0.05f, y_scale = 0.9f;
  const uint8_t x_zero = 120, y_zero = 100;
  Attributes conv_attrs;
  conv_attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  conv_attrs.set("strides", std::vector<int64_t>{2, 2});
  auto q = run_node("QLinearConv",
                    {x, scalar_f(x_scale), Tensor::scalar<uint8_t>(x_zero), w, w_scale, w_zero,
                     scalar_f(y_scale), Tensor::scalar<uint8_t>(y_zero)},
                    conv_attrs)[0];

  auto xf =
      run_node("DequantizeLinear", {x, scalar_f(x_scale), Tensor::scalar<uint8_t>(x_zero)})[0];
  Attributes axis0;
  axis0.set("axis", int64_t{0});
  auto wf = run_node("DequantizeLinear", {w, w_scale, w_zero}, axis0)[0];
  auto yf = run_node("Conv", {xf, wf}, conv_attrs)[0];
  auto ref =
      run_node("QuantizeLinear", {yf, scalar_f(y_scale), Tensor::scalar<uint8_t>(y_zero)})[0];
  ASSERT_EQ(q.shape(), ref.shape());
  int64_t differ = 0;
  for (int64_t i = 0; i < q.numel(); ++i) {
    const int d = int{q.data<uint8_t>()[i]} - int{ref.data<uint8_t>()[i]};
    EXPECT_LE(std::abs(d), 1) << "element " << i;
    differ += d != 0;
  }
  EXPECT_LE(differ, q.numel() / 50) << "more than 2% of outputs off by one step";
}

TEST(QLinearMatMul, PerColumnWeightScales) {
  Tensor a = Tensor::from_vector<uint8_t>({1, 2}, {10, 20});
  Tensor b = Tensor::from_vector<int8_t>({2, 2}, {1, -1, 2, 3});
  Tensor b_scale = Tensor::from_vector<float>({2}, {1.0f, 2.0f});
  auto y = run_node("QLinearMatMul",
                    {a, scalar_f(1.0f), Tensor::scalar<uint8_t>(0), b, b_scale,
                     Tensor::scalar<int8_t>(0), scalar_f(4.0f), Tensor::scalar<int8_t>(0)})[0];
  // column 0: 10*1 + 20*2 = 50 -> 50/4 = 12.5 -> 12 (even); column 1: (-10 + 60) * 2 / 4 = 25
  EXPECT_EQ(y.data<int8_t>()[0], 12);
  EXPECT_EQ(y.data<int8_t>()[1], 25);
}

TEST(Requantize, SaturatesBothEnds) {
  EXPECT_EQ(requantize<int8_t>(1 << 30, 1.0f, 0), 127);
  EXPECT_EQ(requantize<int8_t>(-(1 << 30), 1.0f, 0), -128);
  EXPECT_EQ(requantize<uint8_t>(-5, 1.0f, 3), 0);
  EXPECT_EQ(requantize<uint8_t>(5, 0.5f, 3), 5);  // 2.5 -> 2, + 3
}

}  // namespace
}  // namespace qdq

namespace qdq {
namespace {

TEST(RoundHalfEven, EqualsNearbyintEverywhereItMatters) {
  std::vector<float> values = {0.5f,
                               1.5f,
                               2.5f,
                               -0.5f,
                               -1.5f,
                               -2.5f,
                               0.49999997f,
                               -0.49999997f,
                               0.0f,
                               -0.0f,
                               4194303.5f,
                               4194304.5f,
                               8388607.5f,
                               -8388607.5f,
                               8388608.0f,
                               16777217.0f,
                               1e20f,
                               -1e20f,
                               std::numeric_limits<float>::infinity()};
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1e7f, 1e7f);
  for (int i = 0; i < 100000; ++i) values.push_back(dist(rng));
  for (int i = -2000; i <= 2000; ++i)
    values.push_back(static_cast<float>(i) / 4.0f);  // ties and quarters
  for (float v : values) EXPECT_EQ(round_half_even(v), std::nearbyint(v)) << v;
  EXPECT_TRUE(std::isnan(round_half_even(std::nanf(""))));
}

}  // namespace
}  // namespace qdq
