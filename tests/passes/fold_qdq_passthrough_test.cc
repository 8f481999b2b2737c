#include "passes/fold_qdq_passthrough.h"

#include "passes/eliminate_dead_code.h"
#include "passes/pass_test_util.h"

namespace qdq {
namespace {

using testing::op_counts;

// x -> Q -> DQ -> MaxPool (3x3, stride 2, pad 1) -> Q -> DQ, the second Q with
// `out_scale` (the same as the first's: foldable).
Graph pooled(float out_scale) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {2, 4, 7, 7});
  Value* s = b.constant("s", Tensor::scalar<float>(0.05f));
  Value* z = b.constant("z", Tensor::scalar<uint8_t>(120));
  Value* so = b.constant("so", Tensor::scalar<float>(out_scale));
  Attributes pool;
  pool.set("kernel_shape", std::vector<int64_t>{3, 3});
  pool.set("strides", std::vector<int64_t>{2, 2});
  pool.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value* p =
      b.op("MaxPool", {b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, s, z}), s, z})}, pool);
  b.output(b.op("DequantizeLinear", {b.op("QuantizeLinear", {p, so, z}), so, z}));
  return b.build();
}

TEST(FoldQdqPassthrough, PoolsTheQuantizedTensorWithIdenticalResults) {
  FoldQdqPassthrough pass;
  auto r = testing::rewrite_and_compare([] { return pooled(0.05f); }, {&pass}, 0.0f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(r.report.total_changes(), 1);
  EXPECT_EQ(counts["MaxPool"], 1);
  EXPECT_EQ(counts["QuantizeLinear"], 1);  // the input's
  for (Node* n : r.graph.nodes())
    if (n->op_type == "MaxPool") {
      EXPECT_EQ(n->input(0)->producer->op_type, "QuantizeLinear");  // pools the uint8 tensor
    }
}

TEST(FoldQdqPassthrough, OtherOutputParametersRequantizeAfterThe8BitOp) {
  FoldQdqPassthrough pass;
  auto r = testing::rewrite_and_compare([] { return pooled(0.1f); }, {&pass}, 0.0f);
  EXPECT_EQ(r.report.total_changes(), 1);
  for (Node* n : r.graph.nodes())
    if (n->op_type == "MaxPool") {
      EXPECT_EQ(n->input(0)->producer->op_type, "QuantizeLinear");  // pools the uint8 tensor
      EXPECT_EQ(n->output(0)->consumers.at(0)->op_type, "DequantizeLinear");
    }
}

// x -> Q -> DQ -> Slice -> Pad -> Add(the block's float y) and
// x -> Q -> DQ -> Clip(lo, 6) -> output: float readers after data movers.
Graph read_in_float(float clip_scale) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 4, 4, 4});
  Value* y = b.input("y", DType::kFloat32, {1, 4, 2, 2});
  Value* s = b.constant("s", Tensor::scalar<float>(0.05f));
  Value* z = b.constant("z", Tensor::scalar<uint8_t>(128));
  Value* cs = b.constant("cs", Tensor::scalar<float>(clip_scale));
  auto ints = [&](const char* name, std::vector<int64_t> v) {
    return b.constant(name, Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v));
  };
  Value* dq = b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, s, z}), s, z});
  Value* sliced = b.op("Slice", {dq, ints("starts", {0, 0}), ints("ends", {4, 4}),
                                 ints("axes", {2, 3}), ints("steps", {2, 2})});
  Value* padded =
      b.op("Pad", {b.op("Slice", {sliced, ints("s2", {0}), ints("e2", {2}), ints("a2", {1})}),
                   ints("pads", {0, 1, 0, 0, 0, 1, 0, 0})});
  b.output(b.op("Add", {y, padded}));
  Value* cdq = b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, cs, z}), cs, z});
  b.output(b.op("Clip", {cdq, b.constant("lo", Tensor::scalar(-0.5f)),
                         b.constant("hi", Tensor::scalar(6.0f))}));
  return b.build();
}

