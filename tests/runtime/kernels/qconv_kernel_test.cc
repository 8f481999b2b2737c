// Every optimized ai.qdq.QConv kernel the CPU can run against the reference
// kernel, bit for bit: generated shapes (GEMM tiles, partial channel blocks,
// depthwise, the in-place 1x1 path), fused clamps and residuals, adversarial
// values and scales from 1e-8 to 1e4.
#include <gtest/gtest.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <span>
#include <string>
#include <tuple>

#include "graph/builder.h"
#include "runtime/kernels/qconv_pack.h"
#include "runtime/kernels/registry.h"
#include "runtime/reference/executor.h"

namespace qdq {
namespace {

struct Case {
  int64_t batch, channels, out_channels, height, width, kernel, stride, pad, dilation, group;
  bool residual = false, clamp = false;
  bool table = false;  // an output table (input 14): a permutation of the output's bytes
};

// kEveryPair: an 8-bit input of two channels holding every pair of values
// (65536 pixels; the weights random but the second channel's, +-1, so that
// every integer between a channel's least and greatest sum is a sum).
// kLowest: every value its type's least (int8 weights -127), the direct sums
// as large as the channels allow. kClustered: 8-bit values around 96 above
// the type's least (normal, deviation 20), one in 150 at an end of the range,
// as a trained layer's activations lie around its zero point (AVX2's 7-bit
// rows, QConvPacked::split_rows); the weights -128 and 127 (kMinus128's).
// kPairable: kClustered's values, one in five at the top of AVX2's 7-bit
// window when the zero point is 96 above the least (159 above it), against
// weights as training leaves them (normal, deviation 16; one in 50 at -128
// or 127), which AVX2's kernel takes by pairs of K quads
// (QConvPacked::quad_pairs). kAtPairBound and kPastPairBound: every value
// 159 above its type's least, and weights whose K pairs sum to +-129, or
// in every other quad to +-130: two quads' lanes reach the pairs' bound of
// 258, or pass it by 1 or 2.
enum class Fill {
  kRandom,
  kExtreme,
  kMinus128,
  kEveryPair,
  kLowest,
  kClustered,
  kPairable,
  kAtPairBound,
  kPastPairBound,
  kTrainedWeights  // kPairable's weights
};

// A float residual: values around the outputs', or (adversarial) runs of
// NaN, infinities, signed zeros, the largest and a subnormal value.
Tensor fill_float(const Shape& shape, std::mt19937& rng, Fill how) {
  Tensor t(DType::kFloat32, shape);
  std::normal_distribution<float> dist(0.0f, 4.0f);
  constexpr float kSpecial[] = {std::numeric_limits<float>::quiet_NaN(),
                                std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity(),
                                -0.0f,
                                0.0f,
                                3e38f,
                                -3e38f,
                                1e-40f,
                                -1.5f};
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = how == Fill::kRandom ? dist(rng) : kSpecial[i % std::size(kSpecial)];
  return t;
}

template <typename T>
Tensor fill_8bit(const Shape& shape, std::mt19937& rng, Fill how) {
  Tensor t(dtype_of<T>(), shape);
  std::uniform_int_distribution<int> dist(std::numeric_limits<T>::min(),
                                          std::numeric_limits<T>::max());
  constexpr T lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  std::normal_distribution<float> cluster(96.0f, 20.0f);
  std::normal_distribution<float> trained(0.0f, 16.0f);
  for (int64_t i = 0; i < t.numel(); ++i) {
    T v = static_cast<T>(dist(rng));
    if (how == Fill::kTrainedWeights) {
      t.data<T>()[i] =
          i % 50 == 3
              ? (i / 50 % 2 ? hi : lo)
              : static_cast<T>(std::clamp(std::nearbyint(trained(rng)), float{lo}, float{hi}));
      continue;
    }
    if (how == Fill::kAtPairBound || how == Fill::kPastPairBound) {
      t.data<T>()[i] = static_cast<T>(lo + 159);
      continue;
    }
    if (how == Fill::kPairable && i % 5 == 2) {
      t.data<T>()[i] = static_cast<T>(lo + 159);
      continue;
    }
    if (how == Fill::kClustered || how == Fill::kPairable) {
      const float above = i % 150 == 7 ? (i / 150 % 2 ? 255.0f : 0.0f) : cluster(rng);
      t.data<T>()[i] =
          static_cast<T>(lo + static_cast<int>(std::clamp(std::nearbyint(above), 0.0f, 255.0f)));
      continue;
    }
    if (how == Fill::kEveryPair) {
      t.data<T>()[i] = static_cast<T>(lo + ((i / 2) >> (8 * (i % 2)) & 255));
      continue;
    }
    // Extremes: runs of pairs at the ends of the range (255 against +-127, the
    // saturating vpmaddubsw cases); int8 weights stay in [-127, 127] unless
    // kMinus128 asks for -128 too.
    if (how != Fill::kRandom) v = (i / 2) % 2 || how == Fill::kLowest ? lo : hi;
    if (std::is_same_v<T, int8_t> && how != Fill::kMinus128 && v == -128) v = -127;
    t.data<T>()[i] = v;
  }
  return t;
}

template <typename T>
Tensor fill(const Shape& shape, std::mt19937& rng, Fill how) {
  if constexpr (std::is_same_v<T, float>) {
    return fill_float(shape, rng, how);
  } else {
    return fill_8bit<T>(shape, rng, how);
  }
}

struct Scales {
  float x, y, r, sum;
  float w_lo, w_hi;
};

// TR: the residual's type (a float epilogue's may differ from the output's).
template <typename TX, typename TY, typename TR>
Tensor run(const Case& c, Isa isa, uint32_t seed, Fill how, const Scales& s, int32_t xz, int32_t yz,
           int32_t wz, bool float_sum, KernelRun* ran = nullptr) {
  std::mt19937 rng(seed);
  GraphBuilder b(13);
  const int64_t oh = (c.height + 2 * c.pad - c.dilation * (c.kernel - 1) - 1) / c.stride + 1;
  const int64_t ow = (c.width + 2 * c.pad - c.dilation * (c.kernel - 1) - 1) / c.stride + 1;
  std::vector<float> w_scale;
  std::vector<int8_t> w_zero;
  std::vector<int32_t> bias;
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::uniform_int_distribution<int32_t> bias_dist(-40000, 40000);
  for (int64_t m = 0; m < c.out_channels; ++m) {
    w_scale.push_back(s.w_lo + (s.w_hi - s.w_lo) * unit(rng));
    w_zero.push_back(static_cast<int8_t>(wz));
    bias.push_back(bias_dist(rng));
  }
  std::vector<float> bias_float;
  for (int32_t v : bias) bias_float.push_back(static_cast<float>(v) * 1e-3f);
  constexpr bool kFloatOutput = std::is_same_v<TY, float>;
  Tensor weights = fill<int8_t>({c.out_channels, c.channels / c.group, c.kernel, c.kernel}, rng,
                                how == Fill::kEveryPair   ? Fill::kRandom
                                : how == Fill::kClustered ? Fill::kMinus128
                                : how == Fill::kPairable  ? Fill::kTrainedWeights
                                                          : how);
  if (how == Fill::kEveryPair)
    for (int64_t m = 0; m < c.out_channels; ++m)
      weights.data<int8_t>()[m * c.channels + 1] = m % 2 ? 1 : -1;
  if (how == Fill::kAtPairBound || how == Fill::kPastPairBound) {
    // K pairs (127, 2), past the bound every other quad's (127, 3);
    // negated in odd channels.
    const int64_t per_channel = weights.numel() / c.out_channels;
    for (int64_t i = 0; i < weights.numel(); ++i) {
      const int64_t k = i % per_channel;
      const int small = how == Fill::kPastPairBound && k / 4 % 2 ? 3 : 2;
      weights.data<int8_t>()[i] =
          static_cast<int8_t>((i / per_channel % 2 ? -1 : 1) * (k % 2 ? small : 127));
    }
  }
  std::vector<Value*> inputs = {
      b.constant("x", fill<TX>({c.batch, c.height, c.width, c.channels}, rng, how)),
      b.constant("xs", Tensor::scalar<float>(s.x)),
      b.constant("xz", Tensor::scalar<TX>(static_cast<TX>(xz))),
      b.constant("w", weights),
      b.constant("ws", Tensor::from_vector<float>({c.out_channels}, w_scale)),
      b.constant("wz", Tensor::from_vector<int8_t>({c.out_channels}, w_zero)),
      kFloatOutput ? nullptr : b.constant("ys", Tensor::scalar<float>(s.y)),
      kFloatOutput ? nullptr : b.constant("yz", Tensor::scalar<TY>(static_cast<TY>(yz))),
      kFloatOutput || float_sum
          ? b.constant("bias", Tensor::from_vector<float>({c.out_channels}, bias_float))
          : b.constant("bias", Tensor::from_vector<int32_t>({c.out_channels}, bias))};
  const bool float_epilogue = kFloatOutput || float_sum;
  if (c.residual && float_epilogue) {
    inputs.push_back(b.constant("r", fill<TR>({c.batch, oh, ow, c.out_channels}, rng, how)));
    if constexpr (!std::is_same_v<TR, float>) {
      inputs.push_back(b.constant("rs", Tensor::scalar<float>(s.r)));
      inputs.push_back(b.constant("rz", Tensor::scalar<TR>(static_cast<TR>(yz / 2))));
    }
  }
  if constexpr (!kFloatOutput) {
    if (c.residual && !float_sum) {
      inputs.push_back(b.constant("r", fill<TY>({c.batch, oh, ow, c.out_channels}, rng, how)));
      inputs.push_back(b.constant("rs", Tensor::scalar<float>(s.r)));
      inputs.push_back(b.constant("rz", Tensor::scalar<TY>(static_cast<TY>(yz / 2))));
      inputs.push_back(b.constant("ss", Tensor::scalar<float>(s.sum)));
      inputs.push_back(b.constant("sz", Tensor::scalar<TY>(static_cast<TY>(yz / 3))));
    }
  }
  if constexpr (!kFloatOutput)
    if (c.table) {
      std::vector<TY> entries;
      for (int i = 0; i < 256; ++i) entries.push_back(static_cast<TY>(i * 37 + 11));
      inputs.resize(14, nullptr);
      inputs.push_back(b.constant("table", Tensor::from_vector<TY>({256}, entries)));
    }
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{c.kernel, c.kernel});
  a.set("strides", std::vector<int64_t>{c.stride, c.stride});
  a.set("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad});
  a.set("dilations", std::vector<int64_t>{c.dilation, c.dilation});
  a.set("group", c.group);
  if (c.clamp && float_epilogue) {  // ReLU6 (Clip's steps) or ReLU (Relu's), by seed
    a.set("activation_min", 0.0f);
    if (seed % 2)
      a.set("activation_max", 6.0f);
    else
      a.set("activation_relu", int64_t{1});
  } else if (c.clamp && !kFloatOutput) {
    // a ReLU at the zero point, and a ReLU6-like upper bound after the add
    a.set("conv_min", int64_t{yz});
    a.set("out_min", int64_t{yz / 3});
    a.set("out_max", int64_t{yz / 3 + 60});
  }
  Value* y = b.op("QConv", inputs, a);
  y->producer->domain = "ai.qdq";
  b.output(y);
  Graph g = b.build();
  auto ex = ReferenceExecutor::create(g, ExecutorOptions{isa, {}});
  EXPECT_TRUE(ex.is_ok()) << ex.status().message();
  auto first = ex->run({});
  EXPECT_TRUE(first.is_ok()) << first.status().message();
  auto again = ex->run({});  // packed weights reused
  EXPECT_TRUE(again.is_ok());
  EXPECT_EQ(std::memcmp(first.value()[0].raw(), again.value()[0].raw(),
                        static_cast<size_t>(first.value()[0].numel()) * sizeof(TY)),
            0);
  if (ran) *ran = ex->layer_kernels()[0].ran;
  return first.value()[0];
}

// Returns the epilogue form that ran (KernelRun::form).
template <typename TX, typename TY, typename TR = TY>
std::string expect_identical(Isa isa, const Case& c, uint32_t seed, Fill how, const Scales& s,
                             int32_t xz, int32_t yz, int32_t wz = 0, bool float_sum = false) {
  const Tensor want = run<TX, TY, TR>(c, Isa::kRef, seed, how, s, xz, yz, wz, float_sum);
  KernelRun ran;
  const Tensor got = run<TX, TY, TR>(c, isa, seed, how, s, xz, yz, wz, float_sum, &ran);
  EXPECT_EQ(want.shape(), got.shape());
  if (want.shape() != got.shape()) return "";
  int64_t differing = 0, first = -1;
  for (int64_t i = 0; i < want.numel(); ++i)
    if (std::memcmp(want.data<TY>() + i, got.data<TY>() + i, sizeof(TY)) != 0 && differing++ == 0)
      first = i;
  EXPECT_EQ(differing, 0) << "first at " << first << " of " << want.numel() << ", case C"
                          << c.channels << " M" << c.out_channels << " " << c.height << "x"
                          << c.width << " k" << c.kernel << " s" << c.stride << " g" << c.group
                          << (c.residual ? " +residual" : "") << (c.clamp ? " +clamp" : "")
                          << (float_sum ? " float sum" : "") << " residual "
                          << dtype_name(dtype_of<TR>()) << " seed " << seed;
  return ran.form ? ran.form : "";
}

const Case kCases[] = {
    {1, 3, 16, 32, 32, 3, 1, 1, 1, 1},                // stem: K = 27, padded to 28
    {3, 3, 16, 5, 64, 7, 2, 3, 1, 1},                 // ResNet-50's stem: 7 rows a tap window
    {1, 16, 16, 8, 8, 3, 1, 1, 1, 1, true, true},     // ResNet block conv2 with add + ReLU
    {2, 16, 16, 16, 16, 3, 1, 1, 1, 1, true, true},   // whole direct tiles (VNNI: 16-pixel rows)
    {1, 16, 64, 12, 12, 3, 1, 1, 1, 1, false, true},  // direct tiles of 12 pixels, 2 blocks
    {1, 8, 64, 6, 6, 3, 1, 1, 1, 1},                  // direct tiles of 6 pixels, 4 blocks
    {1, 16, 64, 8, 8, 3, 1, 1, 1, 1, true, true},     // 8-pixel rows: tiles of 8 x 2 blocks
    {1, 8, 128, 4, 16, 3, 1, 1, 1, 1, false, true},   // 8 blocks in panels of 2, 3 and 3
    {2, 16, 32, 9, 7, 3, 2, 1, 1, 1, false, true},    // batch, stride 2, odd sizes, 2 blocks
    {1, 64, 24, 5, 5, 1, 1, 0, 1, 1, true, false},    // 1x1 read in place, partial block
    {1, 16, 60, 5, 5, 1, 1, 0, 1, 1, true, true},     // 4 blocks, the last partial
    {1, 17, 5, 6, 6, 1, 1, 0, 1, 1},                  // 1x1, channels not a multiple of 4
    {2, 24, 144, 6, 8, 1, 1, 0, 1, 1, true, true},    // MobileNetV2's expansion: K = 24, 9 blocks
    {1, 5, 16, 9, 9, 3, 2, 0, 1, 1},                  // 5 channels padded to 8, no spatial pad
    {1, 6, 64, 4, 4, 3, 1, 1, 1, 1, true, false},     // 6 channels padded to 8, gathered rows
    {1, 32, 80, 4, 4, 1, 2, 0, 1, 1, false, true},    // 1x1 stride 2, 5 blocks: panels 4 + 1
    {1, 16, 48, 7, 7, 3, 1, 1, 1, 1, true, false},    // 3 blocks
    // AVX2's Winograd: odd rows and columns, groups across images, 2.5 blocks
    {1, 32, 16, 9, 13, 3, 1, 1, 1, 1, true, true},
    {2, 32, 40, 11, 7, 3, 1, 1, 1, 1, false, true},
    // AVX2's stride-2 Winograd (RunsStrideTwoLayers...): 6x6 outputs of two
    // images, 2.5 blocks, a residual; no padding, the input's last row and
    // column unread; odd outputs (31x31).
    {2, 32, 40, 12, 12, 3, 2, 1, 1, 1, true, true},
    {1, 48, 32, 17, 13, 3, 2, 0, 1, 1, false, true},
    {1, 32, 16, 61, 61, 3, 2, 1, 1, 1, true, false},
    // AVX2's last tiles of fewer rows: 5 with a residual, 3 without.
    {1, 32, 32, 1, 23, 1, 1, 0, 1, 1, true, false},
    {1, 32, 32, 3, 5, 1, 1, 0, 1, 1, false, true},
    {1, 8, 8, 10, 10, 3, 1, 2, 2, 1},              // dilation
    {1, 64, 64, 4, 4, 3, 1, 1, 1, 1, true, true},  // long K (576)
    // AMX tiles: two groups of 16 pixels (32-pixel rows), of 14 (56-pixel
    // rows) with 5-quad K chunks and 3 blocks, of 7 with 16-quad chunks; 1x1
    // and unpadded 3x3 read in place (copied flipped for int8 inputs).
    {1, 64, 32, 4, 32, 3, 1, 1, 1, 1, true, true},
    {1, 20, 48, 3, 56, 3, 1, 1, 1, 1},
    {2, 128, 40, 7, 7, 3, 1, 1, 1, 1, false, true},
    {1, 48, 32, 8, 8, 1, 1, 0, 1, 1, true, false},
    {1, 16, 32, 6, 34, 3, 1, 0, 1, 1},
    {1, 24, 24, 9, 9, 3, 2, 1, 1, 24, false, true},  // depthwise, stride 2, partial block
    {2, 32, 32, 6, 6, 3, 1, 1, 1, 32, true, false},  // depthwise with residual
    {1, 16, 16, 7, 7, 5, 1, 2, 1, 16},               // depthwise 5x5
    {1, 40, 40, 6, 19, 3, 1, 1, 1, 40, true, true},  // depthwise runs of 4 pixels and 1, 2.5 blocks
    {1, 16, 16, 9, 14, 3, 2, 2, 2, 16},              // depthwise, dilation 2, stride 2, pad 2
    {1, 16, 16, 2, 2, 5, 1, 2, 1, 16},               // depthwise, no pixel with every tap inside
    {1, 24, 24, 5, 6, 2, 1, 0, 1, 24, false, true},  // depthwise 2x2: an even tap count
    // Depthwise over 64-channel groups (the last of 2.25, 1 and 0.5 blocks),
    // each row's edge pixels, and its run's pixels past the last four: 1
    // (width 7), 3 (width 5), none (width 10).
    {1, 100, 100, 3, 7, 3, 1, 1, 1, 100, true, true},
    {2, 144, 144, 4, 5, 3, 1, 1, 1, 144},
    {1, 72, 72, 3, 10, 3, 1, 1, 1, 72, false, true},
    {1, 112, 112, 3, 6, 3, 1, 1, 1, 112, false, true},  // the last group: 3 blocks
    // AVX2's 3x3 runs (depthwise_3x3): MobileNetV2's 4x4 maps (a run of 2
    // between the edges), a 3-wide map (a run of 1), no padding (a row one
    // run of 7 pixels; 1.5 blocks), stride 2.
    {2, 48, 48, 4, 4, 3, 1, 1, 1, 48, true, true},
    {1, 32, 32, 5, 3, 3, 1, 1, 1, 32},
    {1, 24, 24, 7, 9, 3, 1, 0, 1, 24, false, true},
    {1, 32, 32, 6, 13, 3, 2, 1, 1, 32, true, true},  // stride 2: a run of 5, 2 blocks
    // AVX2's rows of 3x3 outputs in one run (depthwise_row): a 1-pixel row,
    // both its side columns padding; stride 2 over 2 columns (one pixel) and
    // over an even width (its last column unread).
    {1, 32, 32, 3, 1, 3, 1, 1, 1, 32},
    {1, 16, 16, 4, 2, 3, 2, 1, 1, 16, false, true},
    {2, 16, 16, 5, 8, 3, 2, 1, 1, 16, true, false},
    // Grouped: group-1 layers of a run of groups each (QConvPacked::
    // group_layers). 3 groups of 4 channels in and 2 out (one layer);
    // ResNeXt's 4 and 4, with a residual (two layers of 4 groups); 32 and 32
    // over two images (AVX2's Winograd a layer); stride 2; 1x1 read in place
    // at the whole input's pitch; 6 channels a group (a layer each: 5 groups,
    // padded to 8, gathered); a channel multiplier of 2 (one layer).
    {1, 12, 6, 7, 7, 3, 1, 1, 1, 3},
    {1, 32, 32, 6, 6, 3, 1, 1, 1, 8, true, true},
    {2, 64, 64, 8, 8, 3, 1, 1, 1, 2, false, true},
    {1, 32, 64, 9, 9, 3, 2, 1, 1, 2, true, false},
    {1, 48, 48, 5, 5, 1, 1, 0, 1, 3, true, true},
    {1, 30, 30, 4, 4, 1, 1, 0, 1, 5},
    {1, 6, 12, 5, 5, 3, 1, 1, 1, 6},
    {1, 4, 3, 1, 1, 1, 1, 0, 1, 1},  // one pixel
};

const Scales kTypical = {0.02f, 0.05f, 0.04f, 0.07f, 1e-4f, 1e-2f};

// The AMX kernel's threshold for leaving a layer to AVX-512 VNNI's tiles, while
// it lives; 0 (the default here): AMX's tiles on every shape, however small.
class AmxMinTiles {
 public:
  explicit AmxMinTiles(int tiles = 0) : previous_(set_amx_min_tiles_per_thread(tiles)) {}
  ~AmxMinTiles() { set_amx_min_tiles_per_thread(previous_); }

