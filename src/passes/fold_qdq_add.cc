#include "passes/fold_qdq_add.h"

#include "passes/pattern.h"
#include "passes/quant_pattern.h"

namespace qdq {

int FoldQdqAdd::run(Graph& graph, PassContext&) const {
  int folded = 0;
  for (Node* q : graph.topological_order()) {
    if (q->op_type != "QuantizeLinear" || !q->domain.empty()) continue;
    Node* add = producer_if(q->input(0), "Add");
    if (!add || !has_single_use(add->output(0))) continue;
    Node* a_dq = producer_if(add->input(0), "DequantizeLinear");
    Node* b_dq = producer_if(add->input(1), "DequantizeLinear");
    auto a = per_tensor_8bit_params(a_dq), b = per_tensor_8bit_params(b_dq),
         c = per_tensor_8bit_params(q);
    if (!a || !b || !c || a->type != b->type || a->type != c->type) continue;
    std::vector<Value*> inputs = {a_dq->input(0),
                                  a->scale,
                                  zero_point_value(graph, *a, a_dq->name + "_zero"),
                                  b_dq->input(0),
                                  b->scale,
                                  zero_point_value(graph, *b, b_dq->name + "_zero"),
                                  c->scale,
                                  zero_point_value(graph, *c, q->name + "_zero")};
    Value* out = q->output(0);
    const std::string name = add->name;
    graph.remove_node(q);
    graph.remove_node(add);
    graph.add_node("QLinearAdd", inputs, {out}, name)->domain = "com.microsoft";
    ++folded;
  }
  return folded;
}

}  // namespace qdq
