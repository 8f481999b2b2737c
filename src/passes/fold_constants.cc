#include "passes/fold_constants.h"

#include "passes/pattern.h"

namespace qdq {
namespace {

// Folding would only bloat the file (a broadcast constant) past this size.
constexpr size_t kMaxFoldedBytes = size_t{64} << 20;

bool keeps_quantized_form(const Node& n) {
  if (n.op_type != "DequantizeLinear") return false;
  const DType t = n.input(0)->dtype;
  return t == DType::kInt8 || t == DType::kUInt8 || t == DType::kInt32;
}

bool fold_static_shape(Graph& graph, Node* n) {
  if (n->op_type != "Shape" || !n->input(0)->shape || n->output(0)->is_graph_output) return false;
  auto shape = static_shape(*n->input(0)->shape);
  if (!shape) return false;
  const int64_t rank = static_cast<int64_t>(shape->size());
  auto clamp_dim = [rank](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
  const int64_t start = clamp_dim(n->attributes.get_int("start", 0));
  const int64_t end = std::max(start, clamp_dim(n->attributes.get_int("end", rank)));
  std::vector<int64_t> dims(shape->begin() + start, shape->begin() + end);
  Value* out = n->output(0);
  graph.remove_node(n);
  out->constant = Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims);
  out->dtype = DType::kInt64;
  out->shape = to_symbolic(out->constant->shape());
  return true;
}

}  // namespace

int FoldConstants::run(Graph& graph, PassContext& context) const {
  int folded = 0;
  for (Node* n : graph.topological_order()) {
    if (fold_static_shape(graph, n)) {
      ++folded;
      continue;
    }
    if (!context.evaluate || !n->domain.empty() || keeps_quantized_form(*n)) continue;
    std::vector<const Tensor*> inputs;
    bool all_constant = true;
    for (Value* in : n->inputs()) {
      if (in && !in->is_constant()) all_constant = false;
      inputs.push_back(in ? constant_of(in) : nullptr);
    }
    bool exported = false;
    for (Value* out : n->outputs()) exported |= out->is_graph_output;
    if (!all_constant || exported) continue;
    std::vector<Tensor> results;
    try {
      results = context.evaluate(*n, inputs, graph.opset);
    } catch (const Error&) {
      continue;  // an op the evaluator refuses stays; the engine reports it
    }
    size_t bytes = 0;
    for (const Tensor& t : results) bytes += t.nbytes();
    if (bytes > kMaxFoldedBytes) continue;
    const std::vector<Value*> outputs = n->outputs();
    graph.remove_node(n);
    for (size_t k = 0; k < outputs.size(); ++k) {
      outputs[k]->dtype = results[k].dtype();
      outputs[k]->shape = to_symbolic(results[k].shape());
      outputs[k]->constant = std::move(results[k]);
    }
    ++folded;
  }
  return folded;
}

}  // namespace qdq