 private:
  int previous_;
};

class QConvKernel : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam()))
      GTEST_SKIP() << isa_name(GetParam()) << " is not available on this CPU";
  }
  AmxMinTiles amx_;
};

TEST_P(QConvKernel, MatchesReferenceOnRandomData) {
  uint32_t seed = 1;
  for (const Case& c : kCases) {
    expect_identical<uint8_t, uint8_t>(GetParam(), c, seed++, Fill::kRandom, kTypical, 128, 100);
    expect_identical<int8_t, int8_t>(GetParam(), c, seed++, Fill::kRandom, kTypical, 0, -3);
    expect_identical<uint8_t, int8_t>(GetParam(), c, seed++, Fill::kRandom, kTypical, 7, 20);
    expect_identical<int8_t, uint8_t>(GetParam(), c, seed++, Fill::kRandom, kTypical, -9, 60);
  }
}

TEST_P(QConvKernel, MatchesReferenceOnAdversarialValues) {
  for (const Case& c : kCases) {
    // 255 against +-127 pairs, zero points at the ends of their ranges.
    expect_identical<uint8_t, uint8_t>(GetParam(), c, 9, Fill::kExtreme, kTypical, 0, 0);
    expect_identical<uint8_t, int8_t>(GetParam(), c, 9, Fill::kExtreme, kTypical, 255, 127);
    expect_identical<int8_t, uint8_t>(GetParam(), c, 9, Fill::kExtreme, kTypical, -128, 255);
    expect_identical<int8_t, int8_t>(GetParam(), c, 9, Fill::kExtreme, kTypical, 127, -128);
    // Weights of -128: vpsignb cannot negate them; every level's kernel takes them.
    expect_identical<uint8_t, uint8_t>(GetParam(), c, 10, Fill::kMinus128, kTypical, 3, 5);
  }
}

