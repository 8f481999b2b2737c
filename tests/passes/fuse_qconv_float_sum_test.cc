#include "passes/fuse_qconv_float_sum.h"

#include "passes/eliminate_dead_code.h"
#include "passes/fuse_qconv_epilogue.h"
#include "passes/layout_nhwc.h"
#include "passes/pass_test_util.h"

namespace qdq {
namespace {

using testing::BlockStyle;
using testing::op_counts;

// The TensorRT-style QAT block (conv2's float output meets the identity's DQ
// in a float Add, then ReLU, then Q) as the engine's passes leave it before
// this one: float-output QConvs, channels-last.
Graph engine_block() {
  Graph g = testing::lowered_residual_block(BlockStyle::kFloatSum);
  LayoutNhwc layout;
  FuseQConvEpilogue epilogue;
  EliminateDeadCode dead_code;
  PassContext context;
  run_passes(g, {&layout, &epilogue, &dead_code}, context);
  return g;
}

TEST(FuseQConvFloatSum, BlockEndBecomesOneConvWithIdenticalResults) {
  FuseQConvFloatSum pass;
  EliminateDeadCode dead_code;
  // Tolerance 0: the fused conv does the float steps of the ops it replaces.
  auto r = testing::rewrite_and_compare(engine_block, {&pass, &dead_code}, 0.0f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(r.report.passes[0].changes, 1);
  EXPECT_EQ(counts["QConv"], 2);
  EXPECT_EQ(counts["Add"], 0);
  EXPECT_EQ(counts["Relu"], 0);
  for (Node* n : r.graph.nodes())
    if (n->op_type == "QConv" && n->inputs().size() > 9) {
      EXPECT_EQ(n->input(8)->dtype, DType::kFloat32);  // the float bias marks the float sum
      EXPECT_EQ(n->attributes.get_float("activation_min", -1.0f), 0.0f);
      EXPECT_EQ(n->input(9)->producer->op_type, "Transpose");  // the block input, channels-last
    }
}

// A float-output 1x1 QConv on a channels-last [1, 4, 4, 8] input whose output
// meets a second input r in an Add, then a Q (or, with `float_end`, a Relu
// whose output is the model's): r comes through Q/DQ with `dequantized_r`,
// else it is a float tensor (the QAT export without a residual quantizer).
Graph conv_plus(bool dequantized_r, bool float_end = false) {
  GraphBuilder b(13);
  const Shape shape = {1, 4, 4, 8};
  Value* x = b.input("x", DType::kFloat32, shape);
  Value* r = b.input("r", DType::kFloat32, shape);
  Value* s = b.constant("s", Tensor::scalar<float>(0.05f));
  Value* z = b.constant("z", Tensor::scalar<int8_t>(0));
  Tensor w(DType::kInt8, {8, 8, 1, 1});
  for (int64_t i = 0; i < w.numel(); ++i)
    w.data<int8_t>()[i] = static_cast<int8_t>(i * 37 % 255 - 127);
  Value* conv =
      b.op("QConv", {b.op("QuantizeLinear", {x, s, z}), s, z, b.constant("w", std::move(w)),
                     b.constant("ws", Tensor::scalar<float>(0.01f)),
                     b.constant("wz", Tensor::scalar<int8_t>(0)), nullptr, nullptr,
                     b.constant("b", testing::random_floats({8}, 3))});
  conv->producer->domain = "ai.qdq";
  Value* other =
      dequantized_r ? b.op("DequantizeLinear", {b.op("QuantizeLinear", {r, s, z}), s, z}) : r;
  Value* sum = b.op("Add", {conv, other});
  b.output(float_end ? b.op("Relu", {sum})
                     : b.op("DequantizeLinear", {b.op("QuantizeLinear", {sum, s, z}), s, z}));
  Graph g = b.build();
  testing::set_elementwise_values(g, shape, DType::kInt8);
  return g;
}

// The fused conv's residual input (9), after checking there is one conv.
const Value* residual_of(const Graph& g) {
  const Node* conv = nullptr;
  for (const Node* n : g.nodes())
    if (n->op_type == "QConv") conv = n;
  EXPECT_TRUE(conv && conv->inputs().size() > 9);
  return conv && conv->inputs().size() > 9 ? conv->input(9) : nullptr;
}

TEST(FuseQConvFloatSum, AddOfADequantizedTensorFusesWithoutAnActivation) {
  FuseQConvFloatSum pass;
  auto r = testing::rewrite_and_compare([] { return conv_plus(true); }, {&pass}, 0.0f);
  EXPECT_EQ(r.report.total_changes(), 1);
  EXPECT_EQ(op_counts(r.graph)["Add"], 0);
  EXPECT_EQ(residual_of(r.graph)->dtype, DType::kInt8);  // read as the 8-bit tensor
}

// A float r (the block input a QAT export adds as it is; a downsampling
// block's shortcut conv) is added in float: exact, no quantizer invented.
TEST(FuseQConvFloatSum, AddOfAFloatTensorFuses) {
  FuseQConvFloatSum pass;
  auto r = testing::rewrite_and_compare([] { return conv_plus(false); }, {&pass}, 0.0f);
  EXPECT_EQ(r.report.total_changes(), 1);
  EXPECT_EQ(op_counts(r.graph)["Add"], 0);
  EXPECT_EQ(residual_of(r.graph)->name, "r");
}

// No QuantizeLinear after the Relu (the last block's sum, read by a
// pooling): the conv writes the float sum, Relu's steps included.
TEST(FuseQConvFloatSum, SumReadInFloatStaysFloat) {
  FuseQConvFloatSum pass;
  for (const bool dequantized_r : {true, false}) {
    auto r =
        testing::rewrite_and_compare([&] { return conv_plus(dequantized_r, true); }, {&pass}, 0.0f);
    auto counts = op_counts(r.graph);
    EXPECT_EQ(r.report.total_changes(), 1);
    EXPECT_EQ(counts["Add"] + counts["Relu"], 0);
    for (const Node* n : r.graph.nodes())
      if (n->op_type == "QConv") {
        EXPECT_EQ(n->output(0)->dtype, DType::kFloat32);
        EXPECT_EQ(n->attributes.get_int("activation_relu", 0), 1);
      }
  }
}

}  // namespace
}  // namespace qdq
