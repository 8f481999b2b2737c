#pragma once

#include "passes/pass.h"

namespace qdq {

// Runs ONNX's shape inference again on the graph as it is now, and keeps the
// shapes it finds that the graph did not know. Import infers shapes once, but a
// shape computed by a subgraph (the CIFAR ResNets' shortcut Pad takes its pads
// from ConstantOfShape/Concat/Reshape) is known only after fold_constants made
// it a constant; the matchers that need equal shapes (a residual add fused into
// a conv) would otherwise see unknown dims. Runs only while some value's shape
// has a dim that is neither a number nor one of the graph inputs' named dims.
class InferShapes : public Pass {
 public:
  std::string name() const override { return "infer_shapes"; }
  std::string purpose() const override {
    return "re-run ONNX shape inference where folding made shapes computable";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