// Every case, four type pairs, activations filled `how` around zero points
// 96 above their type's least (two of the four) or near it.
void expect_identical_near_the_zero_point(Isa isa, Fill how, uint32_t seed) {
  for (const Case& c : kCases) {
    expect_identical<uint8_t, uint8_t>(isa, c, seed++, how, kTypical, 96, 100);
    expect_identical<int8_t, int8_t>(isa, c, seed++, how, kTypical, -32, -3);
    expect_identical<uint8_t, int8_t>(isa, c, seed++, how, kTypical, 110, 20);
    expect_identical<int8_t, uint8_t>(isa, c, seed++, how, kTypical, -40, 60);
  }
}

// Activations near the zero point, a few far from it: AVX2's 7-bit rows
// with their remainders (and, where a tile has too many, the 16-bit rows),
// against weights of -128 and 127.
TEST_P(QConvKernel, MatchesReferenceOnValuesNearTheZeroPoint) {
  expect_identical_near_the_zero_point(GetParam(), Fill::kClustered, 300);
}

// Weights as training leaves them, which AVX2's kernel takes by pairs of K
// quads, against activations near the zero point and at the top of the
// 7-bit window (where the pairs' 16-bit sums come nearest their bound).
TEST_P(QConvKernel, MatchesReferenceOnPairedQuads) {
  expect_identical_near_the_zero_point(GetParam(), Fill::kPairable, 500);
}

