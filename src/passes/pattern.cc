#include "passes/pattern.h"

#include <algorithm>
#include <limits>

namespace qdq {

Node* producer_if(const Value* v, const std::string& op_type) {
  if (!v || !v->producer || v->producer->op_type != op_type || !v->producer->domain.empty())
    return nullptr;
  return v->producer;
}

void fuse_into_engine_conv(Graph& graph, Node* conv, Node* reader, std::vector<Value*> inputs,
                           Attributes attributes) {
  Value* out = reader->output(0);
  const std::string name = conv->name;
  graph.remove_node(reader);
  graph.remove_node(conv);
  Node* fused = graph.add_node("Conv", inputs, {out}, name);
  fused->domain = "ai.qdq";
  fused->attributes = std::move(attributes);
}

bool has_single_use(const Value* v) {
  if (v->is_graph_output || v->consumers.size() != 1) return false;
  const Node* c = v->consumers[0];
  return std::count(c->inputs().begin(), c->inputs().end(), v) == 1;
}

bool same_shape(const Value* a, const Value* b) {
  if (!a->shape || !b->shape || a->shape->size() != b->shape->size()) return false;
  for (size_t i = 0; i < a->shape->size(); ++i) {
    const Dim &x = (*a->shape)[i], &y = (*b->shape)[i];
    const bool same = x.is_known() ? x.size == y.size : !x.symbol.empty() && x.symbol == y.symbol;
    if (!same) return false;
  }
  return true;
}

const Tensor* constant_of(const Value* v) { return v && v->constant ? &*v->constant : nullptr; }

std::optional<double> constant_scalar(const Value* v) {
  const Tensor* t = constant_of(v);
  if (!t || t->numel() != 1) return std::nullopt;
  return t->scalar_as_double();
}

std::string unique_name(const Graph& graph, const std::string& base) {
  if (!graph.find_value(base)) return base;
  for (int i = 1;; ++i) {
    std::string name = base + "_" + std::to_string(i);
    if (!graph.find_value(name)) return name;
  }
}

Value* add_constant(Graph& graph, const std::string& base, Tensor tensor) {
  return graph.add_constant(unique_name(graph, base), std::move(tensor));
}

void replace_all_uses(Graph& graph, Value* from, Value* to) {
  check(!from->is_graph_output, "replace_all_uses: '" + from->name + "' is a graph output",
        ErrorKind::kInternal);
  const std::vector<Node*> consumers = from->consumers;
  for (Node* c : consumers)
    for (size_t i = 0; i < c->inputs().size(); ++i)
      if (c->inputs()[i] == from) graph.replace_input(c, i, to);
}

std::optional<std::pair<float, float>> activation_bounds(const Node& n) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (!n.domain.empty()) return std::nullopt;
  if (n.op_type == "Relu") return std::pair{0.0f, kInf};
  if (n.op_type != "Clip") return std::nullopt;
  // Clip < 11 has attributes, later ones optional constant inputs.
  std::pair bounds{n.attributes.get_float("min", -kInf), n.attributes.get_float("max", kInf)};
  for (size_t i = 1; i < 3; ++i) {
    if (!n.input(i)) continue;
    const auto bound = constant_scalar(n.input(i));
    if (!bound) return std::nullopt;
    (i == 1 ? bounds.first : bounds.second) = static_cast<float>(*bound);
  }
  return bounds;
}

}  // namespace qdq