TEST(FoldQdqPassthrough, FloatReadersGetTheDequantizeAfterTheDataMovers) {
  FoldQdqPassthrough pass;
  // Scale 0.05: -0.5 and 6 are levels, the Clip moves too; 0.07: 6 is no
  // level, clamping the 8-bit tensor would differ, the Clip stays in float.
  for (float clip_scale : {0.05f, 0.07f}) {
    auto r = testing::rewrite_and_compare([clip_scale] { return read_in_float(clip_scale); },
                                          {&pass}, 0.0f);
    EXPECT_EQ(r.report.total_changes(), clip_scale == 0.05f ? 4 : 3);
    for (Node* n : r.graph.nodes()) {
      if (n->op_type == "Add") {
        EXPECT_EQ(n->input(1)->producer->op_type, "DequantizeLinear");
      } else if (n->op_type == "Slice" || n->op_type == "Pad") {  // on the uint8 tensor
        EXPECT_NE(n->input(0)->producer->op_type, "DequantizeLinear") << n->op_type;
      } else if (n->op_type == "Clip") {
        EXPECT_EQ(n->input(0)->producer->op_type,
                  clip_scale == 0.05f ? "QuantizeLinear" : "DequantizeLinear");
      }
    }
  }
}

// x -> Q -> DQ -> Flatten -> Q -> DQ -> Reshape([0, 2, -1]) -> Q -> DQ with
// one set of parameters: both shape ops move the uint8 values.
Graph flattened() {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {2, 4, 3, 3});
  Value* s = b.constant("s", Tensor::scalar<float>(0.02f));
  Value* z = b.constant("z", Tensor::scalar<uint8_t>(3));
  auto qdq = [&](Value* v) {
    return b.op("DequantizeLinear", {b.op("QuantizeLinear", {v, s, z}), s, z});
  };
  Value* flat = b.op("Flatten", {qdq(x)});
  Tensor shape(DType::kInt64, {3});
  shape.data<int64_t>()[0] = 0;
  shape.data<int64_t>()[1] = 2;
  shape.data<int64_t>()[2] = -1;
  Value* reshaped = b.op("Reshape", {qdq(flat), b.constant("shape", std::move(shape))});
  b.output(qdq(reshaped));
  return b.build();
}

TEST(FoldQdqPassthrough, ShapeOpsMoveTheQuantizedValues) {
  FoldQdqPassthrough pass;
  EliminateDeadCode cleanup;
  auto r = testing::rewrite_and_compare(flattened, {&pass, &cleanup}, 0.0f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(r.report.passes[0].changes, 2);
  EXPECT_EQ(counts["QuantizeLinear"], 1);
  EXPECT_EQ(counts["DequantizeLinear"], 1);  // the output's
  EXPECT_EQ(r.graph.outputs()[0]->producer->op_type, "DequantizeLinear");
  EXPECT_EQ(r.graph.outputs()[0]->producer->input(0)->producer->op_type, "Reshape");
}

TEST(FoldQdqPassthrough, OptionAShortcutSlicesAndPadsTheQuantizedTensor) {
  FoldQdqPassthrough pass;
  auto r = testing::rewrite_and_compare(
      [] { return testing::qdq_residual_block(testing::BlockStyle::kShortcutPooled); }, {&pass},
      0.0f);
  EXPECT_EQ(r.report.total_changes(), 2);
  for (Node* n : r.graph.nodes())
    if (n->op_type == "Slice" || n->op_type == "Pad") {
      EXPECT_EQ(n->input(0)->dtype, DType::kUInt8) << n->op_type;
      EXPECT_EQ(n->output(0)->dtype, DType::kUInt8) << n->op_type;
    }
}

// x -> Q -> DQ -> Pad(fill) -> Q -> DQ, one set of parameters.
Graph padded(Value* (*fill)(GraphBuilder&)) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 2, 3, 3});
  Value* s = b.constant("s", Tensor::scalar<float>(0.05f));
  Value* z = b.constant("z", Tensor::scalar<uint8_t>(120));
  Value* pads = b.constant("pads", Tensor::from_vector<int64_t>({8}, {0, 0, 1, 2, 0, 0, 2, 1}));
  std::vector<Value*> inputs = {b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, s, z}), s, z}),
                                pads};
  if (fill) inputs.push_back(fill(b));
  b.output(b.op("DequantizeLinear", {b.op("QuantizeLinear", {b.op("Pad", inputs), s, z}), s, z}));
  return b.build();
}