TEST_P(QConvKernel, MatchesReferenceAcrossScaleRanges) {
  const Scales ranges[] = {
      {1e-8f, 1e-8f, 1e-8f, 1e-8f, 1e-8f, 1e-7f},  // tiny everything
      {1e4f, 1e-8f, 1e4f, 1e-8f, 1e3f, 1e4f},      // huge multipliers: saturation, inf sums
      {1e-8f, 1e4f, 1e-8f, 1e4f, 1e-8f, 1e-6f},    // everything rounds to the zero point
      {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f},        // multiplier 0.5: ties, half to even
      {3e38f, 1e-3f, 1e-3f, 1e-3f, 1e2f, 1e3f},    // infinite multipliers: 0 * inf is NaN
  };
  uint32_t seed = 100;
  for (const Scales& s : ranges)
    for (const Case& c : kCases) {
      expect_identical<uint8_t, uint8_t>(GetParam(), c, seed++, Fill::kRandom, s, 128, 128);
      expect_identical<int8_t, int8_t>(GetParam(), c, seed++, Fill::kExtreme, s, 1, -1);
    }
}

// A float output, with the cases' residual (8-bit, dequantized, or float)
// and activation (Relu's or Clip's steps): the QAT block end read in float.
TEST_P(QConvKernel, FloatOutputMatchesReference) {
  uint32_t seed = 200;
  for (const Case& c : kCases)
    for (const Fill how : {Fill::kRandom, Fill::kExtreme}) {
      expect_identical<uint8_t, float, uint8_t>(GetParam(), c, seed++, how, kTypical, 128, 0);
      expect_identical<int8_t, float, int8_t>(GetParam(), c, seed++, how, kTypical, 0, 0);
      expect_identical<uint8_t, float, float>(GetParam(), c, seed++, how, kTypical, 7, 0);
      expect_identical<int8_t, float, float>(GetParam(), c, seed++, how, kTypical, -5, 0);
    }
}

