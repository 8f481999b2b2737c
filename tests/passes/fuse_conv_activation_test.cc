#include "passes/fuse_conv_activation.h"

#include "passes/pass_test_util.h"

namespace qdq {
namespace {

using testing::op_counts;
using testing::random_floats;

// x -> Conv -> `activation` (Relu, Clip(lo, hi) or Sigmoid) -> y; with
// `second_reader` the conv's output is a graph output as well.
Graph conv_then(const std::string& activation, bool second_reader = false) {
  GraphBuilder b(13);
  Value* c = testing::float_conv3x3(b, b.input("x", DType::kFloat32, {1, 3, 5, 5}));
  Value* y = nullptr;
  if (activation == "Clip")
    y = b.op("Clip", {c, b.constant("lo", Tensor::scalar<float>(-0.5f)),
                      b.constant("hi", Tensor::scalar<float>(0.5f))});
  else
    y = b.op(activation, {c});
  b.output(y);
  if (second_reader) b.output(c);
  return b.build();
}

TEST(FuseConvActivation, ReluBecomesTheConvsClamp) {
  FuseConvActivation pass;
  auto r = testing::rewrite_and_compare([] { return conv_then("Relu"); }, {&pass}, 0.0f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(counts["Relu"], 0);
  ASSERT_EQ(counts["Conv"], 1);
  const Node* conv = r.graph.outputs()[0]->producer;
  EXPECT_EQ(conv->domain, "ai.qdq");
  EXPECT_EQ(conv->attributes.get_float("activation_min", -1.0f), 0.0f);
  EXPECT_EQ(conv->attributes.get_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
}

TEST(FuseConvActivation, ClipKeepsBothBounds) {
  FuseConvActivation pass;
  auto r = testing::rewrite_and_compare([] { return conv_then("Clip"); }, {&pass}, 0.0f);
  const Node* conv = r.graph.outputs()[0]->producer;
  EXPECT_EQ(conv->op_type, "Conv");
  EXPECT_EQ(conv->attributes.get_float("activation_min", 0.0f), -0.5f);
  EXPECT_EQ(conv->attributes.get_float("activation_max", 0.0f), 0.5f);
}

TEST(FuseConvActivation, OtherActivationsAndSharedOutputsStay) {
  FuseConvActivation pass;
  auto sigmoid = testing::rewrite_and_compare([] { return conv_then("Sigmoid"); }, {&pass}, 0.0f);
  EXPECT_EQ(sigmoid.report.total_changes(), 0);
  auto shared = testing::rewrite_and_compare([] { return conv_then("Relu", true); }, {&pass}, 0.0f);
  EXPECT_EQ(shared.report.total_changes(), 0);
}

}  // namespace
}  // namespace qdq
