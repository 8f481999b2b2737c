#pragma once

#include "passes/pass.h"

namespace qdq {

// DQ(x) -> op -> Q with the same per-tensor 8-bit scale and zero point becomes
// op on x itself, for the ops that only move or select values: MaxPool (the
// maximum commutes with dequantizing, an increasing map since scale > 0),
// Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Slice, and Pad (its fill
// value c becomes Q(c)); Relu and Clip become a Clip to [Q(lo), Q(hi)] (ONNX
// Runtime's s8s8 files quantize the conv output and the Relu output alike).
// Q(DQ(v)) = v, so the result is exact. Each runs 8-bit tensors from the
// opset it names (MaxPool 12), so the output is valid ONNX that ONNX Runtime runs too. Without it
// ResNet-50's stem pool and its classifier's Flatten run in float between conversions, and the
// CIFAR ResNets' "option A" shortcuts (Slice + zero Pad) too.
// True for an op this pass runs on 8-bit tensors at `opset`.
bool moves_8bit_values(const Node& n, int64_t opset);

class FoldQdqPassthrough : public Pass {
 public:
  std::string name() const override { return "fold_qdq_passthrough"; }
  std::string purpose() const override {
    return "run MaxPool/Reshape/Flatten/Transpose/Squeeze/Unsqueeze/Slice/Pad/Relu/Clip between a "
           "DQ "
           "and a Q of the same parameters on the 8-bit tensor";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