// The TensorRT-style QAT block end: float bias, float residual, clamp, one
// quantization; typical, adversarial and extreme scales (a tiny y_scale
// saturates, a huge one rounds everything to the zero point).
TEST_P(QConvKernel, FloatSumMatchesReference) {
  const Scales ranges[] = {kTypical,
                           {1e-8f, 1e-8f, 1e-8f, 1e-8f, 1e-8f, 1e-7f},
                           {1e4f, 1e-8f, 1e4f, 1e-8f, 1e3f, 1e4f},
                           {0.5f, 1e4f, 0.5f, 0.5f, 0.5f, 0.5f}};
  uint32_t seed = 300;
  for (const Scales& s : ranges)
    for (const Case& c : kCases) {
      expect_identical<uint8_t, uint8_t>(GetParam(), c, seed++, Fill::kRandom, s, 128, 100, 0,
                                         true);
      expect_identical<int8_t, int8_t>(GetParam(), c, seed++, Fill::kExtreme, s, 0, -3, 0, true);
      expect_identical<uint8_t, int8_t>(GetParam(), c, seed++, Fill::kRandom, s, 7, 0, 0, true);
      // A float residual (another float-output conv's): NaN and infinities
      // reach the quantization.
      for (const Fill how : {Fill::kRandom, Fill::kExtreme}) {
        expect_identical<uint8_t, uint8_t, float>(GetParam(), c, seed++, how, s, 128, 100, 0, true);
        expect_identical<int8_t, int8_t, float>(GetParam(), c, seed++, how, s, 0, -3, 0, true);
      }
      expect_identical<int8_t, uint8_t, int8_t>(GetParam(), c, seed++, Fill::kRandom, s, 3, 9, 0,
                                                true);
    }
}

// The affine check's search for forms free of exception slots, set for a
// scope.
// set_affine_search, while it lives.
class AffineSearchSetting {
 public:
  explicit AffineSearchSetting(AffineSearch search) : previous_(set_affine_search(search)) {}
  ~AffineSearchSetting() { set_affine_search(previous_); }

 private:
  AffineSearch previous_;
};

// A float sum without a residual runs in the integer epilogue's form where
// that matches the float steps on every sum the layer can reach, at most
// one sum a channel corrected (qconv_pack.cc, store_epilogue_constants):
// here every pair of two input channels' values, so every sum in the range
// the check walks, against the reference, with and without the activation,
// weights and float biases random per seed; the check's search for forms
// free of exception slots off (most of these layers keep slots then) and
// on, and the form itself off (the float steps' lanes on every sum).
TEST_P(QConvKernel, FloatSumMatchesReferenceOnEveryReachableSum) {
  const Scales scales[] = {kTypical, {0.02f, 0.05f, 0.04f, 0.07f, 1e-3f, 2e-2f}};
  std::set<std::string> forms;
  for (const AffineSearch search :
       {AffineSearch::kFirstFit, AffineSearch::kSlotFree, AffineSearch::kNone}) {
    const AffineSearchSetting setting(search);
    uint32_t seed = 400;
    for (const Scales& s : scales)
      for (const bool clamp : {false, true}) {
        const Case c{1, 2, 48, 256, 256, 1, 1, 0, 1, 1, false, clamp};
        forms.insert(expect_identical<int8_t, int8_t>(GetParam(), c, seed++, Fill::kEveryPair, s, 0,
                                                      0, 0, true));
        forms.insert(expect_identical<uint8_t, uint8_t>(GetParam(), c, seed++, Fill::kEveryPair, s,
                                                        128, 100, 0, true));
      }
  }
  // Every form of the lanes ran: free of exception slots (the integer
  // epilogue's), with them, and the float steps.
  EXPECT_EQ(forms, (std::set<std::string>{"affine", "affine-corrected", "float"}));
}

// OpenMP's thread count for the teams opened while it lives.
class TeamThreads {
 public:
  explicit TeamThreads(int threads) : previous_(omp_get_max_threads()) {
    omp_set_num_threads(threads);
  }
  ~TeamThreads() { omp_set_num_threads(previous_); }

 private:
  int previous_;
};

// Each case on each thread count equal to the reference, seeds from `seed`
// on: uint8 in and out (zero points 128 and 100), then int8 (0 and -3), a
// float sum where `int8_float_sum`.
void expect_identical_on_threads(Isa isa, std::span<const Case> cases,
                                 std::initializer_list<int> threads, uint32_t seed,
                                 bool int8_float_sum) {
  for (const int count : threads) {
    const TeamThreads team(count);
    for (const Case& c : cases) {
      expect_identical<uint8_t, uint8_t>(isa, c, seed++, Fill::kRandom, kTypical, 128, 100);
      expect_identical<int8_t, int8_t>(isa, c, seed++, Fill::kRandom, kTypical, 0, -3, 0,
                                       int8_float_sum);
    }
  }
}

// Layers of fewer tiles than twice the threads, and layers whose weights
// outweigh their rows (a group or more a thread), split their panels into
// groups (qconv_panel_groups), each thread walking its items group by
// group: with 2 to 5 threads some thread's items cross from one group's
// last tile to the next group's first, mid-row (18-pixel output rows in
// three tiles) and between gathered tiles of 6 and 4 pixels.
TEST_P(QConvKernel, MatchesReferenceWithTilesSplitIntoGroups) {
  const Case cases[] = {
      {1, 16, 48, 1, 18, 3, 1, 1, 1, 1, false, true},   // direct tiles, 3 blocks
      {1, 16, 48, 2, 36, 3, 2, 1, 1, 1, true, false},   // stride 2, residual
      {1, 64, 80, 4, 4, 3, 1, 1, 1, 1, true, true},     // 16 gathered pixels, 5 blocks
      {2, 32, 64, 2, 3, 1, 1, 0, 1, 1},                 // 1x1 over two images, 4 blocks
      {1, 128, 160, 5, 5, 1, 1, 0, 1, 1, true, false},  // 20 KB of weights, 3 KB of rows
  };
  expect_identical_on_threads(GetParam(), cases, {2, 3, 4, 5}, 500, true);
}

