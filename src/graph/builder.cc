#include "graph/builder.h"

#include "graph/verifier.h"

namespace qdq {

GraphBuilder::GraphBuilder(int64_t opset) { graph_.opset = opset; }

Value* GraphBuilder::input(const std::string& name, DType dtype, const Shape& shape) {
  Value* v = graph_.add_value(name, dtype);
  v->shape = to_symbolic(shape);
  graph_.add_input(v);
  return v;
}

Value* GraphBuilder::constant(const std::string& name, Tensor tensor) {
  return graph_.add_constant(name, std::move(tensor));
}

std::vector<Value*> GraphBuilder::add(const std::string& op_type, const std::vector<Value*>& inputs,
                                      Attributes attributes, size_t output_count) {
  const std::string base = op_type + "_" + std::to_string(counter_++);
  std::vector<Value*> outputs;
  for (size_t k = 0; k < output_count; ++k)
    outputs.push_back(graph_.add_value(base + ":" + std::to_string(k)));
  Node* n = graph_.add_node(op_type, inputs, outputs, base);
  n->attributes = std::move(attributes);
  return outputs;
}

Value* GraphBuilder::op(const std::string& op_type, const std::vector<Value*>& inputs,
                        Attributes attributes) {
  return add(op_type, inputs, std::move(attributes))[0];
}

void GraphBuilder::output(Value* v) { graph_.add_output(v); }

Graph GraphBuilder::build() {
  verify_graph(graph_);
  Graph out = std::move(graph_);
  graph_ = Graph();
  graph_.opset = out.opset;
  return out;
}

}  // namespace qdq
