#include "passes/eliminate_dead_code.h"

#include <algorithm>

#include "passes/pattern.h"

namespace qdq {
namespace {

bool is_passthrough(const Node& n) {
  if (!n.domain.empty()) return false;
  if (n.op_type == "Identity") return true;
  if (n.op_type != "Dropout") return false;
  // The mask output must be unread and training_mode absent or constant false.
  if (n.outputs().size() > 1 && (!n.output(1)->consumers.empty() || n.output(1)->is_graph_output))
    return false;
  const Value* training = n.input(2);
  return !training || (training->is_constant() && training->constant->scalar_as_double() == 0.0);
}

}  // namespace

int EliminateDeadCode::run(Graph& graph, PassContext&) const {
  int removed = 0;
  for (Node* n : graph.topological_order()) {
    if (!is_passthrough(*n) || n->output(0)->is_graph_output) continue;
    replace_all_uses(graph, n->output(0), n->input(0));
    graph.remove_node(n);
    ++removed;
  }
  auto order = graph.topological_order();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* n = *it;
    const bool unread = std::all_of(n->outputs().begin(), n->outputs().end(), [](const Value* v) {
      return v->consumers.empty() && !v->is_graph_output;
    });
    if (unread) {
      graph.remove_node(n);
      ++removed;
    }
  }
  return removed;
}

}  // namespace qdq
