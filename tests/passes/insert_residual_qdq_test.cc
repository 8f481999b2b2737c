#include "passes/insert_residual_qdq.h"

#include "passes/pass_test_util.h"

namespace qdq {
namespace {

using testing::BlockStyle;
using testing::op_counts;

TEST(InsertResidualQdq, FloatIdentityIsReadThroughItsQuantizer) {
  InsertResidualQdq pass;
  // The identity moves by at most half its step (0.01), so the block's output
  // (step 0.04) by at most one step.
  auto r = testing::rewrite_and_compare(
      [] { return testing::qdq_residual_block(BlockStyle::kFloatIdentity); }, {&pass},
      0.04f + 1e-6f);
  EXPECT_EQ(r.report.total_changes(), 1);
  ASSERT_EQ(r.warnings.size(), 1u);
  for (Node* n : r.graph.nodes())
    if (n->op_type == "Add") {
      const Node* dq = n->input(1)->producer;
      ASSERT_NE(dq, nullptr);
      EXPECT_EQ(dq->op_type, "DequantizeLinear");
      EXPECT_EQ(dq->input(0)->producer->op_type, "QuantizeLinear");
      EXPECT_EQ(dq->input(0)->producer->input(0), r.graph.inputs()[0]);  // the block input's Q
    }
}

TEST(InsertResidualQdq, QuantizedIdentityIsLeftAlone) {
  InsertResidualQdq pass;
  auto r = testing::rewrite_and_compare(
      [] { return testing::qdq_residual_block(BlockStyle::kFloatSum); }, {&pass}, 0.0f);
  EXPECT_EQ(r.report.total_changes(), 0);
  EXPECT_TRUE(r.warnings.empty());
}

// Either way the engine runs the block as two convs; the add reads the
// identity in float as the model states it, or, after this pass (qdq-opt's),
// the quantized identity.
TEST(InsertResidualQdq, TheEngineRunsTheBlockAsTwoConvsWithOrWithoutIt) {
  for (const bool inserted : {false, true}) {
    Graph g = testing::qdq_residual_block(BlockStyle::kFloatIdentity);
    PassContext context;
    context.evaluate = evaluate_node;
    if (inserted) run_passes(g, select_passes("insert_residual_qdq", PipelineForm::kQdq), context);
    run_passes(g, select_passes("", PipelineForm::kEngine), context);
    auto counts = op_counts(g);
    EXPECT_EQ(counts["QConv"], 2);
    EXPECT_EQ(counts["Add"], 0);
    EXPECT_EQ(counts["Relu"], 0);
    for (Node* n : g.nodes()) {
      if (n->op_type == "QConv" && n->inputs().size() > 9) {
        EXPECT_EQ(n->input(9)->dtype, inserted ? DType::kUInt8 : DType::kFloat32);
      }
    }
  }
}

}  // namespace
}  // namespace qdq
