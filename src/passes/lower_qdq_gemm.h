#pragma once

#include "passes/pass.h"

namespace qdq {

// Gemm(DQ(x), DQ(w) [, bias]) and MatMul(DQ(x), DQ(w)) over a 2-D x and a
// constant 8-bit w become a 1x1 Conv on x reshaped to [N, K, 1, 1], followed
// by the QuantizeLinear that read the product (moved in front of the
// Reshape back to [N, M]). The arithmetic is the same sums in the same
// units, so the conv lowering (fold_qdq_conv) then makes the classifier of a
// CNN an integer convolution with the conv kernels' exactness and speed,
// instead of a float Gemm on weights dequantized at every run (ResNet-50's
// fc: a third of its INT8 time).
class LowerQdqGemm : public Pass {
 public:
  std::string name() const override { return "lower_qdq_gemm"; }
  std::string purpose() const override {
    return "turn Gemm/MatMul on dequantized 8-bit inputs into a 1x1 Conv between Reshapes";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
