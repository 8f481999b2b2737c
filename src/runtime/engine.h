// Building an engine from an imported graph: the INT8 path lowers Q/DQ groups
// to integer operators (the qoperator pipeline) and runs them with the best
// kernels the CPU has; the FP32 path runs the graph as written, Q/DQ simulated
// exactly as ONNX defines it.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "passes/pass_manager.h"
#include "runtime/reference/executor.h"

namespace qdq {

struct EngineOptions {
  bool int8 = false;
  Isa isa = Isa::kRef;                             // kernel level for the INT8 path
  std::map<std::string, ShapeRange> input_ranges;  // --minShapes/--maxShapes
  size_t max_activation_bytes = 0;                 // ExecutorOptions'
  std::set<std::string> float_layers;              // PassContext's: quantized layers kept in FP32
};

struct Engine {
  ReferenceExecutor executor;
  PipelineReport passes;              // empty for the FP32 path
  std::vector<std::string> warnings;  // from the passes
  size_t int8_layers = 0;             // layers computing on quantized tensors
  Isa isa = Isa::kRef;
  bool int8 = false;  // the INT8 path (else FP32, Q/DQ simulated)
};

// Rewrites `graph` in place for the INT8 path; `graph` must outlive the engine.
Result<Engine> build_engine(Graph& graph, const EngineOptions& options);

}  // namespace qdq
