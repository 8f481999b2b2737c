#include "passes/eliminate_dead_code.h"

#include "passes/pass_test_util.h"

namespace qdq {
namespace {

using testing::op_counts;

TEST(EliminateDeadCode, DropsIdentityDropoutAndUnreadNodes) {
  auto make = [] {
    GraphBuilder b;
    Value* x = b.input("x", DType::kFloat32, {2, 3});
    Value* v = b.op("Identity", {x});
    v = b.add("Dropout", {v}, {}, 2)[0];  // mask output unread
    b.op("Sigmoid", {v});                 // nobody reads it
    b.output(b.op("Relu", {v}));
    return b.build();
  };
  EliminateDeadCode pass;
  auto r = testing::rewrite_and_compare(make, {&pass}, 0.0f);
  EXPECT_EQ(r.graph.node_count(), 1u);
  EXPECT_EQ(op_counts(r.graph)["Relu"], 1);
}

TEST(EliminateDeadCode, KeepsAnIdentityThatNamesAGraphOutput) {
  auto make = [] {
    GraphBuilder b;
    Value* x = b.input("x", DType::kFloat32, {2});
    b.output(b.op("Identity", {b.op("Relu", {x})}));
    return b.build();
  };
  EliminateDeadCode pass;
  auto r = testing::rewrite_and_compare(make, {&pass}, 0.0f);
  EXPECT_EQ(op_counts(r.graph)["Identity"], 1);
}

}  // namespace
}  // namespace qdq
