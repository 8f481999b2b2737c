#include "passes/fold_qdq_concat.h"

#include <set>

#include "passes/pattern.h"
#include "passes/quant_pattern.h"

namespace qdq {

int FoldQdqConcat::run(Graph& graph, PassContext&) const {
  int folded = 0;
  std::set<const Node*> removed;  // the snapshot below still lists them
  for (Node* concat : graph.topological_order()) {
    if (removed.count(concat)) continue;
    if (concat->op_type != "Concat" || !concat->domain.empty() ||
        !has_single_use(concat->output(0)))
      continue;
    Node* q = concat->output(0)->consumers.front();
    const auto y = q->op_type == "QuantizeLinear" && q->domain.empty() ? per_tensor_8bit_params(q)
                                                                       : std::nullopt;
    if (!y) continue;
    bool eight_bit = true;  // every input an 8-bit per-tensor DequantizeLinear's
    for (Value* v : concat->inputs())
      eight_bit = eight_bit && per_tensor_8bit_params(producer_if(v, "DequantizeLinear"));
    if (!eight_bit) continue;
    std::vector<Value*> inputs;
    for (Value* v : concat->inputs()) {
      Node* dq = v->producer;
      if (same_quant_params(*per_tensor_8bit_params(dq), *y)) {
        inputs.push_back(dq->input(0));
        continue;
      }
      Value* requantized = graph.add_value(unique_name(graph, v->name + "_requantized"), y->type);
      requantized->shape = v->shape;
      graph.add_node("QuantizeLinear", {v, q->input(1), q->input(2)}, {requantized},
                     unique_name(graph, dq->name + "_requantize"));
      inputs.push_back(requantized);
    }
    Value* out = q->output(0);
    const std::string name = concat->name;
    Attributes attributes = concat->attributes;
    removed.insert(q);
    graph.remove_node(q);
    graph.remove_node(concat);
    graph.add_node("Concat", inputs, {out}, name)->attributes = std::move(attributes);
    ++folded;
  }
  return folded;
}

}  // namespace qdq
