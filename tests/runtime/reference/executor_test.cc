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

// Transposes draw their outputs from the memory plan; a Reshape is a view of
// its input, so the plan must keep the viewed memory until the view's last
// reader, even though a later Transpose could otherwise take the same bytes.
Graph plan_with_a_view() {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {2, 3, 4, 5});
  Attributes to_nhwc, swap;
  to_nhwc.set("perm", std::vector<int64_t>{0, 2, 3, 1});
  swap.set("perm", std::vector<int64_t>{0, 1, 3, 2});
  auto shape = [&](const std::string& name, std::vector<int64_t> dims) {
    return b.constant(name,
                      Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims));
  };
  Value* view = b.op("Reshape", {b.op("Transpose", {x}, to_nhwc), shape("s1", {2, 60})});
  Value* other = b.op("Reshape", {b.op("Transpose", {x}, swap), shape("s2", {2, 60})});
  Value* third =
      b.op("Reshape", {b.op("Transpose", {b.op("Relu", {x})}, to_nhwc), shape("s3", {2, 60})});
  b.output(b.op("Add", {b.op("Add", {view, other}), third}));
  b.output(view);  // an output that is a view of planned memory: not planned
  return b.build();
}

TEST(MemoryPlan, LaterRunsUseTheArenaAndGiveTheFirstRunsResults) {
  Graph g = plan_with_a_view();
  auto ex = ReferenceExecutor::create(g, ExecutorOptions{best_isa(), {}});
  ASSERT_TRUE(ex.is_ok());
  Tensor x(DType::kFloat32, {2, 3, 4, 5});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i % 17) - 8.0f;
  const auto first = ex->run({{"x", x}}).value();  // records the plan
  const size_t arena = ex->peak_activation_bytes();
  EXPECT_GT(arena, 0u);
  // Planned: two Transposes (the third makes an output), the Relu and the
  // first Add, at most three of them live at once.
  const size_t tensor_bytes = (x.nbytes() + 63) / 64 * 64;
  EXPECT_LE(arena, 3 * tensor_bytes);
  for (int run = 0; run < 3; ++run) {
    const auto again = ex->run({{"x", x}}).value();
    ASSERT_EQ(again.size(), first.size());
    for (size_t o = 0; o < first.size(); ++o)
      for (int64_t i = 0; i < first[o].numel(); ++i)
        ASSERT_EQ(first[o].data<float>()[i], again[o].data<float>()[i]) << "output " << o;
  }
}

void expect_same_values(const std::vector<Tensor>& expected, const std::vector<Tensor>& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t o = 0; o < expected.size(); ++o) {
    ASSERT_EQ(expected[o].shape(), actual[o].shape());
    for (int64_t i = 0; i < expected[o].numel(); ++i)
      ASSERT_EQ(expected[o].data<float>()[i], actual[o].data<float>()[i]) << "output " << o;
  }
}

Tensor counting_input(float offset) {
  Tensor x(DType::kFloat32, {2, 3, 4, 5});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i % 17) - offset;
  return x;
}

// run(inputs, outputs) writes into the last run's output tensors (the planned
// one and the view's storage both) when nobody else holds them, and never
// into one the caller kept.
TEST(MemoryPlan, RunsIntoTheLastOutputsOnlyWhenNobodyElseHoldsThem) {
  Graph g = plan_with_a_view();
  auto ex = ReferenceExecutor::create(g, ExecutorOptions{best_isa(), {}});
  ASSERT_TRUE(ex.is_ok());
  const Tensor x = counting_input(8.0f), other_x = counting_input(3.0f);
  std::vector<Tensor> outputs;
  for (int warm = 0; warm < 2; ++warm) ASSERT_TRUE(ex->run({{"x", x}}, outputs).is_ok());
  const void* sum_memory = outputs[0].raw();
  const void* view_memory = outputs[1].raw();
  ASSERT_TRUE(ex->run({{"x", other_x}}, outputs).is_ok());
  EXPECT_EQ(outputs[0].raw(), sum_memory);
  EXPECT_EQ(outputs[1].raw(), view_memory);
  expect_same_values(ex->run({{"x", other_x}}).value(), outputs);

  const Tensor kept = outputs[0];
  const Tensor kept_values = kept.clone();
  ASSERT_TRUE(ex->run({{"x", x}}, outputs).is_ok());
  EXPECT_NE(outputs[0].raw(), kept.raw());
  EXPECT_EQ(outputs[1].raw(), view_memory);
  expect_same_values({kept_values}, {kept});
  expect_same_values(ex->run({{"x", x}}).value(), outputs);

  // A failed run leaves nothing behind that the next one would trip on.
  EXPECT_FALSE(ex->run({{"x", Tensor(DType::kFloat32, {2, 3, 4, 6})}}, outputs).is_ok());
  ASSERT_TRUE(ex->run({{"x", other_x}}, outputs).is_ok());
  expect_same_values(ex->run({{"x", other_x}}).value(), outputs);
}

}  // namespace
}  // namespace qdq
