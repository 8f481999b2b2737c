// Builds graphs in code: the importer's counterpart for tests and passes.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"

namespace qdq {

class GraphBuilder {
 public:
  explicit GraphBuilder(int64_t opset = 17);

  Value* input(const std::string& name, DType dtype, const Shape& shape);
  Value* constant(const std::string& name, Tensor tensor);
  // Adds a node with `output_count` fresh outputs named "<op>_<n>:<k>"; returns them.
  std::vector<Value*> add(const std::string& op_type, const std::vector<Value*>& inputs,
                          Attributes attributes = {}, size_t output_count = 1);
  // Single-output shorthand.
  Value* op(const std::string& op_type, const std::vector<Value*>& inputs,
            Attributes attributes = {});
  void output(Value* v);

  // Verifies and hands the graph over; the builder is empty afterwards.
  Graph build();

 private:
  Graph graph_;
  int counter_ = 0;
};

}  // namespace qdq
