#include "passes/layout_nhwc.h"

#include "passes/eliminate_dead_code.h"
#include "passes/pass_test_util.h"

namespace qdq {
namespace {

using testing::BlockStyle;
using testing::op_counts;

using testing::lowered_residual_block;

TEST(LayoutNhwc, QuantizedBlockRunsChannelsLastWithTransposesOnlyAtTheEdges) {
  LayoutNhwc layout;
  EliminateDeadCode dead_code;
  // Tolerance 0: the same integer ops in another layout.
  auto r =
      testing::rewrite_and_compare([] { return lowered_residual_block(BlockStyle::kQuantizedSum); },
                                   {&layout, &dead_code}, 0.0f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(counts["QConv"], 2);
  EXPECT_EQ(counts["QLinearConv"], 0);
  EXPECT_EQ(counts["QLinearAdd"], 1);  // followed the convolutions into NHWC
  EXPECT_EQ(counts["Transpose"], 2);   // in after the input's Q, out before the output's DQ
}

TEST(LayoutNhwc, QuantizedMaxPoolFollowsTheConvolutions) {
  LayoutNhwc layout;
  EliminateDeadCode dead_code;
  auto r = testing::rewrite_and_compare(
      [] { return lowered_residual_block(BlockStyle::kPooledSum); }, {&layout, &dead_code}, 0.0f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(counts["QConv"], 2);
  EXPECT_EQ(counts["Transpose"], 2);
  ASSERT_EQ(counts["MaxPool"], 1);
  for (Node* n : r.graph.nodes())
    if (n->op_type == "MaxPool") {
      EXPECT_EQ(n->domain, "ai.qdq");
      EXPECT_EQ(n->input(0)->producer->op_type, "QLinearAdd");
    }
}

TEST(LayoutNhwc, ShortcutAndWholePlaneAverageFollowTheConvolutions) {
  LayoutNhwc layout;
  EliminateDeadCode dead_code;
  auto r = testing::rewrite_and_compare(
      [] { return lowered_residual_block(BlockStyle::kShortcutPooled); }, {&layout, &dead_code},
      0.0f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(counts["QConv"], 2);
  EXPECT_EQ(counts["Transpose"], 2);  // no way out and back for the shortcut
  EXPECT_EQ(counts["Slice"], 1);
  EXPECT_EQ(counts["Pad"], 1);
  EXPECT_EQ(counts["AveragePool"], 0);
  for (Node* n : r.graph.nodes())
    if (n->op_type == "GlobalAveragePool") {
      EXPECT_EQ(n->domain, "ai.qdq");
    }
}

TEST(LayoutNhwc, FloatSumConvolutionBecomesFloatOutputQConv) {
  LayoutNhwc layout;
  EliminateDeadCode dead_code;
  // The float-output QConv sums exactly in int32 where the Q/DQ graph sums in
  // float: the outputs agree to float rounding, a small fraction of a step.
  auto r = testing::rewrite_and_compare(
      [] { return lowered_residual_block(BlockStyle::kFloatSum); }, {&layout, &dead_code}, 1e-5f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(counts["QConv"], 2);
  EXPECT_EQ(counts["Conv"], 0);
  EXPECT_EQ(counts["Transpose"], 2);
  for (Node* n : r.graph.nodes())
    if (n->op_type == "QConv") {
      EXPECT_EQ(n->domain, "ai.qdq");
    }
}

TEST(LayoutNhwc, LeavesConvolutionsWithWeightZeroPointsAlone) {
  auto make = [] {
    Graph g = lowered_residual_block(BlockStyle::kQuantizedSum);
    for (Node* n : g.nodes())
      if (n->op_type == "QLinearConv") {  // a nonzero weight zero point: not packable
        Tensor z(DType::kInt8, {8});
        for (int64_t i = 0; i < 8; ++i) z.data<int8_t>()[i] = 1;
        g.replace_input(n, 5, g.add_constant(n->name + "_wz1", std::move(z)));
      }
    return g;
  };
  LayoutNhwc layout;
  auto r = testing::rewrite_and_compare(make, {&layout}, 0.0f);
  EXPECT_EQ(op_counts(r.graph)["QConv"], 0);
  EXPECT_EQ(r.report.total_changes(), 0);
}

}  // namespace
}  // namespace qdq