// An output table (a LookupTable fused into the conv: fuse_qconv_epilogue)
// maps every output the kernels write, after the epilogue: a 1x1 layer of
// whole blocks, one whose last block is partial, a 3x3 layer (AVX2's
// Winograd form), a depthwise one, one whose weights split its panels
// into groups, and a grouped one, on 1 to 3 threads.
TEST_P(QConvKernel, OutputTableMatchesReference) {
  const Case cases[] = {
      {1, 24, 144, 6, 8, 1, 1, 0, 1, 1, true, true, true},
      {1, 16, 60, 5, 5, 1, 1, 0, 1, 1, false, true, true},
      {1, 32, 32, 8, 8, 3, 1, 1, 1, 1, true, false, true},
      {1, 32, 32, 6, 6, 3, 1, 1, 1, 32, false, true, true},
      {1, 128, 160, 5, 5, 1, 1, 0, 1, 1, true, false, true},
      {1, 32, 32, 6, 6, 3, 1, 1, 1, 8, true, true, true},
  };
  expect_identical_on_threads(GetParam(), cases, {1, 2, 3}, 1000, false);
}

// A float sum rounds float(S) * multiplier, then adds the float bias (the
// reference's two steps); one fma would round once. Here they differ: S =
// 2^22 + 2, multiplier 1 + 2^-23 (x_scale 1), bias -2^22, y_scale 1. The
// product 2^22 + 2.5 + 2^-22 rounds to 2^22 + 2.5, and with the bias that is
// 2.5, to even 2; the fma keeps 2.5 + 2^-22, which rounds to 3. A 1x1 layer
// of 262 int8 channels (260 of 127 * 127, then 127 * 6 and 4 * 1 make S),
// seven pixels (a whole AVX2 tile and a last one of one row), every form.
TEST_P(QConvKernel, FloatSumRoundsTheProductBeforeAddingTheBias) {
  constexpr int64_t kChannels = 262, kOut = 16, kPixels = 7;
  const float multiplier = std::nextafter(1.0f, 2.0f), bias = -4194304.0f;
  constexpr int32_t kSum = 127 * 127 * 260 + 127 * 6 + 4 * 1;
  static_assert(kSum == (1 << 22) + 2);
  ASSERT_EQ(std::nearbyint(static_cast<float>(kSum) * multiplier + bias), 2.0f);
  ASSERT_EQ(std::nearbyint(std::fma(static_cast<float>(kSum), multiplier, bias)), 3.0f);
  Tensor x(DType::kInt8, {1, 1, kPixels, kChannels}), w(DType::kInt8, {kOut, kChannels, 1, 1});
  for (int64_t i = 0; i < kPixels * kChannels; ++i)
    x.data<int8_t>()[i] = static_cast<int8_t>(i % kChannels == kChannels - 1 ? 4 : 127);
  for (int64_t i = 0; i < kOut * kChannels; ++i) {
    const int64_t k = i % kChannels;
    w.data<int8_t>()[i] = static_cast<int8_t>(k < 260 ? 127 : k == 260 ? 6 : 1);
  }
  // With a residual of zeros too: the float steps then run without narrowing.
  std::set<std::string> forms;
  for (const bool residual : {false, true}) {
    GraphBuilder b(13);
    std::vector<Value*> inputs = {
        b.constant("x", x),
        b.constant("xs", Tensor::scalar<float>(1.0f)),
        b.constant("xz", Tensor::scalar<int8_t>(0)),
        b.constant("w", w),
        b.constant("ws", Tensor::from_vector<float>({kOut}, std::vector<float>(kOut, multiplier))),
        b.constant("wz", Tensor::from_vector<int8_t>({kOut}, std::vector<int8_t>(kOut, 0))),
        b.constant("ys", Tensor::scalar<float>(1.0f)),
        b.constant("yz", Tensor::scalar<int8_t>(0)),
        b.constant("bias", Tensor::from_vector<float>({kOut}, std::vector<float>(kOut, bias)))};
    if (residual) {
      Tensor zeros(DType::kInt8, {1, 1, kPixels, kOut});
      std::fill_n(zeros.data<int8_t>(), zeros.numel(), int8_t{0});
      inputs.push_back(b.constant("r", zeros));
      inputs.push_back(b.constant("rs", Tensor::scalar<float>(1.0f)));
      inputs.push_back(b.constant("rz", Tensor::scalar<int8_t>(0)));
    }
    Value* y = b.op("QConv", inputs, Attributes{});
    y->producer->domain = "ai.qdq";
    b.output(y);
    const Graph g = b.build();
    for (const AffineSearch search :
         {AffineSearch::kFirstFit, AffineSearch::kSlotFree, AffineSearch::kNone}) {
      const AffineSearchSetting setting(search);
      for (const Isa isa : {Isa::kRef, GetParam()}) {
        auto ex = ReferenceExecutor::create(g, ExecutorOptions{isa, {}});
        ASSERT_TRUE(ex.is_ok()) << ex.status().message();
        auto out = ex->run({});
        ASSERT_TRUE(out.is_ok()) << out.status().message();
        for (int64_t i = 0; i < kPixels * kOut; ++i)
          ASSERT_EQ(out.value()[0].data<int8_t>()[i], 2)
              << isa_name(isa) << (residual ? " residual" : "") << " element " << i;
        if (isa != Isa::kRef && ex->layer_kernels()[0].ran.form)
          forms.insert(ex->layer_kernels()[0].ran.form);
      }
    }
  }
  EXPECT_TRUE(forms.count("float")) << "the float steps did not run";
}

TEST_P(QConvKernel, WeightZeroPointsRunTheReference) {
  expect_identical<uint8_t, uint8_t>(GetParam(), kCases[1], 5, Fill::kRandom, kTypical, 10, 10, 3);
}

