// The explainer on graphs the engine's pipeline has run over: each rule's
// words appear where that rule fails, and nowhere when the group folds.
#include "passes/fusion_explainer.h"

#include <gtest/gtest.h>

#include "pass_test_util.h"

namespace qdq::testing {
namespace {

Graph engine_graph(Graph g, const std::string& skipped = "") {
  PassContext context;
  context.evaluate = evaluate_node;
  context.form = PipelineForm::kEngine;
  run_passes(g, select_passes("", PipelineForm::kEngine, skipped), context);
  return g;
}

// The reason given for the node of `op_type`, or "" when none is listed.
std::string reason_for(const FusionExplanation& e, const std::string& op_type) {
  for (const auto& note : e.notes)
    if (note.node->op_type == op_type) return note.reason;
  return "";
}

TEST(FusionExplainer, ResidualAddOfFloatInputFusesWithOrWithoutTheResidualPass) {
  // kFloatIdentity: the add reads the block input x itself, which conv1 reads
  // through Q/DQ. The engine adds it in float in conv2's epilogue; after
  // qdq-opt's insert_residual_qdq, the quantized x.
  for (const bool inserted : {false, true}) {
    Graph g = qdq_residual_block(BlockStyle::kFloatIdentity);
    PassContext context;
    context.evaluate = evaluate_node;
    if (inserted) run_passes(g, select_passes("insert_residual_qdq", PipelineForm::kQdq), context);
    const Graph engine = engine_graph(std::move(g));  // the notes point into it
    const FusionExplanation e = explain_fusion(engine, per_image_shape);
    EXPECT_EQ(reason_for(e, "Add"), "");
    EXPECT_EQ(reason_for(e, "Relu"), "");
    // Both convolutions run in integers: 2 x (8 x 6 x 6 outputs) x (8 x 3 x 3).
    EXPECT_EQ(e.multiply_adds, 2 * 288 * 72);
    EXPECT_EQ(e.integer_multiply_adds, e.multiply_adds);
  }
}

// DQ(Q(x)) + y -> Q: an add of a quantized and a float tensor, no conv to
// take it.
TEST(FusionExplainer, AddOfAFloatModelInput) {
  GraphBuilder b(13);
  const Shape shape = {1, 4, 4, 4};
  Value* x = b.input("x", DType::kFloat32, shape);
  Value* y = b.input("y", DType::kFloat32, shape);
  Value* s = b.constant("s", Tensor::scalar<float>(0.1f));
  Value* z = b.constant("z", Tensor::scalar<uint8_t>(0));
  Value* sum =
      b.op("Add", {b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, s, z}), s, z}), y});
  b.output(b.op("DequantizeLinear", {b.op("QuantizeLinear", {sum, s, z}), s, z}));
  Graph g = b.build();
  set_elementwise_values(g, shape, DType::kUInt8);
  const Graph engine = engine_graph(std::move(g));
  const std::string reason = reason_for(explain_fusion(engine, per_image_shape), "Add");
  EXPECT_NE(reason.find("input 1 'y' is the model's float input"), std::string::npos) << reason;
}

TEST(FusionExplainer, QuantizedBlockLeavesOnlyItsEdges) {
  const Graph g = engine_graph(qdq_residual_block(BlockStyle::kQuantizedSum));
  const FusionExplanation e = explain_fusion(g, per_image_shape);
  for (const auto& note : e.notes)
    EXPECT_TRUE(note.node->op_type == "QuantizeLinear" ||
                note.node->op_type == "DequantizeLinear" || note.node->op_type == "Transpose")
        << note.node->describe() << ": " << note.reason;
  EXPECT_EQ(reason_for(e, "QuantizeLinear"), "quantizes the model's float input");
  EXPECT_EQ(reason_for(e, "DequantizeLinear"), "dequantizes a model output");
}

// DQ(x) -> op -> Q(y) on a [1, 4, 4, 4] tensor, parameters per side.
Graph island(const std::string& op_type, float x_scale, float y_scale, Attributes attrs = {}) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 4, 4, 4});
  Value* xs = b.constant("xs", Tensor::scalar<float>(x_scale));
  Value* ys = b.constant("ys", Tensor::scalar<float>(y_scale));
  Value* z = b.constant("z", Tensor::scalar<uint8_t>(0));
  Value* dq = b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, xs, z}), xs, z});
  Value* y = b.op(op_type, {dq}, std::move(attrs));
  b.output(b.op("DequantizeLinear", {b.op("QuantizeLinear", {y, ys, z}), ys, z}));
  Graph g = b.build();
  set_elementwise_values(g, Shape{1, 4, 4, 4}, DType::kUInt8);
  return g;
}

TEST(FusionExplainer, OpWithoutIntegerKernel) {
  Attributes axis;
  axis.set("axis", int64_t{1});
  const Graph g = engine_graph(island("Softmax", 0.1f, 0.01f, axis));
  EXPECT_EQ(reason_for(explain_fusion(g, per_image_shape), "Softmax"),
            "no INT8 kernel for Softmax: it runs in float between its Q/DQ");
}

TEST(FusionExplainer, MaxPoolOnEightBitValuesNeedsNoNote) {
  // Equal parameters or not, the MaxPool runs on the 8-bit tensor (the DQ
  // sinks below it when they differ).
  Attributes pool;
  pool.set("kernel_shape", std::vector<int64_t>{1, 1});
  for (float y_scale : {0.1f, 0.05f}) {
    const Graph g = engine_graph(island("MaxPool", 0.1f, y_scale, pool));
    EXPECT_EQ(reason_for(explain_fusion(g, per_image_shape), "MaxPool"), "") << y_scale;
  }
}

TEST(FusionExplainer, FloatWeightsAndMultiplyAdds) {
  // A quantized input but float weights: the conv stays an FP32 layer.
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 3, 8, 8});
  Value* s = b.constant("s", Tensor::scalar<float>(0.1f));
  Value* z = b.constant("z", Tensor::scalar<uint8_t>(0));
  Value* dq = b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, s, z}), s, z});
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{3, 3});
  Value* y = b.op("Conv", {dq, b.constant("w", random_floats({5, 3, 3, 3}, 3))}, a);
  b.output(b.op("DequantizeLinear", {b.op("QuantizeLinear", {y, s, z}), s, z}));
  Graph g = b.build();
  for (Node* n : g.nodes())
    n->output(0)->dtype = n->op_type == "QuantizeLinear" ? DType::kUInt8 : DType::kFloat32;
  g.find_value(y->name)->shape = to_symbolic({1, 5, 6, 6});
  const Graph engine = engine_graph(std::move(g));
  const FusionExplanation e = explain_fusion(engine, per_image_shape);
  std::string conv_reason;
  for (const auto& note : e.notes)
    if (note.node->op_type == "Conv") conv_reason = note.reason;
  EXPECT_TRUE(conv_reason.find("float weights") != std::string::npos ||
              conv_reason.find("float constant") != std::string::npos)
      << conv_reason;
  EXPECT_EQ(e.multiply_adds, 5 * 6 * 6 * 27);
  EXPECT_EQ(e.integer_multiply_adds, 0);
}

TEST(FusionExplainer, ShapesUnknownCountNoMultiplyAdds) {
  const Graph g = engine_graph(qdq_residual_block(BlockStyle::kQuantizedSum));
  const FusionExplanation e =
      explain_fusion(g, [](const Value&) -> std::optional<Shape> { return std::nullopt; });
  EXPECT_EQ(e.multiply_adds, 0);
  EXPECT_GT(e.layers, 0u);
}

}  // namespace
}  // namespace qdq::testing
