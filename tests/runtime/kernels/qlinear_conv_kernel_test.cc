// Every optimized QLinearConv kernel the CPU can run against the reference
// kernel, bit for bit, over generated shapes and adversarial values.
#include <gtest/gtest.h>

#include <random>

#include "graph/builder.h"
#include "runtime/kernels/registry.h"
#include "runtime/reference/executor.h"

namespace qdq {
namespace {

struct ConvCase {
  int64_t batch, in_channels, out_channels, height, width, kernel, stride, pad, dilation, group;
};

enum class Fill { kRandom, kExtreme };

template <typename T>
Tensor fill(const Shape& shape, std::mt19937& rng, Fill how, int phase) {
  Tensor t(dtype_of<T>(), shape);
  std::uniform_int_distribution<int> dist(std::numeric_limits<T>::min(),
                                          std::numeric_limits<T>::max());
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (how == Fill::kRandom) t.data<T>()[i] = static_cast<T>(dist(rng));
    // Extremes: for uint8 activations 255 everywhere, for int8 weights runs of
    // +127/+127 and -128/-128 pairs (the saturating vpmaddubsw cases).
    else
      t.data<T>()[i] =
          ((i + phase) / 2) % 2 ? std::numeric_limits<T>::min() : std::numeric_limits<T>::max();
  }
  return t;
}

template <typename TX, typename TW, typename TY>
std::vector<Tensor> run(const ConvCase& c, Isa isa, uint32_t seed, Fill how, int32_t x_zero,
                        int32_t w_zero, int32_t y_zero) {
  std::mt19937 rng(seed);
  GraphBuilder b(13);
  const int64_t cg = c.in_channels / c.group;
  Value* x = b.constant("x", fill<TX>({c.batch, c.in_channels, c.height, c.width}, rng, how, 0));
  Value* w = b.constant("w", fill<TW>({c.out_channels, cg, c.kernel, c.kernel}, rng, how, 1));
  std::vector<float> w_scale;
  std::vector<TW> w_zeros;
  std::vector<int32_t> bias;
  std::uniform_real_distribution<float> scale(1e-4f, 1e-2f);
  std::uniform_int_distribution<int32_t> bias_dist(-50000, 50000);
  for (int64_t m = 0; m < c.out_channels; ++m) {
    w_scale.push_back(scale(rng));
    w_zeros.push_back(static_cast<TW>(w_zero));
    bias.push_back(bias_dist(rng));
  }
  Attributes a;
  a.set("strides", std::vector<int64_t>{c.stride, c.stride});
  a.set("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad});
  a.set("dilations", std::vector<int64_t>{c.dilation, c.dilation});
  a.set("group", c.group);
  Value* y = b.op("QLinearConv",
                  {x, b.constant("xs", Tensor::scalar<float>(0.02f)),
                   b.constant("xz", Tensor::scalar<TX>(static_cast<TX>(x_zero))), w,
                   b.constant("ws", Tensor::from_vector<float>({c.out_channels}, w_scale)),
                   b.constant("wz", Tensor::from_vector<TW>({c.out_channels}, w_zeros)),
                   b.constant("ys", Tensor::scalar<float>(0.05f)),
                   b.constant("yz", Tensor::scalar<TY>(static_cast<TY>(y_zero))),
                   b.constant("bias", Tensor::from_vector<int32_t>({c.out_channels}, bias))},
                  a);
  b.output(y);
  Graph g = b.build();
  auto ex = ReferenceExecutor::create(g, ExecutorOptions{isa, {}});
  EXPECT_TRUE(ex.is_ok());
  std::vector<Tensor> first = ex->run({}).value();
  std::vector<Tensor> again = ex->run({}).value();  // second run: packed weights reused
  first.push_back(again[0]);
  return first;
}

template <typename TX, typename TW, typename TY>
void expect_identical(Isa isa, const ConvCase& c, uint32_t seed, Fill how, int32_t xz, int32_t wz,
                      int32_t yz) {
  const std::vector<Tensor> want = run<TX, TW, TY>(c, Isa::kRef, seed, how, xz, wz, yz);
  const std::vector<Tensor> got = run<TX, TW, TY>(c, isa, seed, how, xz, wz, yz);
  ASSERT_EQ(want[0].shape(), got[0].shape());
  for (size_t r = 0; r < 2; ++r)
    for (int64_t i = 0; i < want[0].numel(); ++i)
      ASSERT_EQ(want[r].data<TY>()[i], got[r].data<TY>()[i])
          << "run " << r << " element " << i << " case C" << c.in_channels << " M" << c.out_channels
          << " " << c.height << "x" << c.width << " k" << c.kernel << " s" << c.stride << " g"
          << c.group;
}

const ConvCase kCases[] = {
    {1, 3, 16, 32, 32, 3, 1, 1, 1, 1},  // stem
    {1, 16, 16, 8, 8, 3, 1, 1, 1, 1},   // small map: pixels not a multiple of 16 after stride
    {2, 16, 32, 9, 7, 3, 2, 1, 1, 1},   // batch, stride 2, odd sizes
    {1, 17, 5, 6, 6, 1, 1, 0, 1, 1},    // 1x1, odd K, channels not a multiple of 4
    {1, 8, 8, 10, 10, 3, 1, 2, 2, 1},   // dilation
    {1, 12, 6, 7, 7, 3, 1, 1, 1, 3},    // grouped
    {1, 8, 8, 9, 9, 3, 2, 1, 1, 8},     // depthwise, stride 2
    {1, 64, 64, 4, 4, 3, 1, 1, 1, 1},   // long K (576)
    {1, 4, 3, 1, 1, 1, 1, 0, 1, 1},     // one pixel
};

class QLinearConvKernel : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam()))
      GTEST_SKIP() << isa_name(GetParam()) << " is not available on this CPU";
  }
};

TEST_P(QLinearConvKernel, MatchesReferenceOnRandomData) {
  uint32_t seed = 1;
  for (const ConvCase& c : kCases) {
    expect_identical<uint8_t, int8_t, uint8_t>(GetParam(), c, seed++, Fill::kRandom, 128, 0, 100);
    expect_identical<int8_t, int8_t, int8_t>(GetParam(), c, seed++, Fill::kRandom, 0, 0, -3);
    expect_identical<uint8_t, uint8_t, int8_t>(GetParam(), c, seed++, Fill::kRandom, 7, 130, 0);
  }
}

TEST_P(QLinearConvKernel, MatchesReferenceOnAdversarialValues) {
  for (const ConvCase& c : kCases) {
    // 255 against +-127 pairs with zero points at the ends of their ranges.
    expect_identical<uint8_t, int8_t, uint8_t>(GetParam(), c, 9, Fill::kExtreme, 0, 0, 0);
    expect_identical<uint8_t, int8_t, int8_t>(GetParam(), c, 9, Fill::kExtreme, 255, -128, 127);
    expect_identical<int8_t, int8_t, uint8_t>(GetParam(), c, 9, Fill::kExtreme, -128, 127, 255);
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, QLinearConvKernel, ::testing::Values(Isa::kAvx2),
                         [](const auto& param_info) {
                           return std::string(isa_name(param_info.param));
                         });

}  // namespace
}  // namespace qdq
