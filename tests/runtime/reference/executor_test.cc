#include "runtime/reference/executor.h"

#include <gtest/gtest.h>

#include "graph/builder.h"
#include "runtime/reference/run_node.h"

namespace qdq {
namespace {

Graph relu_chain(int length) {
  GraphBuilder b;
  Value* v = b.input("x", DType::kFloat32, {1, 1000});
  for (int i = 0; i < length; ++i) v = b.op(i % 2 ? "Abs" : "Relu", {v});
  b.output(v);
  return b.build();
}

TEST(ReferenceExecutor, ReleasesIntermediatesAfterTheirLastUse) {
  Graph g = relu_chain(20);
  auto ex = ReferenceExecutor::create(g);
  ASSERT_TRUE(ex.is_ok());
  auto out = ex->run({{"x", Tensor(DType::kFloat32, {1, 1000})}});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  // Two tensors of 4000 bytes live at once at most, not twenty.
  EXPECT_LE(ex->peak_activation_bytes(), 8000u);
}

TEST(ReferenceExecutor, UnsupportedOpIsNamedBeforeAnythingRuns) {
  GraphBuilder b;
  Value* x = b.input("x", DType::kFloat32, {1});
  b.output(b.op("NonMaxSuppression", {x}));
  Graph g = b.build();
  auto ex = ReferenceExecutor::create(g);
  ASSERT_FALSE(ex.is_ok());
  EXPECT_EQ(ex.status().kind(), ErrorKind::kUnsupported);
  EXPECT_NE(ex.status().message().find(
                "NonMaxSuppression 'NonMaxSuppression_0': operator is not supported"),
            std::string::npos);
}

TEST(ReferenceExecutor, ChecksInputs) {
  Graph g = relu_chain(1);
  auto ex = ReferenceExecutor::create(g);
  ASSERT_TRUE(ex.is_ok());
  EXPECT_NE(ex->run({}).status().message().find("'x' was not given"), std::string::npos);
  EXPECT_NE(ex->run({{"x", Tensor(DType::kFloat32, {1, 999})}})
                .status()
                .message()
                .find("expected shape [1,1000]"),
            std::string::npos);
  EXPECT_NE(
      ex->run({{"x", Tensor(DType::kInt8, {1, 1000})}}).status().message().find("expected float32"),
      std::string::npos);
  EXPECT_NE(
      ex->run({{"x", Tensor(DType::kFloat32, {1, 1000})}, {"y", Tensor(DType::kFloat32, {1})}})
          .status()
          .message()
          .find("'y' is not an input"),
      std::string::npos);
}

TEST(ReferenceExecutor, ObserverSeesEveryLayer) {
  Graph g = relu_chain(3);
  auto ex = ReferenceExecutor::create(g);
  ASSERT_TRUE(ex.is_ok());
  std::vector<std::string> seen;
  ex->set_observer([&](const Node& n, const std::vector<Tensor>& outs) {
    seen.push_back(n.op_type);
    EXPECT_EQ(outs.size(), 1u);
  });
  ASSERT_TRUE(ex->run({{"x", Tensor(DType::kFloat32, {1, 1000})}}).is_ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"Relu", "Abs", "Relu"}));
}

TEST(ReferenceOps, ShapeErrorsNameTheNode) {
  Tensor a(DType::kFloat32, {2, 3});
  Tensor b(DType::kFloat32, {4, 5});
  try {
    testing::run_node("MatMul", {a, b});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("MatMul 'MatMul_0': inner dimensions differ"),
              std::string::npos);
  }
  EXPECT_THROW(testing::run_node("Add", {a, b}), Error);
  EXPECT_THROW(testing::run_node("Conv", {Tensor(DType::kFloat32, {1, 3, 4, 4}),
                                          Tensor(DType::kFloat32, {2, 4, 3, 3})}),
               Error);
}

TEST(ReferenceOps, IntegerArithmeticWrapsWithoutUndefinedBehaviour) {
  Tensor big = Tensor::from_vector<int32_t>({1}, {std::numeric_limits<int32_t>::max()});
  auto y = testing::run_node("Add", {big, Tensor::from_vector<int32_t>({1}, {1})})[0];
  EXPECT_EQ(y.data<int32_t>()[0], std::numeric_limits<int32_t>::min());
  EXPECT_THROW(testing::run_node("Div", {big, Tensor::from_vector<int32_t>({1}, {0})}), Error);
}

}  // namespace
}  // namespace qdq
