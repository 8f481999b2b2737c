// Precision by measurement: a quantized convolution named in float_layers stays
// an FP32 layer between its Q/DQ (and the engine still computes the block),
// and --best's choice is one of the engines it built, with every quantized
// layer measured.
#include "runtime/best_precision.h"

#include <gtest/gtest.h>

#include "pass_test_util.h"

namespace qdq::testing {
namespace {

std::string first_conv_name() {
  const Graph g = qdq_residual_block(BlockStyle::kQuantizedSum);
  for (const Node* n : g.topological_order())
    if (n->op_type == "Conv") return n->name;
  return "";
}

TEST(BestPrecision, FloatLayersStayInFloat) {
  const std::string conv = first_conv_name();
  EngineOptions options{true, selected_isa(), {}, 0, {conv}};
  auto mixed =
      build_engine_from([] { return qdq_residual_block(BlockStyle::kQuantizedSum); }, options);
  ASSERT_TRUE(mixed.is_ok()) << mixed.status().message();
  int qconvs = 0;
  bool conv_in_float = false;
  for (const Node* n : mixed->graph->nodes()) {
    qconvs += n->op_type == "QConv";
    conv_in_float |= n->name == conv && n->op_type == "Conv";
  }
  EXPECT_TRUE(conv_in_float);
  EXPECT_EQ(qconvs, 1);

  // Same outputs as the Q/DQ model in reference semantics, up to one step of
  // the output's quantizer (0.04) where float and integer rounding differ.
  const std::map<std::string, Tensor> in = {{"x", random_floats({1, 8, 6, 6}, 3, 0.0f, 2.0f)}};
  auto got = mixed->engine.executor.run(in);
  ASSERT_TRUE(got.is_ok());
  const auto want = run_graph(qdq_residual_block(BlockStyle::kQuantizedSum), in);
  for (int64_t i = 0; i < want[0].numel(); ++i)
    EXPECT_NEAR(got.value()[0].data<float>()[i], want[0].data<float>()[i], 0.0401) << i;
}

TEST(BestPrecision, ChoosesOneOfTheEnginesItMeasured) {
  const std::map<std::string, Tensor> in = {{"x", random_floats({1, 8, 6, 6}, 4)}};
  const ModelSource block = [] { return qdq_residual_block(BlockStyle::kQuantizedSum); };
  auto best = build_best_engine(block, block, EngineOptions{false, selected_isa(), {}, 0, {}}, in,
                                TimingOptions{0.0, 3, 0.0});
  ASSERT_TRUE(best.is_ok()) << best.status().message();
  EXPECT_TRUE(best->precision == "int8" || best->precision == "fp32" || best->precision == "mixed");
  EXPECT_EQ(best->chosen.engine.int8, best->precision != "fp32");
  EXPECT_EQ(best->float_layers.empty(), best->precision != "mixed");
  int measured = 0;
  for (const auto& line : best->log) measured += line.rfind("layer '", 0) == 0;
  EXPECT_EQ(measured, 2);  // both convolutions
  EXPECT_TRUE(best->chosen.engine.executor.run(in).is_ok());
}

}  // namespace
}  // namespace qdq::testing
