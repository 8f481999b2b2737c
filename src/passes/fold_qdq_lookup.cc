#include "passes/fold_qdq_lookup.h"

#include <set>

#include "passes/pattern.h"
#include "passes/quant_pattern.h"

namespace qdq {
namespace {

// The table's 256 inputs: entry i holds the 8-bit value whose byte is i.
Tensor every_value(DType type) {
  Tensor t(type, {256});
  for (int i = 0; i < 256; ++i) static_cast<uint8_t*>(t.raw())[i] = static_cast<uint8_t>(i);
  return t;
}

// Runs `n` on `x` (its first input) with its other inputs as in the graph.
Tensor evaluate(const PassContext& context, const Graph& graph, const Node& n, const Tensor& x) {
  std::vector<const Tensor*> inputs = {&x};
  for (size_t i = 1; i < n.inputs().size(); ++i)
    inputs.push_back(n.input(i) ? &*n.input(i)->constant : nullptr);
  return context.evaluate(n, inputs, graph.opset)[0];
}

}  // namespace

bool has_lookup_form(const Node& n) {
  static const std::set<std::string> kOps = {"Relu",        "Clip",      "LeakyRelu", "Sigmoid",
                                             "HardSigmoid", "HardSwish", "Abs"};
  if (!n.domain.empty() || !kOps.count(n.op_type) || n.outputs().size() != 1) return false;
  for (size_t i = 1; i < n.inputs().size(); ++i)  // Clip's bounds
    if (n.input(i) && !n.input(i)->is_constant()) return false;
  return true;
}

int FoldQdqLookup::run(Graph& graph, PassContext& context) const {
  if (!context.evaluate) return 0;
  int folded = 0;
  std::set<const Node*> removed;
  for (Node* q : graph.topological_order()) {
    if (removed.count(q) || q->op_type != "QuantizeLinear" || !q->domain.empty() ||
        !per_tensor_8bit_params(q))
      continue;
    std::vector<Node*> chain;  // the float ops, last first
    Value* v = q->input(0);
    while (v->producer && has_lookup_form(*v->producer) && has_single_use(v)) {
      chain.push_back(v->producer);
      v = v->producer->input(0);
    }
    Node* dq = producer_if(v, "DequantizeLinear");
    const auto x_params = per_tensor_8bit_params(dq);
    // No ops between: a requantization (equal parameters cancel instead,
    // remove_redundant_qdq).
    if (!x_params || (chain.empty() && same_quant_params(*x_params, *per_tensor_8bit_params(q))))
      continue;
    // The zero point's type is the quantized type (an imported model's values
    // carry it too, graphs built in code need not).
    Tensor table = evaluate(context, graph, *dq, every_value(constant_quant_params(*dq)->type));
    for (auto it = chain.rbegin(); it != chain.rend(); ++it)
      table = evaluate(context, graph, **it, table);
    table = evaluate(context, graph, *q, table);
    Value* x = dq->input(0);
    Value* out = q->output(0);
    const std::string name = chain.empty() ? q->name : chain.back()->name;
    for (Node* n : chain) removed.insert(n);
    removed.insert(q);
    graph.remove_node(q);
    for (Node* n : chain) graph.remove_node(n);
    graph
        .add_node("LookupTable", {x, add_constant(graph, name + "_table", std::move(table))}, {out},
                  name)
        ->domain = "ai.qdq";
    ++folded;
  }
  return folded;
}

}  // namespace qdq
