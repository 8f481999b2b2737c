#include "passes/infer_shapes.h"

#include <set>

#include "graph/onnx_export.h"
#include "graph/onnx_shape_inference.h"
#include "graph/onnx_tensor.h"
#include "onnx/onnx_pb.h"

namespace qdq {
namespace {

// How many of the dims are known: a size, or a symbol the graph inputs name.
int resolved_dims(const SymbolicShape& shape, const std::set<std::string>& input_symbols) {
  int resolved = 0;
  for (const Dim& d : shape) resolved += d.is_known() || input_symbols.count(d.symbol) != 0;
  return resolved;
}

bool fully_resolved(const Value* v, const std::set<std::string>& input_symbols) {
  return v->shape && resolved_dims(*v->shape, input_symbols) == static_cast<int>(v->shape->size());
}

}  // namespace

int InferShapes::run(Graph& graph, PassContext&) const {
  std::set<std::string> input_symbols;
  for (const Value* in : graph.inputs())
    if (in->shape)
      for (const Dim& d : *in->shape)
        if (!d.symbol.empty()) input_symbols.insert(d.symbol);
  bool unresolved = false;
  for (const Node* n : graph.nodes())
    for (const Value* out : n->outputs()) unresolved |= !fully_resolved(out, input_symbols);
  if (!unresolved) return 0;

  onnx::ModelProto model;
  try {
    export_onnx_proto(graph, &model);
    infer_shapes_guarded(model);
  } catch (const std::exception&) {
    return 0;  // as at import: the executor computes every shape at run time anyway
  }
  int refined = 0;
  for (const auto& info : model.graph().value_info()) {
    Value* v = graph.find_value(info.name());
    if (!v || !info.type().has_tensor_type() || !info.type().tensor_type().has_shape()) continue;
    SymbolicShape inferred = shape_from_onnx(info.type().tensor_type().shape());
    const bool better = !v->shape || (v->shape->size() == inferred.size() &&
                                      resolved_dims(inferred, input_symbols) >
                                          resolved_dims(*v->shape, input_symbols));
    if (!better) continue;
    v->shape = std::move(inferred);
    ++refined;
  }
  return refined;
}

}  // namespace qdq
