#pragma once

#include "passes/pass.h"

namespace qdq {

// A float Conv whose only reader is an Add of a tensor of the conv's own
// shape (a ResNet block's shortcut) becomes one ai.qdq.Conv that adds that
// tensor (its input 3) to each output as it writes it; fuse_conv_activation
// then takes the Relu after it. One pass over the activations fewer, two
// with the Relu. Exact: the same float add of the same two values. Engines
// only (ai.qdq is qdq's own domain), after the integer lowering.
class FuseConvResidual : public Pass {
 public:
  std::string name() const override { return "fuse_conv_residual"; }
  std::string purpose() const override {
    return "fuse the residual Add after a float Conv into the conv's output (engines only)";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
