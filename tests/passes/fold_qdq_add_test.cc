#include "passes/fold_qdq_add.h"

#include "passes/pass_test_util.h"

namespace qdq {
namespace {

using testing::op_counts;

// The residual add of ONNX Runtime's PTQ graphs: Q(DQ(a) + DQ(b)), b broadcast.
Graph residual_add(DType type) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {2, 3, 4, 4});
  Value* y = b.input("y", DType::kFloat32, {3, 1, 1});
  auto zero = [&](const std::string& n, int v) {
    return type == DType::kInt8 ? b.constant(n, Tensor::scalar<int8_t>(static_cast<int8_t>(v)))
                                : b.constant(n, Tensor::scalar<uint8_t>(static_cast<uint8_t>(v)));
  };
  Value* s1 = b.constant("s1", Tensor::scalar<float>(0.013f));
  Value* s2 = b.constant("s2", Tensor::scalar<float>(0.021f));
  Value* s3 = b.constant("s3", Tensor::scalar<float>(0.017f));
  Value* z1 = zero("z1", type == DType::kInt8 ? -3 : 120);
  Value* z2 = zero("z2", type == DType::kInt8 ? 5 : 128);
  Value* z3 = zero("z3", type == DType::kInt8 ? 0 : 90);
  Value* a = b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, s1, z1}), s1, z1});
  Value* c = b.op("DequantizeLinear", {b.op("QuantizeLinear", {y, s2, z2}), s2, z2});
  b.output(
      b.op("DequantizeLinear", {b.op("QuantizeLinear", {b.op("Add", {a, c}), s3, z3}), s3, z3}));
  return b.build();
}

TEST(FoldQdqAdd, BecomesQLinearAddWithIdenticalResults) {
  for (DType t : {DType::kUInt8, DType::kInt8}) {
    FoldQdqAdd pass;
    // Tolerance 0: QLinearAdd computes the Q/DQ group's own float steps.
    auto r = testing::rewrite_and_compare([t] { return residual_add(t); }, {&pass}, 0.0f);
    auto counts = op_counts(r.graph);
    EXPECT_EQ(counts["QLinearAdd"], 1);
    EXPECT_EQ(counts["Add"], 0);
    EXPECT_EQ(counts["QuantizeLinear"], 2);  // the inputs' quantizers stay
  }
}

}  // namespace
}  // namespace qdq