// A grouped convolution runs group-1 layers of a run of groups each, at the
// level asked for, and says so ("grouped", or "grouped-winograd": AVX2's
// form a group layer), so that the tests above check the cases' grouped
// layers. The threads split all group layers' work items (qconv_gemm):
// with 2 to 5, some thread's items run from one group layer into the next,
// mid-row, between gathered tiles, and where a group layer's few tiles
// split its panels;
// AVX2's small Winograd group layers run whole on each thread where they
// share out evenly (2 and 4 threads), else a region a layer (3 and 5).
TEST_P(QConvKernel, GroupedConvRunsAGroupLayerAGroup) {
  int grouped = 0;
  for (const Case& c : kCases) {
    if (c.group == 1 || (c.group == c.channels && c.group == c.out_channels)) continue;
    KernelRun ran{GetParam(), nullptr};
    (void)run<uint8_t, uint8_t, uint8_t>(c, GetParam(), 4, Fill::kRandom, kTypical, 128, 100, 0,
                                         false, &ran);
    EXPECT_EQ(ran.isa, GetParam()) << isa_name(ran.isa);
    EXPECT_TRUE(std::string(ran.algorithm ? ran.algorithm : "").starts_with("grouped"))
        << "case C" << c.channels << " g" << c.group;
    ++grouped;
  }
  EXPECT_EQ(grouped, 7);
  const Case cases[] = {
      {1, 32, 32, 1, 18, 3, 1, 1, 1, 2, false, true},  // direct tiles, 2 groups
      {1, 32, 32, 5, 5, 1, 1, 0, 1, 4, true, false},   // gathered tiles of 6 and 1 pixels
      {2, 64, 128, 2, 3, 1, 1, 0, 1, 2, true, true},   // 4 blocks a group over 12 pixels
      {1, 64, 64, 3, 3, 3, 1, 1, 1, 8},                // 8 channels a group, one tile
      {1, 64, 64, 6, 6, 3, 1, 1, 1, 4, true, false},   // AVX2's Winograd: layers whole a thread
  };
  expect_identical_on_threads(GetParam(), cases, {2, 3, 4, 5}, 1100, true);
}

// AVX2 runs 3x3 stride-1 layers of whole 16-channel vectors by a Winograd
// form where their shape makes it pay (qconv_winograd_form), so the tests
// above check those forms on most such cases (F(2x4, 3x3) on some, a last
// tile column partial among them), and the others direct, stride 2 among
// them.
TEST(QConvKernelAvx2, RunsThreeByThreeLayersByWinograd) {
  if (!isa_supported(Isa::kAvx2)) GTEST_SKIP() << "avx2 is not available on this CPU";
  int winograd = 0, f2x4 = 0, partial = 0;
  for (const Case& c : kCases) {
    KernelRun ran;
    (void)run<uint8_t, uint8_t, uint8_t>(c, Isa::kAvx2, 2, Fill::kRandom, kTypical, 128, 100, 0,
                                         false, &ran);
    std::string algorithm = ran.algorithm ? ran.algorithm : "";
    // A grouped layer's form is its group layers', of as many channels as
    // their groups have together; a depthwise layer takes none.
    if (algorithm.starts_with("grouped"))
      algorithm = algorithm == "grouped-winograd" ? "winograd" : "";
    const bool can = c.kernel == 3 && c.stride == 1 && c.dilation == 1 &&
                     (c.group == 1 ? c.channels % 16 == 0 : c.group != c.channels);
    EXPECT_TRUE(can || algorithm.empty())
        << "case C" << c.channels << " " << c.height << "x" << c.width << " k" << c.kernel;
    EXPECT_TRUE(algorithm.empty() || algorithm == "winograd" || algorithm == "winograd-2x4")
        << algorithm;
    winograd += !algorithm.empty();
    f2x4 += algorithm == "winograd-2x4";
    partial += algorithm == "winograd-2x4" && c.width % 4 != 0;
  }
  EXPECT_GE(winograd, 8);
  EXPECT_GE(f2x4, 3);
  EXPECT_GE(partial, 1);
}

// A Winograd layer's tiles go to the threads in even shares where each
// thread has a group's worth, else all of them to every thread with a
// share of the blocks (winograd_layer): with 1 to 5 threads these layers
// take both ways, shares of one group and of several, a last group of
// fewer tiles, all forms.
TEST(QConvKernelAvx2, WinogradMatchesReferenceInEveryThreadSplit) {
  if (!isa_supported(Isa::kAvx2)) GTEST_SKIP() << "avx2 is not available on this CPU";
  const Case cases[] = {
      {1, 32, 32, 8, 8, 3, 1, 1, 1, 1, true, true},     // 8 tiles
      {2, 16, 32, 12, 16, 3, 1, 1, 1, 1, false, true},  // 48 tiles
      {1, 32, 48, 6, 20, 3, 1, 1, 1, 1, true, false},   // 15 tiles, the last column partial
  };
  const std::initializer_list<int> threads = {1, 2, 3, 4, 5};
  uint32_t seed = 900;  // expect_identical_on_threads' uint8 seeds
  for (const int count : threads) {
    const TeamThreads team(count);
    for (const Case& c : cases) {
      KernelRun ran;
      (void)run<uint8_t, uint8_t, uint8_t>(c, Isa::kAvx2, seed, Fill::kRandom, kTypical, 128, 100,
                                           0, false, &ran);
      seed += 2;
      EXPECT_TRUE(std::string(ran.algorithm ? ran.algorithm : "").starts_with("winograd"))
          << "case C" << c.channels << " " << c.height << "x" << c.width;
    }
  }
  expect_identical_on_threads(Isa::kAvx2, cases, threads, 900, true);
}

// Batch 1's 4x4 layers of 512 channels (ResNet-18's deepest) run direct:
// F(2x2, 3x3) would read 16-bit transformed weights, 3.6 times the bytes of
// the direct tiles' int8 ones, from memory for 4 tiles
// (qconv_winograd_form's cost). At batch 32 the same layer takes a Winograd
// form, its weights read for 12 tiles at a time.
TEST(QConvKernelAvx2, TakesWinogradWhereItsWeightsPay) {
  if (!isa_supported(Isa::kAvx2)) GTEST_SKIP() << "avx2 is not available on this CPU";
  for (const int64_t batch : {1, 32}) {
    const Case c{batch, 512, 512, 4, 4, 3, 1, 1, 1, 1};
    KernelRun ran;
    (void)run<uint8_t, uint8_t, uint8_t>(c, Isa::kAvx2, 4, Fill::kRandom, kTypical, 128, 100, 0,
                                         false, &ran);
    EXPECT_EQ(std::string(ran.algorithm ? ran.algorithm : "").starts_with("winograd"), batch > 1)
        << "batch " << batch;
  }
}

