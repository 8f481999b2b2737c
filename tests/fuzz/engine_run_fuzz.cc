// Fuzz target: ONNX bytes -> import -> the FP32 engine and, for a quantized
// model, the INT8 engine (every pass, the kernels of this CPU) -> one run on
// seeded random inputs. Every input must end in outputs or an error value:
// the passes and kernels see graphs no exporter writes. Weights and
// activations are capped small so one input stays well inside the timeout.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "graph/onnx_import.h"
#include "runtime/engine.h"
#include "runtime/inputs.h"
#include "runtime/reference/registry.h"

namespace {

constexpr size_t kMaxWeightBytes = size_t{1} << 22;
constexpr size_t kMaxActivationBytes = size_t{1} << 24;
constexpr int64_t kMaxInputElements = int64_t{1} << 16;

void build_and_run(std::string_view bytes, bool int8) {
  qdq::ImportOptions options = qdq::runtime_import_options();
  options.max_weight_bytes = kMaxWeightBytes;
  auto imported = qdq::import_onnx_bytes(bytes, "/nonexistent-qdq-fuzz", options);
  if (!imported.is_ok()) return;
  qdq::Graph& graph = imported->graph;
  std::map<std::string, qdq::Shape> shapes;
  try {  // dynamic dims as 1; inputs the reference kernels finish quickly
    std::map<std::string, qdq::Shape> ones;
    for (const qdq::Value* v : graph.inputs()) {
      if (!v->shape) return;
      qdq::Shape s;
      for (const qdq::Dim& d : *v->shape) s.push_back(d.is_known() ? d.size : 1);
      ones[v->name] = s;
    }
    shapes = qdq::resolve_input_shapes(graph, ones, 0);
    for (const auto& [name, shape] : shapes)
      if (qdq::element_count(shape) > kMaxInputElements) return;
  } catch (const qdq::Error&) {
    return;
  }
  qdq::EngineOptions engine_options{int8, qdq::selected_isa(), {}, kMaxActivationBytes, {}};
  auto engine = qdq::build_engine(graph, engine_options);
  if (!engine.is_ok()) return;
  std::map<std::string, qdq::Tensor> inputs;
  uint32_t seed = 1;
  try {
    for (const qdq::Value* v : graph.inputs())
      inputs[v->name] = qdq::random_tensor(v->dtype, shapes.at(v->name), seed++);
  } catch (const qdq::Error&) {
    return;
  }
  (void)engine->executor.run(inputs);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  build_and_run(bytes, false);
  build_and_run(bytes, true);  // refused cleanly when there is nothing to quantize
  return 0;
}
