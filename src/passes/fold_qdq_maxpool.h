#pragma once

#include "passes/pass.h"

namespace qdq {

// DQ(x) -> MaxPool -> Q with the same per-tensor 8-bit scale and zero point
// becomes MaxPool on x itself: dequantizing is increasing (scale > 0), so the
// maximum commutes with it, and Q(DQ(v)) = v. Exact, valid ONNX from opset 12
// (8-bit MaxPool), which ONNX Runtime runs too. The ResNet stem's pool
// otherwise runs in float between two conversions (issue 5's ResNet-50 profile).
class FoldQdqMaxPool : public Pass {
 public:
  std::string name() const override { return "fold_qdq_maxpool"; }
  std::string purpose() const override {
    return "run MaxPool between a DQ and a Q of the same parameters on the 8-bit tensor";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
