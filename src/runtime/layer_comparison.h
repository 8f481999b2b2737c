// Layer-by-layer comparison of two runs on the same inputs: the INT8 engine
// against a reference (the FP32 model, or the Q/DQ model in ONNX's reference
// semantics). Every node output of both runs is recorded as float in NCHW
// (8-bit values dequantized with the parameters their graph gives them,
// channels-last twins transposed back), then tensors are paired by name and
// measured: SQNR, cosine similarity, largest absolute error. "Which layer loses
// the accuracy" is the first tensor whose SQNR drops.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "runtime/reference/executor.h"

namespace qdq {

struct RecordedTensor {
  const Node* layer;  // the node that produced it
  size_t order;       // position in the run (execution order)
  Shape shape;        // NCHW
  std::vector<float> values;
};
// By tensor name, channels-last twins under their NCHW name.
using RecordedTensors = std::map<std::string, RecordedTensor>;

// Records the outputs of every node of a run (ReferenceExecutor::set_observer)
// and turns them into float tensors afterwards, when the parameters of every
// 8-bit value are known: a QAT export computes its scales in the graph, so
// they are outputs of the same run. Outputs that cannot be read as float
// (8-bit values whose scale their graph does not state, int64 shapes) are
// left out.
class TensorRecorder {
 public:
  ReferenceExecutor::NodeObserver observer();
  RecordedTensors tensors() const;

 private:
  struct Output {
    const Node* node;
    const Value* value;
    Tensor tensor;
  };
  std::vector<Output> outputs_;
  std::map<const Value*, size_t> by_value_;
};

// For each QuantizeLinear of `model`: its output's name -> its input's name.
// An engine tensor that quantizes X is compared with the reference's X when
// the reference has no tensor of its own name (an FP32 model).
std::map<std::string, std::string> quantized_tensor_sources(const Graph& model);

struct TensorDifference {
  std::string tensor;  // the reference's name for it
  const Node* layer;   // the engine node that produced it
  size_t order;        // the engine's execution order
  int64_t elements;
  double sqnr_db;  // 10 log10(sum r^2 / sum (e - r)^2); +inf when equal
  double cosine;   // e.r / (|e| |r|); 1 when both are zero
  double max_abs_error;
};

// Pairs the engine's tensors with the reference's (same name, else the float
// tensor it quantizes) and measures each pair of equal shape; in the engine's
// execution order, one entry per reference tensor.
std::vector<TensorDifference> compare_tensors(
    const RecordedTensors& engine, const RecordedTensors& reference,
    const std::map<std::string, std::string>& quantized_sources);

}  // namespace qdq
