#include "passes/remove_redundant_qdq.h"

#include "passes/pattern.h"
#include "passes/quant_pattern.h"

namespace qdq {

int RemoveRedundantQdq::run(Graph& graph, PassContext&) const {
  int removed = 0;
  for (Node* q : graph.topological_order()) {
    if (q->op_type != "QuantizeLinear" || !q->domain.empty() || q->output(0)->is_graph_output)
      continue;
    Node* dq = producer_if(q->input(0), "DequantizeLinear");
    if (!dq) continue;
    auto qp = constant_quant_params(*q);
    auto dqp = constant_quant_params(*dq);
    if (!qp || !dqp || !same_quant_params(*qp, *dqp)) continue;
    replace_all_uses(graph, q->output(0), dq->input(0));
    graph.remove_node(q);
    ++removed;
  }
  return removed;
}

}  // namespace qdq
