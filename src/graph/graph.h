// The IR: a Graph owns Values (typed, shaped edges, possibly constant) and Nodes
// (an op with attributes, reading and writing Values). Producer/consumer links
// are kept by Graph's mutators so passes can walk both ways.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/attribute.h"
#include "graph/tensor.h"

namespace qdq {

class Node;

// A dimension is a known size or a named symbol ("batch", "N") or unknown.
struct Dim {
  int64_t size = -1;  // -1: not known statically
  std::string symbol;
  bool is_known() const { return size >= 0; }
};
using SymbolicShape = std::vector<Dim>;

struct Value {
  std::string name;
  DType dtype = DType::kUndefined;
  std::optional<SymbolicShape> shape;  // nullopt: rank unknown
  std::optional<Tensor> constant;      // initializer or folded constant
  Node* producer = nullptr;
  std::vector<Node*> consumers;
  bool is_graph_input = false;
  bool is_graph_output = false;

  bool is_constant() const { return constant.has_value(); }
};

class Node {
 public:
  std::string name;
  std::string op_type;
  std::string domain;  // "" for the default ONNX domain
  Attributes attributes;

  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  // Optional inputs ONNX leaves empty are nullptr.
  Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  Value* output(size_t i) const { return i < outputs_.size() ? outputs_[i] : nullptr; }
  // "Conv 'conv1'" — how errors name a node.
  std::string describe() const;

 private:
  friend class Graph;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;

  std::string name;
  int64_t opset = 17;  // default-domain opset the model imports
  int64_t ir_version = 8;
  std::string producer;  // "pytorch 2.11", "onnx.quantize 0.1.0", ...

  Value* add_value(const std::string& name, DType dtype = DType::kUndefined);
  Value* add_constant(const std::string& name, Tensor tensor);
  Node* add_node(const std::string& op_type, const std::vector<Value*>& inputs,
                 const std::vector<Value*>& outputs, const std::string& name = "");
  void add_input(Value* v);
  void add_output(Value* v);
  void remove_node(Node* node);
  void replace_input(Node* node, size_t index, Value* v);
  // Drops values nothing produces, reads or exports (left behind by rewrites).
  // Returns how many went.
  int prune_values();

  Value* find_value(const std::string& name) const;
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  std::vector<Node*> nodes() const;
  size_t node_count() const { return nodes_.size(); }
  // Kahn's algorithm; throws when the graph has a cycle.
  std::vector<Node*> topological_order() const;

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Value>> values_;
  std::unordered_map<std::string, Value*> values_by_name_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
};

SymbolicShape to_symbolic(const Shape& shape);
// The static shape if every dim is known.
std::optional<Shape> static_shape(const SymbolicShape& shape);
std::string symbolic_shape_to_string(const SymbolicShape& shape);

}  // namespace qdq
