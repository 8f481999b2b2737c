#include "passes/fuse_conv_residual.h"

#include "passes/fuse_conv_activation.h"
#include "passes/pass_test_util.h"

namespace qdq {
namespace {

using testing::op_counts;
using testing::random_floats;

struct BlockEnd {
  bool conv_first = true;         // Add(conv, r), else Add(r, conv)
  Shape residual{1, 4, 5, 5};     // [1, 4, 1, 1]: a broadcast
  bool conv_also_output = false;  // the conv's output read twice
  bool relu = false;              // a Relu after the Add
};

// x -> Conv -> Add(r) [-> Relu] -> y, r a graph input; the shapes import
// would infer.
Graph block_end(const BlockEnd& e) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 3, 5, 5});
  Value* r = b.input("r", DType::kFloat32, e.residual);
  Value* c = testing::float_conv3x3(b, x);
  Value* sum = e.conv_first ? b.op("Add", {c, r}) : b.op("Add", {r, c});
  c->shape = sum->shape = to_symbolic({1, 4, 5, 5});
  b.output(e.relu ? b.op("Relu", {sum}) : sum);
  if (e.conv_also_output) b.output(c);
  return b.build();
}

TEST(FuseConvResidual, TheShortcutAddBecomesTheConvsFourthInput) {
  FuseConvResidual pass;
  for (bool conv_first : {true, false}) {
    auto r = testing::rewrite_and_compare([&] { return block_end({conv_first}); }, {&pass}, 0.0f);
    auto counts = op_counts(r.graph);
    EXPECT_EQ(counts["Add"], 0);
    ASSERT_EQ(counts["Conv"], 1);
    const Node* conv = r.graph.outputs()[0]->producer;
    EXPECT_EQ(conv->domain, "ai.qdq");
    ASSERT_EQ(conv->inputs().size(), 4u);
    EXPECT_EQ(conv->input(3)->name, "r");
    EXPECT_EQ(conv->attributes.get_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  }
}

// The Relu after the Add then joins the same conv: one node for the block end.
TEST(FuseConvResidual, TheReluAfterItJoinsTheSameConv) {
  FuseConvResidual residual;
  FuseConvActivation activation;
  BlockEnd e;
  e.relu = true;
  auto r =
      testing::rewrite_and_compare([&] { return block_end(e); }, {&residual, &activation}, 0.0f);
  EXPECT_EQ(r.graph.nodes().size(), 1u);
  const Node* conv = r.graph.outputs()[0]->producer;
  EXPECT_EQ(conv->inputs().size(), 4u);
  EXPECT_EQ(conv->attributes.get_float("activation_min", -1.0f), 0.0f);
}

TEST(FuseConvResidual, BroadcastsAndSharedOutputsStay) {
  FuseConvResidual pass;
  BlockEnd broadcast;
  broadcast.residual = {1, 4, 1, 1};
  auto b = testing::rewrite_and_compare([&] { return block_end(broadcast); }, {&pass}, 0.0f);
  EXPECT_EQ(op_counts(b.graph)["Add"], 1);
  BlockEnd shared;
  shared.conv_also_output = true;
  auto s = testing::rewrite_and_compare([&] { return block_end(shared); }, {&pass}, 0.0f);
  EXPECT_EQ(op_counts(s.graph)["Add"], 1);
}

}  // namespace
}  // namespace qdq
