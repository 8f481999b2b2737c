#include "passes/fold_qdq_concat.h"

#include "passes/eliminate_dead_code.h"
#include "passes/pass_test_util.h"
#include "passes/pipeline.h"
#include "passes/remove_redundant_qdq.h"

namespace qdq {
namespace {

using testing::op_counts;

// Two quantized 3x3 convs on x (outputs quantized with scales a_scale and
// b_scale), concatenated along the channels, quantized with 0.05, then a
// third quantized conv: an Inception-style join.
Graph joined(float a_scale, float b_scale) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 4, 6, 6});
  Value* z = b.constant("z", Tensor::scalar<uint8_t>(128));
  std::map<float, Value*> scales;  // one constant per scale
  auto qdq = [&](Value* v, float scale) {
    Value*& s = scales[scale];
    if (!s)
      s = b.constant(std::string("s").append(std::to_string(scale)), Tensor::scalar<float>(scale));
    return b.op("DequantizeLinear", {b.op("QuantizeLinear", {v, s, z}), s, z});
  };
  uint32_t seed = 7;
  auto conv = [&](Value* in, int64_t channels) {
    Tensor w(DType::kInt8, {4, channels, 3, 3});
    for (int64_t i = 0; i < w.numel(); ++i)
      w.data<int8_t>()[i] = static_cast<int8_t>((i * 37 + seed * 11) % 255 - 127);
    ++seed;
    Value* ws =
        b.constant(std::string("ws").append(std::to_string(seed)), Tensor::scalar<float>(0.004f));
    Value* wz =
        b.constant(std::string("wz").append(std::to_string(seed)), Tensor::scalar<int8_t>(0));
    Attributes a;
    a.set("kernel_shape", std::vector<int64_t>{3, 3});
    a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    return b.op("Conv",
                {in, b.op("DequantizeLinear",
                          {b.constant(std::string("w").append(std::to_string(seed)), std::move(w)),
                           ws, wz})},
                a);
  };
  Value* input = qdq(x, 0.02f);
  Attributes axis;
  axis.set("axis", int64_t{1});
  Value* joined =
      b.op("Concat", {qdq(conv(input, 4), a_scale), qdq(conv(input, 4), b_scale)}, axis);
  b.output(qdq(conv(qdq(joined, 0.05f), 8), 0.1f));  // quantized: exact comparisons
  return b.build();
}

TEST(FoldQdqConcat, EqualParametersJoinThe8BitTensors) {
  FoldQdqConcat pass;
  EliminateDeadCode dead_code;
  auto r =
      testing::rewrite_and_compare([] { return joined(0.05f, 0.05f); }, {&pass, &dead_code}, 0.0f);
  EXPECT_EQ(r.report.passes[0].changes, 1);
  for (Node* n : r.graph.nodes())
    if (n->op_type == "Concat") {
      EXPECT_EQ(n->input(0)->producer->op_type, "QuantizeLinear");  // the branch's own
      EXPECT_EQ(n->input(1)->producer->op_type, "QuantizeLinear");
      EXPECT_EQ(n->output(0)->consumers.at(0)->op_type, "DequantizeLinear");
    }
}

TEST(FoldQdqConcat, OtherParametersRequantizeTheirInput) {
  FoldQdqConcat pass;
  RemoveRedundantQdq redundant;
  EliminateDeadCode dead_code;
  auto r = testing::rewrite_and_compare([] { return joined(0.05f, 0.08f); },
                                        {&pass, &redundant, &dead_code}, 0.0f);
  EXPECT_EQ(r.report.passes[0].changes, 1);
  for (Node* n : r.graph.nodes())
    if (n->op_type == "Concat") {
      // Input 1 is Q(0.05) of DQ(0.08) of the branch's tensor.
      const Node* requantize = n->input(1)->producer;
      EXPECT_EQ(requantize->op_type, "QuantizeLinear");
      EXPECT_EQ(requantize->input(0)->producer->op_type, "DequantizeLinear");
      EXPECT_EQ(n->input(0)->producer->input(0)->producer->op_type, "Conv");
    }
}

TEST(FoldQdqConcat, TheEngineJoinsChannelsLastBytes) {
  for (const float b_scale : {0.05f, 0.08f}) {
    auto r = testing::rewrite_and_compare([&] { return joined(0.05f, b_scale); },
                                          select_passes("", PipelineForm::kEngine), 0.0f);
    auto counts = op_counts(r.graph);
    EXPECT_EQ(counts["QConv"], 3);
    EXPECT_EQ(counts["Concat"], 1);
    // The requantization, a lookup table, runs in branch b's conv epilogue:
    // no Q/DQ left but the graph's edges.
    EXPECT_EQ(counts["QuantizeLinear"], 1);
    EXPECT_EQ(counts["DequantizeLinear"], 1);
    EXPECT_EQ(counts["Transpose"], 2);  // at the graph's input and output only
    for (Node* n : r.graph.nodes())
      if (n->op_type == "Concat") {
        EXPECT_EQ(n->input(0)->producer->op_type, "QConv");
        EXPECT_EQ(n->input(1)->producer->op_type, "QConv");
        EXPECT_EQ(n->attributes.get_int("axis", 0), 3);  // NHWC channels
      }
  }
}

}  // namespace
}  // namespace qdq
