#pragma once

#include "passes/pass.h"

namespace qdq {

// Folds inference BatchNormalization into the Conv or Gemm before it. When the
// conv's weight arrives as DequantizeLinear(int8 constant) — TensorRT-style QAT
// exports, after fold_constants — the BN factor goes into the per-channel weight
// scale and the int8 weights stay as they are (sign flips aside), so the folded
// model quantizes identically. A BN with no foldable producer becomes a
// per-channel Mul + Add.
class FuseBatchNorm : public Pass {
 public:
  std::string name() const override { return "fuse_batchnorm"; }
  std::string purpose() const override {
    return "fold BatchNormalization into the preceding Conv/Gemm (also into Q/DQ weight scales)";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