// The Winograd forms' bounds (qconv_winograd.h): 4 * 128 * sum |w| < 2^31
// for F(2x2, 3x3), 48 * 128 * sum |w| for F(2x4, 3x3). Every activation at
// its least (-128 in the AVX2 kernel's domain) and every weight -127 make
// the sums as large as the channels allow: with 3632 channels 4 S stays
// below 2^31 (F(2x2, 3x3), which a 12x12 map takes), with 3680 it would not
// (direct); with 304 channels 48 S does (F(2x4, 3x3), a 16x16 map's form),
// with 320 it would not (F(2x2, 3x3)). All equal the reference, whose sums
// here are 0 (x - x_zero = 0): what the kernel's sum of a * w and its
// a_zero correction cancel to.
TEST(QConvKernelAvx2, WinogradUpToItsBoundAndDirectPastIt) {
  if (!isa_supported(Isa::kAvx2)) GTEST_SKIP() << "avx2 is not available on this CPU";
  for (const auto& [channels, side, algorithm] :
       {std::tuple{3632, 12, "winograd"}, std::tuple{3680, 12, ""},
        std::tuple{304, 16, "winograd-2x4"}, std::tuple{320, 16, "winograd"}}) {
    const Case c{1, channels, 16, side, side, 3, 1, 1, 1, 1};
    expect_identical<uint8_t, uint8_t>(Isa::kAvx2, c, 1, Fill::kLowest, kTypical, 0, 0);
    expect_identical<int8_t, int8_t>(Isa::kAvx2, c, 1, Fill::kLowest, kTypical, -127, 0);
    KernelRun ran;
    (void)run<uint8_t, uint8_t, uint8_t>(c, Isa::kAvx2, 1, Fill::kLowest, kTypical, 0, 0, 0, false,
                                         &ran);
    EXPECT_STREQ(ran.algorithm ? ran.algorithm : "", algorithm) << channels << " channels";
  }
}

// The pairs take every direct layer of the cases above with 16 channels or
// more and 2 blocks or more (so that MatchesReferenceOnPairedQuads checks
// them: 9 cases), and no other.
TEST(QConvKernelAvx2, PairsTheQuadsOfTrainedWeights) {
  if (!isa_supported(Isa::kAvx2)) GTEST_SKIP() << "avx2 is not available on this CPU";
  int paired = 0;
  for (const Case& c : kCases) {
    KernelRun ran;
    (void)run<uint8_t, uint8_t, uint8_t>(c, Isa::kAvx2, 3, Fill::kPairable, kTypical, 96, 100, 0,
                                         false, &ran);
    const std::string algorithm = ran.algorithm ? ran.algorithm : "";
    const bool can = !algorithm.starts_with("winograd") && c.group == 1 && c.channels >= 16 &&
                     c.out_channels > kQConvBlock;
    EXPECT_EQ(algorithm == "quad-pairs", can)
        << "case C" << c.channels << " M" << c.out_channels << " k" << c.kernel;
    paired += can;
  }
  EXPECT_GE(paired, 9);
}

// Two quads' lanes at the pairs' bound (weights summing to +-258 against
// bytes of 127: +-32766) are paired, and equal the reference; past it
// (+-259: +-32893 would wrap in 16 bits) they are not, and equal it too
// (half the quads alone: the layer keeps K in order).
TEST(QConvKernelAvx2, PairsQuadsUpToTheirBoundAndNotPastIt) {
  if (!isa_supported(Isa::kAvx2)) GTEST_SKIP() << "avx2 is not available on this CPU";
  const Case c{1, 64, 48, 3, 5, 1, 1, 0, 1, 1};
  for (const auto& [how, algorithm] :
       {std::pair{Fill::kAtPairBound, "quad-pairs"}, std::pair{Fill::kPastPairBound, ""}}) {
    expect_identical<uint8_t, uint8_t>(Isa::kAvx2, c, 1, how, kTypical, 96, 100);
    expect_identical<int8_t, int8_t>(Isa::kAvx2, c, 1, how, kTypical, -32, -3);
    KernelRun ran;
    (void)run<uint8_t, uint8_t, uint8_t>(c, Isa::kAvx2, 1, how, kTypical, 96, 100, 0, false, &ran);
    EXPECT_STREQ(ran.algorithm ? ran.algorithm : "", algorithm);
  }
}

// The AMX kernel loads its tile configuration again for every layer it runs:
// other code releasing or reshaping the tiles in the same threads between two
// runs (here a tilerelease in every OpenMP thread) must not leave it
// computing on tiles with no shape (#UD) or the wrong one.
__attribute__((target("amx-tile"))) void release_tiles_in_every_thread() {
#pragma omp parallel
  _tile_release();
}

TEST(QConvKernelAmx, RunsAfterOtherCodeReleasedTheTiles) {
  if (!isa_supported(Isa::kAmxInt8)) GTEST_SKIP() << "amx is not available on this CPU";
  const AmxMinTiles amx;
  const Case& c = kCases[2];  // whole direct tiles
  expect_identical<uint8_t, uint8_t>(Isa::kAmxInt8, c, 7, Fill::kRandom, kTypical, 128, 100);
  release_tiles_in_every_thread();
  expect_identical<uint8_t, uint8_t>(Isa::kAmxInt8, c, 7, Fill::kRandom, kTypical, 128, 100);
}

// A layer too small for AMX's tiles runs AVX-512 VNNI's, with the same
// results, and the executor reports the code that ran (--verbose, profiles).
TEST(QConvKernelAmx, LeavesSmallLayersToVnniTilesAndSaysSo) {
  if (!isa_supported(Isa::kAmxInt8)) GTEST_SKIP() << "amx is not available on this CPU";
  const Case& c = kCases[2];
  for (const auto& [min_tiles, expected] :
       {std::pair{1 << 20, Isa::kAvx512Vnni}, std::pair{0, Isa::kAmxInt8}}) {
    const AmxMinTiles threshold(min_tiles);
    KernelRun ran;
    const Tensor got = run<uint8_t, uint8_t, uint8_t>(c, Isa::kAmxInt8, 3, Fill::kRandom, kTypical,
                                                      128, 100, 0, false, &ran);
    const Tensor want = run<uint8_t, uint8_t, uint8_t>(c, Isa::kRef, 3, Fill::kRandom, kTypical,
                                                       128, 100, 0, false);
    EXPECT_EQ(ran.isa, expected) << isa_name(ran.isa);
    ASSERT_EQ(got.nbytes(), want.nbytes());
    EXPECT_EQ(std::memcmp(got.raw(), want.raw(), got.nbytes()), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, QConvKernel,
                         ::testing::Values(Isa::kAvx2, Isa::kAvxVnni, Isa::kAvx512Vnni,
                                           Isa::kAmxInt8),
                         [](const auto& param_info) {
                           return std::string(isa_name(param_info.param));
                         });

}  // namespace
}  // namespace qdq
