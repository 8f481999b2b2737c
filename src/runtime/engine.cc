#include "runtime/engine.h"

#include "passes/fusion_explainer.h"
#include "passes/pipeline.h"

namespace qdq {

Result<Engine> build_engine(Graph& graph, const EngineOptions& options) {
  return catch_errors([&]() -> Engine {
    PassContext context;
    context.evaluate = evaluate_node;
    context.form = options.int8 ? PipelineForm::kEngine : PipelineForm::kFloatEngine;
    context.float_layers = options.float_layers;
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
