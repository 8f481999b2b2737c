#include "graph/verifier.h"

#include <algorithm>

namespace qdq {

void verify_graph(const Graph& graph) {
  for (Node* n : graph.nodes()) {
    for (Value* in : n->inputs()) {
      if (!in) continue;
      check(
          in->producer || in->is_constant() || in->is_graph_input,
          n->describe() + ": input '" + in->name + "' has no producer, initializer or graph input");
      check(std::find(in->consumers.begin(), in->consumers.end(), n) != in->consumers.end(),
            n->describe() + ": input '" + in->name + "' does not list it as a consumer",
            ErrorKind::kInternal);
    }
    for (Value* out : n->outputs())
      check(out && out->producer == n, n->describe() + ": output link broken",
            ErrorKind::kInternal);
  }
  for (Value* v : graph.outputs())
    check(v->producer || v->is_constant() || v->is_graph_input,
          "graph output '" + v->name + "' is never computed");
  for (Value* v : graph.inputs())
    check(!v->is_constant(), "graph input '" + v->name + "' is also a constant");
  graph.topological_order();  // throws on a cycle
}

}  // namespace qdq
