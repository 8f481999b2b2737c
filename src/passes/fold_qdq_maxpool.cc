#include "passes/fold_qdq_maxpool.h"

#include "passes/pattern.h"
#include "passes/quant_pattern.h"

namespace qdq {

int FoldQdqMaxPool::run(Graph& graph, PassContext&) const {
  if (graph.opset < 12) return 0;  // MaxPool takes 8-bit tensors from opset 12
  int folded = 0;
  for (Node* q : graph.topological_order()) {
    if (q->op_type != "QuantizeLinear" || !q->domain.empty()) continue;
    const auto q_params = per_tensor_8bit_params(q);
    Node* pool = producer_if(q->input(0), "MaxPool");
    if (!q_params || !pool || !pool->domain.empty() || pool->outputs().size() != 1 ||
        !has_single_use(pool->output(0)))
      continue;
    Node* dq = producer_if(pool->input(0), "DequantizeLinear");
    const auto dq_params = per_tensor_8bit_params(dq);
    if (!dq_params || !same_quant_params(*dq_params, *q_params)) continue;
    Value* x = dq->input(0);
    Value* out = q->output(0);
    const std::string name = pool->name;
    Attributes attributes = pool->attributes;
    graph.remove_node(q);
    graph.remove_node(pool);  // the DQ stays while others read it
    graph.add_node("MaxPool", {x}, {out}, name)->attributes = std::move(attributes);
    ++folded;
  }
  return folded;
}

}  // namespace qdq
