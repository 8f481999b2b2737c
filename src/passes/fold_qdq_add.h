#pragma once

#include "passes/pass.h"

namespace qdq {

// Q(Add(DQ(a), DQ(b))) with per-tensor constant parameters becomes
// com.microsoft.QLinearAdd (ONNX Runtime's contrib op; qdq computes it with the
// same float steps as the Q/DQ group, so the result does not change).
class FoldQdqAdd : public Pass {
 public:
  std::string name() const override { return "fold_qdq_add"; }
  std::string purpose() const override {
    return "fold DQ -> Add -> Q into QLinearAdd (com.microsoft)";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
