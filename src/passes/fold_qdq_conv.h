#pragma once

#include "passes/pass.h"

namespace qdq {

// DQ(x), DQ(w) [, bias] -> Conv -> [Relu | Clip] -> Q  becomes QLinearConv
// (int32 bias = round(bias / (x_scale * w_scale[c]))) followed, when the
// activation clamps more than the output type already does, by a Clip on the
// quantized tensor: Q is monotonic and Q(0) is the zero point, so
// Q(relu(v)) = max(Q(v), zero_point) exactly. For the INT8 engine, convs with
// a float bias (QAT exports) stay: the engine adds it in float, exactly.
class FoldQdqConv : public Pass {
 public:
  std::string name() const override { return "fold_qdq_conv"; }
  std::string purpose() const override {
    return "fold DQ -> Conv -> [Relu|Clip] -> Q into QLinearConv (+ int8 Clip)";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
