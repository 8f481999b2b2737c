#include "passes/infer_shapes.h"

#include "passes/fold_constants.h"
#include "passes/pass_test_util.h"

namespace qdq {
namespace {

// x -> Pad whose pads a Concat of two constants computes, as exporters write
// the CIFAR ResNets' shortcut padding: the Pad's output shape is known only
// once the Concat is folded.
Graph padded_by_a_subgraph() {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 2, 3, 3});
  Value* before = b.constant("before", Tensor::from_vector<int64_t>({4}, {0, 1, 0, 0}));
  Value* after = b.constant("after", Tensor::from_vector<int64_t>({4}, {0, 1, 2, 0}));
  Attributes axis;
  axis.set("axis", int64_t{0});
  b.output(b.op("Relu", {b.op("Pad", {x, b.op("Concat", {before, after}, axis)})}));
  Graph g = b.build();
  for (Node* n : g.nodes()) n->output(0)->shape.reset();  // as import left them
  g.outputs()[0]->shape = to_symbolic({1, 4, 5, 3});      // the model file declares it
  return g;
}

TEST(InferShapes, ShapesKnownAfterFoldingAreRecorded) {
  FoldConstants fold;
  InferShapes infer;
  auto r = testing::rewrite_and_compare(padded_by_a_subgraph, {&fold, &infer}, 0.0f);
  EXPECT_GT(r.report.passes[1].changes, 0);
  const Value* out = r.graph.outputs()[0]->producer->input(0);  // the Pad's
  ASSERT_TRUE(out->shape);
  ASSERT_EQ(out->shape->size(), 4u);
  const int64_t want[] = {1, 4, 5, 3};
  for (size_t d = 0; d < 4; ++d) EXPECT_EQ((*out->shape)[d].size, want[d]) << "dim " << d;
  PassContext context;
  EXPECT_EQ(infer.run(r.graph, context), 0);  // nothing left to learn: no second export
}

TEST(InferShapes, NamedInputDimsCountAsKnown) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 2});
  x->shape = SymbolicShape{Dim{-1, "batch"}, Dim{2, ""}};
  b.output(b.op("Relu", {x}));
  Graph g = b.build();
  g.outputs()[0]->shape = x->shape;
  InferShapes infer;
  PassContext context;
  EXPECT_EQ(infer.run(g, context), 0);
}

}  // namespace
}  // namespace qdq
