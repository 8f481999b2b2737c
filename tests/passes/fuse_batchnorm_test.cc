#include "passes/fuse_batchnorm.h"

#include "passes/pass_test_util.h"

namespace qdq {
namespace {

using testing::op_counts;
using testing::random_floats;

// BN parameters with a negative, a zero and a tiny gamma among them (the last
// would make a quantized weight's scale denormal: a zero one, folded).
void add_bn(GraphBuilder& b, Value*& v, int64_t channels) {
  Tensor gamma = random_floats({channels}, 21, 0.5f, 1.5f);
  gamma.data<float>()[1] = -0.75f;
  if (channels > 2) gamma.data<float>()[2] = 0.0f;
  if (channels > 3) gamma.data<float>()[3] = 1e-38f;
  v = b.op("BatchNormalization",
           {v, b.constant("gamma", gamma), b.constant("beta", random_floats({channels}, 22)),
            b.constant("mean", random_floats({channels}, 23)),
            b.constant("var", random_floats({channels}, 24, 0.1f, 2.0f))});
}

Graph float_conv_bn() {
  GraphBuilder b(13);
  Value* v = b.input("x", DType::kFloat32, {2, 3, 6, 6});
  Attributes pads;
  pads.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  v = b.op(
      "Conv",
      {v, b.constant("w", random_floats({4, 3, 3, 3}, 5)), b.constant("b", random_floats({4}, 6))},
      pads);
  add_bn(b, v, 4);
  b.output(b.op("Relu", {v}));
  return b.build();
}

// TensorRT-style QAT after fold_constants: Q/DQ on the input, DQ(int8) weights,
// BatchNormalization left after the conv, then a quantizer on the output.
Graph qdq_conv_bn(bool per_tensor_weights) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 3, 6, 6});
  Value* s = b.constant("s", Tensor::scalar<float>(0.02f));
  Value* z = b.constant("z", Tensor::scalar<int8_t>(0));
  Value* v = b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, s, z}), s, z});
  std::vector<int8_t> q(4 * 27);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>((i * 37) % 255 - 127);
  Attributes axis0;
  axis0.set("axis", int64_t{0});
  Value* wscale =
      per_tensor_weights
          ? b.constant("ws", Tensor::scalar<float>(0.01f))
          : b.constant("ws", Tensor::from_vector<float>({4}, {0.01f, 0.02f, 0.005f, 0.03f}));
  Value* wzero = per_tensor_weights
                     ? b.constant("wz", Tensor::scalar<int8_t>(0))
                     : b.constant("wz", Tensor::from_vector<int8_t>({4}, {0, 0, 0, 0}));
  Value* w = b.op("DequantizeLinear",
                  {b.constant("wq", Tensor::from_vector<int8_t>({4, 3, 3, 3}, q)), wscale, wzero},
                  per_tensor_weights ? Attributes{} : axis0);
  v = b.op("Conv", {v, w});
  add_bn(b, v, 4);
  Value* ys = b.constant("ys", Tensor::scalar<float>(0.05f));
  b.output(b.op("DequantizeLinear", {b.op("QuantizeLinear", {v, ys, z}), ys, z}));
  return b.build();
}

TEST(FuseBatchNorm, FoldsIntoFloatConvWeightsAndBias) {
  FuseBatchNorm pass;
  auto r = testing::rewrite_and_compare(float_conv_bn, {&pass}, 1e-4f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(counts["BatchNormalization"], 0);
  EXPECT_EQ(counts["Conv"], 1);
  EXPECT_EQ(r.report.passes[0].changes, 1);
}

TEST(FuseBatchNorm, FoldsIntoQuantizedWeightScalesKeepingInt8Weights) {
  FuseBatchNorm pass;
  // Outputs are quantized with step 0.05; folding moves float rounding only, so
  // at most one step apart.
  auto r = testing::rewrite_and_compare([] { return qdq_conv_bn(false); }, {&pass}, 0.05f + 1e-6f);
  EXPECT_EQ(op_counts(r.graph)["BatchNormalization"], 0);
  bool found = false;
  for (Node* n : r.graph.nodes()) {
    if (n->op_type != "Conv") continue;
    Node* dq = n->input(1)->producer;
    ASSERT_NE(dq, nullptr);
    ASSERT_EQ(dq->op_type, "DequantizeLinear");
    const Tensor& q = *dq->input(0)->constant;
    const Tensor& scale = *dq->input(1)->constant;
    ASSERT_EQ(q.dtype(), DType::kInt8);
    ASSERT_EQ(scale.numel(), 4);
    // Channel 1 had a negative gamma: weights negated, scale positive.
    EXPECT_EQ(q.data<int8_t>()[27], static_cast<int8_t>(-((27 * 37) % 255 - 127)));
    for (int c = 0; c < 4; ++c) EXPECT_GT(scale.data<float>()[c], 0.0f);
    found = true;
  }
  EXPECT_TRUE(found);
}

TEST(FuseBatchNorm, PerTensorWeightScaleBecomesPerChannelWithAWarning) {
  FuseBatchNorm pass;
  auto r = testing::rewrite_and_compare([] { return qdq_conv_bn(true); }, {&pass}, 0.05f + 1e-6f);
  EXPECT_EQ(op_counts(r.graph)["BatchNormalization"], 0);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("per-channel"), std::string::npos);
}

TEST(FuseBatchNorm, StandaloneBatchNormBecomesAnAffine) {
  auto make = [] {
    GraphBuilder b(13);
    Value* v = b.input("x", DType::kFloat32, {2, 4, 3, 3});
    v = b.op("Relu", {v});
    v->shape = to_symbolic({2, 4, 3, 3});  // as ONNX shape inference leaves it
    add_bn(b, v, 4);
    b.output(v);
    return b.build();
  };
  FuseBatchNorm pass;
  auto r = testing::rewrite_and_compare(make, {&pass}, 1e-5f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(counts["BatchNormalization"], 0);
  EXPECT_EQ(counts["Mul"], 1);
  EXPECT_EQ(counts["Add"], 1);
}

TEST(FuseBatchNorm, LeavesAConvWithOtherReadersAlone) {
  auto make = [] {
    GraphBuilder b(13);
    Value* x = b.input("x", DType::kFloat32, {1, 3, 4, 4});
    Value* c = b.op("Conv", {x, b.constant("w", random_floats({4, 3, 1, 1}, 5))});
    c->shape = to_symbolic({1, 4, 4, 4});
    Value* v = c;
    add_bn(b, v, 4);
    b.output(v);
    b.output(c);  // the conv's raw output is needed too
    return b.build();
  };
  FuseBatchNorm pass;
  auto r = testing::rewrite_and_compare(make, {&pass}, 1e-5f);
  EXPECT_EQ(op_counts(r.graph)["Conv"], 1);
  EXPECT_EQ(op_counts(r.graph)["Mul"], 1);  // BN still goes, as an affine
}

}  // namespace
}  // namespace qdq
