// The optimized FP32 Conv / ai.qdq.Conv against the reference's direct loop
// nest. Float sums in another order round differently, so the bound is on
// the error, not the bits: with inputs and weights in [-1, 1] and at most a
// few hundred terms, |error| stays below 1e-4 (a float's relative precision
// times the sum of the magnitudes). Geometries: padding, strides, dilations,
// groups, depthwise (a direct loop), 1x1 (read directly, no gathering), batches that split
// over threads, 1-D and 3-D windows; each of the kernel's window sources (the
// input itself, the padded input shifted per tap, gathered windows) with
// several depth blocks, partial panels and strips, and chunks that end inside
// a padded row.
#include <gtest/gtest.h>

#include <bit>
#include <limits>
#include <random>

#include "graph/builder.h"
#include "pass_test_util.h"
#include "runtime/kernels/avx2/conv.h"
#include "runtime/kernels/kernel_test_util.h"
#include "runtime/kernels/registry.h"

namespace qdq {
namespace {

struct ConvCase {
  Shape x, w;
  std::vector<int64_t> strides, pads, dilations;
  int64_t group = 1;
};

Tensor run_conv(const ConvCase& c, const std::string& domain, Attributes extra, Isa isa) {
  GraphBuilder b(13);
  Attributes a = std::move(extra);
  a.set("strides", c.strides);
  a.set("pads", c.pads);
  a.set("dilations", c.dilations);
  a.set("group", c.group);
  Value* y = b.op("Conv",
                  {b.constant("x", testing::random_floats(c.x, 1)),
                   b.constant("w", testing::random_floats(c.w, 2)),
                   b.constant("b", testing::random_floats({c.w[0]}, 3))},
                  a);
  y->producer->domain = domain;
  b.output(y);
  Graph g = b.build();
  return testing::run_at_isa(g, isa);
}

const std::vector<ConvCase>& cases() {
  static const std::vector<ConvCase> c = {
      {{1, 16, 12, 12}, {16, 16, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},     // ResNet's 3x3
      {{3, 8, 9, 11}, {12, 8, 3, 3}, {2, 2}, {1, 0, 1, 2}, {1, 1}},        // strided, odd pads
      {{2, 32, 7, 7}, {24, 32, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}},       // 1x1: read directly
      {{1, 32, 8, 8}, {64, 32, 1, 1}, {2, 2}, {0, 0, 0, 0}, {1, 1}},       // strided 1x1
      {{2, 24, 10, 10}, {24, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 24},  // depthwise
      {{1, 16, 11, 9}, {16, 1, 5, 3}, {2, 2}, {2, 1, 1, 2}, {1, 2}, 16},   // strided, dilated
      {{1, 12, 9, 9}, {6, 4, 3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, 3},      // grouped, dilated
      {{2, 5, 17}, {7, 5, 4}, {3}, {2, 1}, {1}},                           // 1-D
      {{1, 4, 5, 6, 7}, {3, 4, 2, 3, 2}, {1, 2, 1}, {0, 1, 1, 1, 0, 1}, {1, 1, 2}},  // 3-D
      // Depth 576 in three blocks, 20 channels (a partial panel), rows of 12
      // padded columns for 10 outputs.
      {{1, 64, 10, 10}, {20, 64, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},
      // Asymmetric pads and a dilation over padded rows; 130 channels: chunks
      // of 240 columns that end inside a padded row.
      {{2, 4, 20, 21}, {130, 4, 3, 3}, {1, 1}, {0, 2, 1, 0}, {2, 1}},
      {{2, 3, 19}, {5, 3, 3}, {1}, {1, 1}, {2}},                       // 1-D, stride 1
      {{1, 300, 9, 9}, {8, 300, 1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}},  // 1x1: chunks, 81 pixels
      {{1, 40, 9, 9}, {10, 40, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}},   // gathered, depth 360
      // Rows of 3 and 6 floats, padding runs of 3 and 5: every short copy.
      {{1, 4, 5, 3}, {5, 4, 3, 3}, {1, 1}, {3, 3, 3, 5}, {1, 1}},
      {{1, 6, 4, 6}, {6, 1, 3, 3}, {1, 1}, {2, 1, 0, 3}, {1, 1}, 6},  // depthwise, the same
      // Depthwise strided: MobileNetV2's stride 2 over rows of 33, and a
      // stride of (1, 3).
      {{1, 8, 20, 33}, {8, 1, 3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 8},
      {{1, 4, 7, 20}, {4, 1, 3, 3}, {1, 3}, {1, 0, 1, 2}, {1, 1}, 4},
      // Depthwise over 4x4 maps, two images of 24 channels: a channel a lane.
      {{2, 24, 4, 4}, {24, 1, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 24},
      // AVX2's 4 x 24 tiles (tile_shape_for: 16 padded rows by 120 columns
      // against 18 by 112): a partial panel (14 channels), and rows of 22
      // padded columns, 110 in all, a strip of 14 at the end.
      {{1, 8, 5, 20}, {14, 8, 3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},
  };
  return c;
}

void expect_close(const Tensor& want, const Tensor& got) {
  ASSERT_EQ(want.shape(), got.shape());
  for (int64_t i = 0; i < want.numel(); ++i)
    ASSERT_NEAR(want.data<float>()[i], got.data<float>()[i], 1e-4f) << "element " << i;
}

class ConvFp32Kernel : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam())) GTEST_SKIP() << isa_name(GetParam()) << " is not available";
  }
};

TEST_P(ConvFp32Kernel, ConvMatchesReference) {
  for (const ConvCase& c : cases())
    expect_close(run_conv(c, "", {}, Isa::kRef), run_conv(c, "", {}, GetParam()));
}

TEST_P(ConvFp32Kernel, FusedClampMatchesReferenceConvThenClip) {
  Attributes clamp;
  clamp.set("activation_min", 0.0f);
  clamp.set("activation_max", 0.75f);
  for (const ConvCase& c : cases()) {
    Tensor want = run_conv(c, "", {}, Isa::kRef);
    for (int64_t i = 0; i < want.numel(); ++i)
      want.data<float>()[i] = std::min(std::max(want.data<float>()[i], 0.0f), 0.75f);
    expect_close(want, run_conv(c, "ai.qdq", clamp, Isa::kRef));
    expect_close(want, run_conv(c, "ai.qdq", clamp, GetParam()));
  }
}

// ai.qdq.Conv with a residual (fuse_conv_residual's Add) and Relu's clamp:
// the reference's conv, plus the residual, then the clamp, on every case.
TEST_P(ConvFp32Kernel, FusedResidualMatchesReference) {
  for (const ConvCase& c : cases()) {
    SCOPED_TRACE("case " + std::to_string(&c - cases().data()));
    const Shape out = run_conv(c, "", {}, Isa::kRef).shape();
    GraphBuilder b(13);
    Attributes a;
    a.set("strides", c.strides);
    a.set("pads", c.pads);
    a.set("dilations", c.dilations);
    a.set("group", c.group);
    a.set("activation_min", 0.0f);
    a.set("activation_max", std::numeric_limits<float>::infinity());
    a.set("activation_relu", int64_t{1});
    Value* y = b.op("Conv",
                    {b.constant("x", testing::random_floats(c.x, 1)),
                     b.constant("w", testing::random_floats(c.w, 2)),
                     b.constant("b", testing::random_floats({c.w[0]}, 3)),
                     b.constant("r", testing::random_floats(out, 4))},
                    a);
    y->producer->domain = "ai.qdq";
    b.output(y);
    const Graph g = b.build();
    expect_close(testing::run_at_isa(g, Isa::kRef), testing::run_at_isa(g, GetParam()));
  }
}

// Weights that are not a constant (a graph input) are packed on every run:
// two runs with different weights give the reference's two results.
TEST_P(ConvFp32Kernel, WeightsThatAreNotConstantArePackedOnEveryRun) {
  const ConvCase& c = cases()[0];
  GraphBuilder b(13);
  Attributes a;
  a.set("pads", c.pads);
  Value* y = b.op(
      "Conv", {b.constant("x", testing::random_floats(c.x, 1)), b.input("w", DType::kFloat32, c.w)},
      a);
  b.output(y);
  Graph g = b.build();
  auto ref = ReferenceExecutor::create(g, ExecutorOptions{Isa::kRef, {}});
  auto opt = ReferenceExecutor::create(g, ExecutorOptions{GetParam(), {}});
  ASSERT_TRUE(ref.is_ok() && opt.is_ok());
  for (uint32_t seed : {5u, 6u}) {
    const std::map<std::string, Tensor> inputs = {{"w", testing::random_floats(c.w, seed)}};
    auto want = ref->run(inputs);
    auto got = opt->run(inputs);
    ASSERT_TRUE(want.is_ok() && got.is_ok());
    expect_close(want.value()[0], got.value()[0]);
  }
}

// The AVX-512 tiles (strips of 32 columns, two zmm) sum each output's
// products in the AVX2 tiles' order (strips of 16): the two levels' floats
// are the same, bit for bit, fused clamp included, though their strips and
// edges fall elsewhere.
TEST(ConvFp32Levels, Avx512GivesAvx2sFloats) {
  // The level has a conv of its own (equal floats alone would not tell).
  EXPECT_EQ(optimized_kernel_isa("Conv", Isa::kAvx512Vnni), Isa::kAvx512Vnni);
  EXPECT_EQ(optimized_kernel_isa("ai.qdq.Conv", Isa::kAmxInt8), Isa::kAvx512Vnni);
  if (!isa_supported(Isa::kAvx512Vnni)) GTEST_SKIP() << "avx512vnni is not available";
  Attributes clamp;
  clamp.set("activation_min", -0.5f);
  clamp.set("activation_max", 0.75f);
  for (const ConvCase& c : cases()) {
    SCOPED_TRACE("case " + std::to_string(&c - cases().data()));
    const Tensor want = run_conv(c, "ai.qdq", clamp, Isa::kAvx2);
    const Tensor got = run_conv(c, "ai.qdq", clamp, Isa::kAvx512Vnni);
    ASSERT_EQ(want.shape(), got.shape());
    for (int64_t i = 0; i < want.numel(); ++i)
      ASSERT_EQ(std::bit_cast<uint32_t>(want.data<float>()[i]),
                std::bit_cast<uint32_t>(got.data<float>()[i]))
          << "element " << i;
  }
}

// A layer takes the tile that computes the fewest padded outputs: AVX2's
// 4 x 24 where 6-row panels or 16-column strips waste more (ResNet-20's 16-
// and 32-channel layers, rows of 34 and 18 padded columns), its 6 x 16
// otherwise (its 64-channel layers' rows of 10), and the first on a tie.
TEST(ConvFp32Tiles, ShapeWithTheFewestPaddedOutputs) {
  const fp32conv::Tiles tiles{
      {{6, 16, nullptr, nullptr}, {4, 24, nullptr, nullptr}}, 2, 16, nullptr};
  const auto rows = [&](int64_t channels, int64_t columns) {
    return fp32conv::tile_shape_for(tiles, channels, columns).rows;
  };
  EXPECT_EQ(rows(16, 32 * 34), 4);
  EXPECT_EQ(rows(32, 16 * 18), 4);
  EXPECT_EQ(rows(64, 8 * 10), 6);
  EXPECT_EQ(rows(24, 49), 6);
  EXPECT_EQ(rows(14, 110), 4);
  EXPECT_EQ(rows(12, 144), 6);  // 12 x 144 both
}

INSTANTIATE_TEST_SUITE_P(Isas, ConvFp32Kernel, ::testing::Values(Isa::kAvx2, Isa::kAvx512Vnni),
                         [](const auto& param_info) {
                           return std::string(isa_name(param_info.param));
                         });

}  // namespace
}  // namespace qdq
