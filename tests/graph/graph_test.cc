#include "graph/graph.h"

#include <gtest/gtest.h>

#include "graph/builder.h"
#include "graph/verifier.h"

namespace qdq {
namespace {

TEST(Graph, TopologicalOrderFollowsData) {
  GraphBuilder b;
  Value* x = b.input("x", DType::kFloat32, {1, 4});
  Value* r = b.op("Relu", {x});
  Value* s = b.op("Add", {r, r});  // reads one value twice
  Value* t = b.op("Abs", {s});
  b.output(t);
  Graph g = b.build();
  auto order = g.topological_order();
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0]->op_type, "Relu");
  EXPECT_EQ(order[1]->op_type, "Add");
  EXPECT_EQ(order[2]->op_type, "Abs");
  EXPECT_EQ(r->consumers.size(), 2u);
}

TEST(Graph, CycleIsReported) {
  Graph g;
  Value* a = g.add_value("a", DType::kFloat32);
  Value* b = g.add_value("b", DType::kFloat32);
  g.add_node("Relu", {a}, {b}, "n1");
  g.add_node("Relu", {b}, {a}, "n2");
  g.add_output(b);
  EXPECT_THROW(g.topological_order(), Error);
  EXPECT_THROW(verify_graph(g), Error);
}

TEST(Graph, ValueProducedTwiceIsRefused) {
  Graph g;
  Value* x = g.add_value("x", DType::kFloat32);
  g.add_input(x);
  Value* y = g.add_value("y", DType::kFloat32);
  g.add_node("Relu", {x}, {y});
  EXPECT_THROW(g.add_node("Abs", {x}, {y}), Error);
}

TEST(Graph, RemoveAndRewire) {
  GraphBuilder b;
  Value* x = b.input("x", DType::kFloat32, {2});
  Value* id = b.op("Identity", {x});
  Value* r = b.op("Relu", {id});
  b.output(r);
  Graph g = b.build();
  Node* relu = r->producer;
  g.replace_input(relu, 0, x);
  g.remove_node(id->producer);
  verify_graph(g);
  EXPECT_EQ(g.node_count(), 1u);
  EXPECT_EQ(x->consumers.size(), 1u);
}

TEST(Graph, UndefinedInputFailsVerification) {
  Graph g;
  Value* dangling = g.add_value("nowhere", DType::kFloat32);
  Value* y = g.add_value("y", DType::kFloat32);
  g.add_node("Relu", {dangling}, {y}, "r");
  g.add_output(y);
  try {
    verify_graph(g);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nowhere"), std::string::npos);
  }
}

TEST(Tensor, ElementCountOverflowIsAnError) {
  EXPECT_THROW(element_count({int64_t{1} << 40, int64_t{1} << 40}), Error);
  EXPECT_THROW(element_count({-1, 3}), Error);
  EXPECT_EQ(element_count({}), 1);
  EXPECT_THROW(Tensor(DType::kFloat32, {int64_t{1} << 40}), Error);  // 4 TiB claimed
}

}  // namespace
}  // namespace qdq
