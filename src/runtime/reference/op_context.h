// What a reference kernel sees: its node (for attributes and error messages),
// the model's opset, input tensors, and the outputs it must fill.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/tensor.h"

namespace qdq {

class OpContext {
 public:
  OpContext(const Node& node, int64_t opset, std::vector<const Tensor*> inputs,
            std::shared_ptr<void>* state = nullptr)
      : node_(node),
        opset_(opset),
        inputs_(std::move(inputs)),
        outputs_(node.outputs().size()),
        state_(state) {}

  const Node& node() const { return node_; }
  const Attributes& attrs() const { return node_.attributes; }
  int64_t opset() const { return opset_; }

  size_t input_count() const { return inputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  const Tensor& input(size_t i) const {
    if (!has_input(i)) error("input " + std::to_string(i) + " is required");
    return *inputs_[i];
  }
  const Tensor* optional_input(size_t i) const { return has_input(i) ? inputs_[i] : nullptr; }

  size_t output_count() const { return outputs_.size(); }
  Tensor& output(size_t i) { return outputs_[i]; }
  std::vector<Tensor>& outputs() { return outputs_; }

  // Per-node storage that lives as long as the executor: optimized kernels keep
  // their packed weights here, made on the first run. nullptr when evaluating a
  // node once (constant folding).
  std::shared_ptr<void>* state() const { return state_; }

  [[noreturn]] void error(const std::string& why) const { fail(node_.describe() + ": " + why); }
  void require(bool condition, const std::string& why) const {
    if (!condition) error(why);
  }

 private:
  const Node& node_;
  int64_t opset_;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor> outputs_;
  std::shared_ptr<void>* state_;
};

using ReferenceKernel = void (*)(OpContext&);

}  // namespace qdq