TEST(FoldQdqPassthrough, PadFillsWithTheQuantizedFillValue) {
  FoldQdqPassthrough pass;
  // 0.33 is no multiple of the scale: the 8-bit Pad fills Q(0.33) = 127, what
  // Q makes of the float Pad's fill.
  auto r = testing::rewrite_and_compare(
      [] { return padded([](GraphBuilder& b) { return b.constant("c", Tensor::scalar(0.33f)); }); },
      {&pass}, 0.0f);
  EXPECT_EQ(r.report.total_changes(), 1);
  for (Node* n : r.graph.nodes())
    if (n->op_type == "Pad") {
      ASSERT_TRUE(n->input(2) && n->input(2)->constant);
      EXPECT_EQ(n->input(2)->constant->dtype(), DType::kUInt8);
      EXPECT_EQ(n->input(2)->constant->data<uint8_t>()[0], 127);
    }
  // No fill value: zeros, the zero point.
  auto zeros = testing::rewrite_and_compare([] { return padded(nullptr); }, {&pass}, 0.0f);
  EXPECT_EQ(zeros.report.total_changes(), 1);
}

TEST(FoldQdqPassthrough, PadWithAComputedFillStaysInFloat) {
  FoldQdqPassthrough pass;
  Graph g = padded([](GraphBuilder& b) { return b.input("fill", DType::kFloat32, {}); });
  PassContext context;
  EXPECT_EQ(pass.run(g, context), 0);
}

// x -> Q -> DQ -> op -> Q -> DQ, one set of parameters (zero point `zero`).
Graph activated(const char* op, uint8_t zero) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {2, 4, 3, 3});
  Value* s = b.constant("s", Tensor::scalar<float>(0.02f));
  Value* z = b.constant("z", Tensor::scalar<uint8_t>(zero));
  std::vector<Value*> inputs = {
      b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, s, z}), s, z})};
  if (std::string(op) == "Clip")
    inputs.insert(inputs.end(), {b.constant("lo", Tensor::scalar(-0.5f)),
                                 b.constant("hi", Tensor::scalar(1.234f))});
  b.output(b.op("DequantizeLinear", {b.op("QuantizeLinear", {b.op(op, inputs), s, z}), s, z}));
  return b.build();
}

TEST(FoldQdqPassthrough, ActivationsClampTheQuantizedTensor) {
  FoldQdqPassthrough pass;
  for (const char* op : {"Relu", "Clip"}) {
    auto r = testing::rewrite_and_compare([op] { return activated(op, 100); }, {&pass}, 0.0f);
    EXPECT_EQ(r.report.total_changes(), 1) << op;
    auto counts = op_counts(r.graph);
    EXPECT_EQ(counts["Clip"], 1) << op;
    EXPECT_EQ(counts["Relu"], 0) << op;
    for (Node* n : r.graph.nodes())
      if (n->op_type == "Clip") {
        // Relu: [Q(0), 255] = [100, 255]; Clip: [Q(-0.5), Q(1.234)] = [75, 162].
        const bool relu = std::string(op) == "Relu";
        EXPECT_EQ(n->input(1)->constant->data<uint8_t>()[0], relu ? 100 : 75);
        EXPECT_EQ(n->input(2)->constant->data<uint8_t>()[0], relu ? 255 : 162);
      }
  }
}

TEST(FoldQdqPassthrough, ReluThatTheRangeImpliesDisappears) {
  FoldQdqPassthrough pass;
  // Zero point 0 on uint8: every value is >= 0 already.
  auto r = testing::rewrite_and_compare([] { return activated("Relu", 0); }, {&pass}, 0.0f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(counts["Relu"] + counts["Clip"], 0);
  EXPECT_EQ(counts["QuantizeLinear"], 1);
}

TEST(FoldQdqPassthrough, OpsThatComputeStayInFloat) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {2, 4});
  Value* s = b.constant("s", Tensor::scalar<float>(0.02f));
  Value* z = b.constant("z", Tensor::scalar<uint8_t>(3));
  Value* r = b.op("Sigmoid", {b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, s, z}), s, z})});
  b.output(b.op("DequantizeLinear", {b.op("QuantizeLinear", {r, s, z}), s, z}));
  Graph g = b.build();
  FoldQdqPassthrough pass;
  PassContext context;
  EXPECT_EQ(pass.run(g, context), 0);
}

}  // namespace
}  // namespace qdq
