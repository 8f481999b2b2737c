#include "passes/fold_constants.h"

#include "passes/pass_test_util.h"

namespace qdq {
namespace {

using testing::op_counts;
using testing::random_floats;

// What pytorch-quantization exports for a per-channel weight quantizer:
// scale = Clip(amax, 1e-8) / 127, zero = Cast(0), w -> QuantizeLinear -> DequantizeLinear.
Graph qat_conv() {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 3, 5, 5});
  Value* amax = b.constant("amax", random_floats({4}, 3, 0.5f, 2.0f));
  Attributes clip_attrs;
  Value* lo = b.constant("lo", Tensor::scalar<float>(1e-8f));
  Value* clipped = b.op("Clip", {amax, lo, nullptr}, clip_attrs);
  Value* scale = b.op("Div", {clipped, b.constant("d", Tensor::scalar<float>(127.0f))});
  Attributes cast;
  cast.set("to", int64_t{3});  // INT8
  Value* zero =
      b.op("Cast", {b.constant("z", Tensor::from_vector<float>({4}, {0, 0, 0, 0}))}, cast);
  Attributes axis0;
  axis0.set("axis", int64_t{0});
  Value* w = b.constant("w", random_floats({4, 3, 3, 3}, 5));
  Value* wq = b.op("QuantizeLinear", {w, scale, zero}, axis0);
  Value* wdq = b.op("DequantizeLinear", {wq, scale, zero}, axis0);
  b.output(b.op("Conv", {x, wdq}));
  return b.build();
}

TEST(FoldConstants, TurnsExportedWeightQuantizersIntoInt8Initializers) {
  FoldConstants pass;
  auto r = testing::rewrite_and_compare(qat_conv, {&pass}, 0.0f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(counts["Clip"], 0);
  EXPECT_EQ(counts["Div"], 0);
  EXPECT_EQ(counts["Cast"], 0);
  EXPECT_EQ(counts["QuantizeLinear"], 0);
  ASSERT_EQ(counts["DequantizeLinear"], 1);  // kept: the quantized form is the point
  for (Node* n : r.graph.nodes())
    if (n->op_type == "DequantizeLinear") {
      ASSERT_TRUE(n->input(0)->is_constant());
      EXPECT_EQ(n->input(0)->constant->dtype(), DType::kInt8);
    }
  EXPECT_EQ(r.report.passes[0].changes, 4);
}

TEST(FoldConstants, FoldsShapeOfStaticValues) {
  auto make = [] {
    GraphBuilder b;
    Value* x = b.input("x", DType::kFloat32, {2, 3, 4});
    Value* shape = b.op("Shape", {x});
    b.output(b.op("Reshape", {b.op("Relu", {x}), shape}));
    return b.build();
  };
  FoldConstants pass;
  auto r = testing::rewrite_and_compare(make, {&pass}, 0.0f);
  EXPECT_EQ(op_counts(r.graph)["Shape"], 0);
}

TEST(FoldConstants, LeavesGraphOutputsAndNonConstantsAlone) {
  auto make = [] {
    GraphBuilder b;
    Value* x = b.input("x", DType::kFloat32, {2});
    b.output(b.op("Relu", {b.constant("c", Tensor::from_vector<float>({2}, {-1, 1}))}));
    b.output(b.op("Abs", {x}));
    return b.build();
  };
  FoldConstants pass;
  auto r = testing::rewrite_and_compare(make, {&pass}, 0.0f);
  EXPECT_EQ(r.graph.node_count(), 2u);
}

}  // namespace
}  // namespace qdq
