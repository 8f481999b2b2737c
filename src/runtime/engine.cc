#include "runtime/engine.h"

#include "passes/pipeline.h"

namespace qdq {

bool is_integer_layer(const Node& n) {
  if (n.op_type == "QLinearConv" || n.op_type == "QLinearMatMul" || n.op_type == "ConvInteger" ||
      n.op_type == "MatMulInteger")
    return true;
  // qdq's own: integer convolutions (also those with a float output: their
  // sums are int32) and lookups on 8-bit tensors.
  if (n.domain == "ai.qdq" && (n.op_type == "QConv" || n.op_type == "LookupTable")) return true;
  if (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") return false;
  auto is_8bit = [](const Value* v) {
    return v && (v->dtype == DType::kInt8 || v->dtype == DType::kUInt8);
  };
  return !n.inputs().empty() && is_8bit(n.input(0)) && is_8bit(n.output(0));
}

Result<Engine> build_engine(Graph& graph, const EngineOptions& options) {
  return catch_errors([&]() -> Engine {
    PassContext context;
    context.evaluate = evaluate_node;
    context.form = options.int8 ? PipelineForm::kEngine : PipelineForm::kFloatEngine;
    if (options.int8) {
      bool quantized = false;
      for (Node* n : graph.nodes())
        quantized |= n->op_type == "QuantizeLinear" || n->op_type == "QLinearConv";
      check(quantized,
            "--int8 on a model without Q/DQ nodes needs it quantized first (qexec --calibData, "
            "qdq-opt --quantize)");
    }
    // The FP32 engine keeps float semantics: the Q/DQ-level cleanups and
    // fusions, no integer lowering.
    const PipelineReport report = run_passes(graph, select_passes("", context.form), context);
    auto executor = ReferenceExecutor::create(
        graph, ExecutorOptions{options.isa, options.input_ranges, options.max_activation_bytes});
    if (!executor.is_ok()) throw Error(executor.status().message(), executor.status().kind());
    Engine engine{
        std::move(executor.value()), report, context.warnings, 0, options.isa, options.int8};
    for (Node* n : graph.nodes()) engine.int8_layers += is_integer_layer(*n);
    return engine;
  });
}

}  // namespace qdq
