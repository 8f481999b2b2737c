#include "passes/fold_qdq_global_pool.h"

#include "passes/eliminate_dead_code.h"
#include "passes/pass_test_util.h"
#include "passes/pipeline.h"

namespace qdq {
namespace {

using testing::op_counts;

// ONNX Runtime's PTQ classifier head: a quantized conv, then DQ ->
// GlobalAveragePool -> Q (with `quantized_mean`; else the mean is the model's
// float output).
Graph pooled_head(bool quantized_mean) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {2, 4, 6, 6});
  Value* s = b.constant("s", Tensor::scalar<float>(0.03f));
  Value* z = b.constant("z", Tensor::scalar<uint8_t>(128));
  Value* so = b.constant("so", Tensor::scalar<float>(0.01f));
  Value* zo = b.constant("zo", Tensor::scalar<uint8_t>(0));
  Tensor w(DType::kInt8, {8, 4, 3, 3});
  for (int64_t i = 0; i < w.numel(); ++i)
    w.data<int8_t>()[i] = static_cast<int8_t>(i * 53 % 255 - 127);
  Attributes a;
  a.set("kernel_shape", std::vector<int64_t>{3, 3});
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value* conv = b.op("Conv",
                     {b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, s, z}), s, z}),
                      b.op("DequantizeLinear", {b.constant("w", std::move(w)),
                                                b.constant("ws", Tensor::scalar<float>(0.005f)),
                                                b.constant("wz", Tensor::scalar<int8_t>(0))})},
                     a);
  Value* relu = b.op("Relu", {conv});
  Value* mean = b.op("GlobalAveragePool",
                     {b.op("DequantizeLinear", {b.op("QuantizeLinear", {relu, so, zo}), so, zo})});
  b.output(quantized_mean ? b.op("DequantizeLinear", {b.op("QuantizeLinear", {mean, s, z}), s, z})
                          : mean);
  Graph g = b.build();
  for (Node* n : g.nodes())  // as an imported model's values carry them
    n->output(0)->dtype = n->op_type == "QuantizeLinear" ? DType::kUInt8 : DType::kFloat32;
  return g;
}

// The engine's graph without this pass: the pool between the QConv's DQ and
// a Q, in float.
Graph engine_head(bool quantized_mean) {
  Graph g = pooled_head(quantized_mean);
  PassContext context;
  context.evaluate = evaluate_node;
  run_passes(g, select_passes("", PipelineForm::kEngine, "fold_qdq_global_pool"), context);
  return g;
}

TEST(FoldQdqGlobalPool, ThePoolReadsAndWritesBytesWithIdenticalResults) {
  for (const bool quantized_mean : {true, false}) {
    FoldQdqGlobalPool pass;
    EliminateDeadCode dead_code;
    // Tolerance 0: the pool does the float steps of the DQ, pool and Q.
    auto r = testing::rewrite_and_compare([&] { return engine_head(quantized_mean); },
                                          {&pass, &dead_code}, 0.0f);
    auto counts = op_counts(r.graph);
    EXPECT_EQ(r.report.passes[0].changes, 1);
    EXPECT_EQ(counts["QConv"], 1);
    EXPECT_EQ(counts["QuantizeLinear"], 1);                         // the model input's
    EXPECT_EQ(counts["DequantizeLinear"], quantized_mean ? 1 : 0);  // the model output's
    for (const Node* n : r.graph.nodes())
      if (n->op_type == "GlobalAveragePool") {
        EXPECT_EQ(n->domain, "ai.qdq");
        EXPECT_EQ(n->input(0)->producer->op_type, "QConv");  // its 8-bit output
        EXPECT_EQ(n->inputs().size(), quantized_mean ? 5u : 3u);
      }
  }
}

}  // namespace
}  // namespace qdq
