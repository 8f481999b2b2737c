#include "passes/fold_qdq_lookup.h"

#include "passes/pass_test_util.h"

namespace qdq {
namespace {

using testing::op_counts;

// ONNX Runtime's s8s8 ReLU6: DQ -> Clip(0, 6) -> Q, the output with its own
// scale; a second chain of two ops (LeakyRelu -> Sigmoid) on uint8.
Graph float_islands() {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 4, 5, 5});
  Value* s1 = b.constant("s1", Tensor::scalar<float>(0.031f));
  Value* s2 = b.constant("s2", Tensor::scalar<float>(6.0f / 127.0f));
  Value* z8 = b.constant("z8", Tensor::scalar<int8_t>(0));
  Value* q = b.op("QuantizeLinear", {x, s1, z8});
  Value* relu6 = b.op(
      "Clip", {b.op("DequantizeLinear", {q, s1, z8}), b.constant("lo", Tensor::scalar<float>(0.0f)),
               b.constant("hi", Tensor::scalar<float>(6.0f))});
  Value* y = b.op("QuantizeLinear", {relu6, s2, z8});
  b.output(b.op("DequantizeLinear", {y, s2, z8}));
  Value* su = b.constant("su", Tensor::scalar<float>(0.02f));
  Value* zu = b.constant("zu", Tensor::scalar<uint8_t>(100));
  Value* zo = b.constant("zo", Tensor::scalar<uint8_t>(0));
  Value* so = b.constant("so", Tensor::scalar<float>(1.0f / 255.0f));
  Value* u = b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, su, zu}), su, zu});
  Attributes alpha;
  alpha.set("alpha", 0.1f);
  Value* chain = b.op("Sigmoid", {b.op("LeakyRelu", {u}, alpha)});
  b.output(b.op("DequantizeLinear", {b.op("QuantizeLinear", {chain, so, zo}), so, zo}));
  return b.build();
}

TEST(FoldQdqLookup, FloatIslandsBecomeTablesWithIdenticalResults) {
  FoldQdqLookup pass;
  // Tolerance 0: each table entry is the chain's own result for that input.
  auto r = testing::rewrite_and_compare(float_islands, {&pass}, 0.0f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(counts["LookupTable"], 2);
  EXPECT_EQ(counts["Clip"], 0);
  EXPECT_EQ(counts["Sigmoid"], 0);
  EXPECT_EQ(counts["LeakyRelu"], 0);
  EXPECT_EQ(counts["QuantizeLinear"], 2);  // the inputs' quantizers stay
}

// DQ -> Q with other parameters (int8 to uint8, another scale): a
// requantization, also a table.
Graph requantized(float out_scale) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 4, 5, 5});
  Value* s = b.constant("s", Tensor::scalar<float>(0.031f));
  Value* z = b.constant("z", Tensor::scalar<int8_t>(3));
  Value* so = b.constant("so", Tensor::scalar<float>(out_scale));
  Value* zo = b.constant("zo", Tensor::scalar<uint8_t>(128));
  Value* dq = b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, s, z}), s, z});
  b.output(b.op("DequantizeLinear", {b.op("QuantizeLinear", {dq, so, zo}), so, zo}));
  return b.build();
}

TEST(FoldQdqLookup, RequantizationBecomesATable) {
  FoldQdqLookup pass;
  auto r = testing::rewrite_and_compare([] { return requantized(0.05f); }, {&pass}, 0.0f);
  EXPECT_EQ(op_counts(r.graph)["LookupTable"], 1);
  EXPECT_EQ(op_counts(r.graph)["QuantizeLinear"], 1);  // the input's
}

TEST(FoldQdqLookup, NeedsAnEvaluator) {
  Graph g = float_islands();
  FoldQdqLookup pass;
  PassContext no_evaluator;
  EXPECT_EQ(pass.run(g, no_evaluator), 0);
}

}  // namespace
}  // namespace qdq
