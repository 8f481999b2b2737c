#include "passes/fold_qdq_global_pool.h"

#include <set>

#include "passes/pattern.h"
#include "passes/quant_pattern.h"

namespace qdq {

int FoldQdqGlobalPool::run(Graph& graph, PassContext&) const {
  int folded = 0;
  std::set<const Node*> removed;  // the snapshot below still lists them
  for (Node* pool : graph.topological_order()) {
    if (removed.count(pool)) continue;
    if (pool->domain != "ai.qdq" || pool->op_type != "GlobalAveragePool") continue;
    // The DQ and the Q may come in different rounds of the pipeline (the
    // layout pass leaves its conversions for dead-code elimination).
    Node* dq =
        pool->inputs().size() == 1 ? producer_if(pool->input(0), "DequantizeLinear") : nullptr;
    const auto x = per_tensor_8bit_params(dq);
    Node* q = pool->inputs().size() <= 3 && has_single_use(pool->output(0))
                  ? pool->output(0)->consumers.front()
                  : nullptr;
    const auto y = q && q->op_type == "QuantizeLinear" && q->domain.empty()
                       ? per_tensor_8bit_params(q)
                       : std::nullopt;
    if (!x && !y) continue;
    std::vector<Value*> inputs = pool->inputs();
    if (x) inputs = {dq->input(0), x->scale, zero_point_value(graph, *x, dq->name + "_zero")};
    if (y) {
      inputs.resize(3, nullptr);
      inputs.push_back(y->scale);
      inputs.push_back(zero_point_value(graph, *y, q->name + "_zero"));
    }
    Value* out = y ? q->output(0) : pool->output(0);
    const std::string name = pool->name;
    if (y) {
      removed.insert(q);
      graph.remove_node(q);
    }
    graph.remove_node(pool);
    graph.add_node("GlobalAveragePool", inputs, {out}, name)->domain = "ai.qdq";
    ++folded;
  }
  return folded;
}

}  // namespace qdq
