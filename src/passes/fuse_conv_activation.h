#pragma once

#include "passes/pass.h"

namespace qdq {

// A float Conv whose only reader is a Relu or a Clip with constant bounds
// becomes one ai.qdq.Conv that clamps its output to [activation_min,
// activation_max] as it writes it: the FP32 engine's bias + ReLU epilogue,
// one pass over the activations fewer per layer. Exact: the clamp takes the
// replaced op's steps (a Relu's with activation_relu). Runs in the engines only (ai.qdq is qdq's
// own domain), last, so the integer lowering has taken every conv it can.
class FuseConvActivation : public Pass {
 public:
  std::string name() const override { return "fuse_conv_activation"; }
  std::string purpose() const override {
    return "fuse the Relu/Clip after a float Conv into the conv's output (engines only)";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
