// Choosing precision by measurement. qexec --best builds the INT8 engine and
// the FP32 engine of the same model, times every layer of both on the same
// inputs, keeps in FP32 the quantized convolutions whose FP32 form ran faster,
// and returns the fastest of the engines so made (INT8, mixed, FP32), timed
// side by side. The same timing tells qexec --int8 to warn when its engine is
// not faster than the FP32 one.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/engine.h"
#include "runtime/timing.h"

namespace qdq {

// A fresh copy of the model (as imported, quantized if it had to be) per call.
using ModelSource = std::function<Graph()>;

struct BuiltEngine {
  std::unique_ptr<Graph> graph;  // the engine reads it: keep it alive with it
  Engine engine;
};
Result<BuiltEngine> build_engine_from(const ModelSource& model, const EngineOptions& options);

// Median latency over a short timing, after one untimed run.
double median_latency_ms(Engine& engine, const std::map<std::string, Tensor>& inputs,
                         const TimingOptions& timing);

struct BestEngine {
  BuiltEngine chosen;
  std::string precision;                  // "int8", "mixed" or "fp32"
  std::vector<std::string> float_layers;  // quantized layers chosen to run in FP32
  std::vector<std::string> log;           // what was measured, for --verbose
};
// `options.int8` is ignored: every precision is tried. The FP32 engine is
// built from `float_model` (the FP32 file an FP32 model was quantized from;
// a quantized file itself otherwise), the others from `model`.
Result<BestEngine> build_best_engine(const ModelSource& model, const ModelSource& float_model,
                                     const EngineOptions& options,
                                     const std::map<std::string, Tensor>& inputs,
                                     const TimingOptions& timing);

}  // namespace qdq
