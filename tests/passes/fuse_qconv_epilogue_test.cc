#include "passes/fuse_qconv_epilogue.h"

#include "passes/eliminate_dead_code.h"
#include "passes/layout_nhwc.h"
#include "passes/pass_test_util.h"

namespace qdq {
namespace {

using testing::BlockStyle;
using testing::op_counts;

Graph channels_last(BlockStyle style) {
  Graph g = testing::lowered_residual_block(style);
  PassContext context;
  LayoutNhwc layout;
  EliminateDeadCode dead_code;
  run_passes(g, {&layout, &dead_code}, context);
  return g;
}

TEST(FuseQConvEpilogue, ResNetBlockIsTwoKernelsAndChangesNoBit) {
  FuseQConvEpilogue fuse;
  auto r = testing::rewrite_and_compare([] { return channels_last(BlockStyle::kQuantizedSum); },
                                        {&fuse}, 0.0f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(counts["QConv"], 2);
  EXPECT_EQ(counts["Clip"], 0);        // conv1's ReLU clamp, now conv_min
  EXPECT_EQ(counts["QLinearAdd"], 0);  // the residual add, now conv2's epilogue
  EXPECT_EQ(r.report.total_changes(), 2);
  for (Node* n : r.graph.nodes()) {
    if (n->op_type != "QConv") continue;
    if (n->inputs().size() > 9) {
      EXPECT_EQ(n->input(9)->producer->op_type, "Transpose");  // the block's input
    } else {
      EXPECT_EQ(n->attributes.get_int("conv_min", -1), 10);
    }
  }
}

TEST(FuseQConvEpilogue, LeavesAnAddWhoseConvOutputIsReadTwice) {
  auto make = [] {
    Graph g = channels_last(BlockStyle::kQuantizedSum);
    for (Node* n : g.nodes())  // also export conv2's output: it must stay computed
      if (n->op_type == "QLinearAdd")
        for (Value* in : n->inputs())
          if (in->producer && in->producer->op_type == "QConv") {
            Value* extra = g.add_value("conv2_copy", in->dtype);
            g.add_node("Identity", {in}, {extra});
            g.add_output(extra);
            break;
          }
    return g;
  };
  FuseQConvEpilogue fuse;
  auto r = testing::rewrite_and_compare(make, {&fuse}, 0.0f);
  EXPECT_EQ(op_counts(r.graph)["QLinearAdd"], 1);
}

}  // namespace
}  // namespace qdq
