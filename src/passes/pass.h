// A graph pass: a named rewrite with a one-line purpose, reporting how many
// places it changed. Passes see only the IR; anything that must evaluate an op
// (constant folding) gets an evaluator from the caller, so the passes layer
// never depends on the runtime.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace qdq {

// Computes a node's outputs from constant inputs (the runtime's reference
// kernels, in practice). Throws qdq::Error when it cannot.
using ConstantEvaluator = std::function<std::vector<Tensor>(
    const Node&, const std::vector<const Tensor*>&, int64_t opset)>;

// What the rewritten graph is for, each form adding passes to the one before.
// kQdq keeps standard Q/DQ form (cleaned and folded) for other runtimes;
// kQOperator also lowers Q/DQ groups to integer operators (QLinearConv, ...);
// kEngine also applies the INT8 engine's layout and fusions (qdq's own ai.qdq
// ops), the form the engine runs. kFloatEngine is the FP32 engine's: kQdq's
// passes that keep the model's results and the engine passes that keep float
// semantics (float_engine).
enum class PipelineForm { kQdq, kQOperator, kEngine, kFloatEngine };

struct PassContext {
  ConstantEvaluator evaluate;              // may be empty: folding passes then do nothing
  std::vector<std::string> warnings;       // things a user should know (inexact rewrites)
  PipelineForm form = PipelineForm::kQdq;  // what the graph is rewritten for
  // Quantized convolutions and matrix products (by node name) the lowering
  // passes leave in float: qexec --best measured them faster in FP32.
  std::set<std::string> float_layers;
};

class Pass {
 public:
  virtual ~Pass() = default;
  virtual std::string name() const = 0;
  virtual std::string purpose() const = 0;
  // Rewrites `graph` in place; returns the number of rewrites made.
  virtual int run(Graph& graph, PassContext& context) const = 0;
};

}  // namespace qdq
