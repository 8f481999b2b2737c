// What a reference kernel sees: its node (for attributes and error messages),
// the model's opset, input tensors, and the outputs it must fill.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "graph/graph.h"
#include "graph/tensor.h"
#include "runtime/cpu_features.h"

namespace qdq {

// Memory the executor's plan set aside for one output: `bytes` at `storage`.
// What ran a layer: the code's level, for kernels that have more than one
// form of a layer (the QConv epilogues) which form, and where not the direct
// sums, which algorithm (the AVX2 QConv's "winograd"); --verbose says all.
struct KernelRun {
  Isa isa = Isa::kRef;
  const char* form = nullptr;
  const char* algorithm = nullptr;
};

struct PlannedBuffer {
  std::shared_ptr<void> storage;
  size_t bytes = 0;
};

class OpContext {
 public:
  // `outputs` (one per node output, empty) is the caller's, as `inputs` is:
  // the executor keeps both between runs so that a context allocates nothing.
  OpContext(const Node& node, int64_t opset, std::span<const Tensor* const> inputs,
            std::span<Tensor> outputs, std::shared_ptr<void>* state = nullptr,
            const std::vector<PlannedBuffer>* plan = nullptr, KernelRun* ran = nullptr)
      : node_(node),
        opset_(opset),
        inputs_(inputs),
        outputs_(outputs),
        state_(state),
        plan_(plan),
        ran_(ran) {}

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
  // Output i as a tensor of `dtype` and `shape` whose every element the kernel
  // will write: the executor's planned memory when it has some of that size
  // (no allocation, contents left over), else a new tensor.
  Tensor& allocate_output(size_t i, DType dtype, Shape shape) {
    const size_t bytes = static_cast<size_t>(element_count(shape)) * dtype_size(dtype);
    if (plan_ && i < plan_->size() && (*plan_)[i].storage && (*plan_)[i].bytes == bytes)
      outputs_[i] = Tensor(dtype, std::move(shape), (*plan_)[i].storage);
    else
      outputs_[i] = Tensor(dtype, std::move(shape));
    if (i < 64) allocated_ |= uint64_t{1} << i;
    return outputs_[i];
  }
  // Whether output i came from allocate_output (the memory plan may own it;
  // it plans the first 64 outputs of a node, enough for any model's).
  bool allocated(size_t i) const { return i < 64 && (allocated_ >> i & 1); }
  std::span<Tensor> outputs() { return outputs_; }

  // Per-node storage that lives as long as the executor: optimized kernels keep
  // their packed weights here, made on the first run. nullptr when evaluating a
  // node once (constant folding).
  std::shared_ptr<void>* state() const { return state_; }

  // A kernel that leaves this layer to a lower level's code says so (the AMX
  // QConv runs small layers with AVX-512 VNNI's tiles): --verbose and the
  // profile report the code that ran.
  void ran_at(Isa isa) const {
    if (ran_) ran_->isa = isa;
  }
  // A kernel with more than one form of a layer says which ran (a static
  // string: a run allocates nothing).
  void ran_form(const char* form) const {
    if (ran_) ran_->form = form;
  }
  // A kernel with another algorithm than the direct one says which (a static
  // string), or nullptr where it ran the direct one.
  void ran_algorithm(const char* algorithm) const {
    if (ran_) ran_->algorithm = algorithm;
  }

  [[noreturn]] void error(const std::string& why) const { fail(node_.describe() + ": " + why); }
  void require(bool condition, std::string_view why) const {
    if (!condition) error(std::string(why));
  }
  // The message built only when the condition fails: kernels check their
  // inputs on every run, and a message concatenated each time costs more
  // than a small layer's arithmetic.
  template <typename Why>
  requires std::is_invocable_r_v<std::string, Why>
  void require(bool condition, Why&& why) const {
    if (!condition) error(why());
  }

 private:
  const Node& node_;
  int64_t opset_;
  std::span<const Tensor* const> inputs_;
  std::span<Tensor> outputs_;
  std::shared_ptr<void>* state_;
  const std::vector<PlannedBuffer>* plan_;
  KernelRun* ran_;
  uint64_t allocated_ = 0;  // bit i: output i came from allocate_output
};

using ReferenceKernel = void (*)(OpContext&);

}  // namespace qdq
