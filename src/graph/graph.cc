#include "graph/graph.h"

#include <algorithm>
#include <deque>
#include <unordered_set>

namespace qdq {

std::string Node::describe() const {
  return op_type + " '" + (name.empty() ? (outputs_.empty() ? "?" : outputs_[0]->name) : name) +
         "'";
}

Value* Graph::add_value(const std::string& value_name, DType dtype) {
  check(!value_name.empty(), "value with an empty name");
  check(!values_by_name_.count(value_name), "value '" + value_name + "' is defined twice");
  auto v = std::make_unique<Value>();
  v->name = value_name;
  v->dtype = dtype;
  Value* raw = v.get();
  values_.push_back(std::move(v));
  values_by_name_[value_name] = raw;
  return raw;
}

Value* Graph::add_constant(const std::string& value_name, Tensor tensor) {
  Value* v = add_value(value_name, tensor.dtype());
  v->shape = to_symbolic(tensor.shape());
  v->constant = std::move(tensor);
  return v;
}

Node* Graph::add_node(const std::string& op_type, const std::vector<Value*>& node_inputs,
                      const std::vector<Value*>& node_outputs, const std::string& node_name) {
  auto n = std::make_unique<Node>();
  n->op_type = op_type;
  n->name = node_name;
  n->inputs_ = node_inputs;
  n->outputs_ = node_outputs;
  for (Value* in : node_inputs)
    if (in) in->consumers.push_back(n.get());
  for (Value* out : node_outputs) {
    check(out != nullptr, "node " + n->describe() + " has an empty output");
    check(out->producer == nullptr && !out->is_constant() && !out->is_graph_input,
          "value '" + out->name + "' is produced twice");
    out->producer = n.get();
  }
  nodes_.push_back(std::move(n));
  return nodes_.back().get();
}

void Graph::add_input(Value* v) {
  v->is_graph_input = true;
  inputs_.push_back(v);
}

void Graph::add_output(Value* v) {
  v->is_graph_output = true;
  outputs_.push_back(v);
}

static void erase_one(std::vector<Node*>& list, Node* n) {
  auto it = std::find(list.begin(), list.end(), n);
  if (it != list.end()) list.erase(it);
}

void Graph::remove_node(Node* node) {
  for (Value* in : node->inputs_)
    if (in) erase_one(in->consumers, node);
  for (Value* out : node->outputs_) out->producer = nullptr;
  std::erase_if(nodes_, [node](const std::unique_ptr<Node>& n) { return n.get() == node; });
}

void Graph::replace_input(Node* node, size_t index, Value* v) {
  check(index < node->inputs_.size(), "replace_input: index out of range", ErrorKind::kInternal);
  if (Value* old = node->inputs_[index]) erase_one(old->consumers, node);
  node->inputs_[index] = v;
  if (v) v->consumers.push_back(node);
}

int Graph::prune_values() {
  const size_t before = values_.size();
  std::erase_if(values_, [this](const std::unique_ptr<Value>& v) {
    const bool dead =
        !v->producer && v->consumers.empty() && !v->is_graph_input && !v->is_graph_output;
    if (dead) values_by_name_.erase(v->name);
    return dead;
  });
  return static_cast<int>(before - values_.size());
}

Value* Graph::find_value(const std::string& value_name) const {
  auto it = values_by_name_.find(value_name);
  return it == values_by_name_.end() ? nullptr : it->second;
}

std::vector<Node*> Graph::nodes() const {
  std::vector<Node*> out;
  out.reserve(nodes_.size());
  for (const auto& n : nodes_) out.push_back(n.get());
  return out;
}

std::vector<Node*> Graph::topological_order() const {
  std::unordered_map<const Node*, size_t> pending;
  std::deque<Node*> ready;
  for (const auto& n : nodes_) {
    size_t count = 0;
    for (Value* in : n->inputs_)
      if (in && in->producer) ++count;
    pending[n.get()] = count;
    if (count == 0) ready.push_back(n.get());
  }
  std::vector<Node*> order;
  order.reserve(nodes_.size());
  while (!ready.empty()) {
    Node* n = ready.front();
    ready.pop_front();
    order.push_back(n);
    for (Value* out : n->outputs_) {
      // A consumer reading `out` twice (Add(x, x)) is listed twice: visit it once.
      std::unordered_set<Node*> seen;
      for (Node* c : out->consumers) {
        if (!seen.insert(c).second) continue;
        for (Value* in : c->inputs_)
          if (in == out && --pending[c] == 0) ready.push_back(c);
      }
    }
  }
  if (order.size() != nodes_.size()) {
    for (const auto& n : nodes_)
      if (pending[n.get()] != 0) fail("graph has a cycle through node " + n->describe());
  }
  return order;
}

SymbolicShape to_symbolic(const Shape& shape) {
  SymbolicShape s;
  for (int64_t d : shape) s.push_back(Dim{d, ""});
  return s;
}

std::optional<Shape> static_shape(const SymbolicShape& shape) {
  Shape s;
  for (const Dim& d : shape) {
    if (!d.is_known()) return std::nullopt;
    s.push_back(d.size);
  }
  return s;
}

std::string symbolic_shape_to_string(const SymbolicShape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i].is_known() ? std::to_string(shape[i].size)
                             : (shape[i].symbol.empty() ? "?" : shape[i].symbol);
  }
  return s + "]";
}

}  // namespace qdq
