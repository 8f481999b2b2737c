#pragma once

#include "passes/pass.h"

namespace qdq {

// An Add between a quantized convolution's float output and a float tensor
// that is quantized for another reader (pytorch-quantization without residual
// quantizers: the block input goes to the next conv through Q/DQ and to the
// Add as it is) reads that tensor through the same Q and a DequantizeLinear
// of its parameters instead: TensorRT's rule, which lets the add read the
// 8-bit tensor inside the conv's epilogue (fuse_qconv_float_sum). Not exact:
// the identity is rounded to its quantizer's step, so the pass says so in a
// warning (the models' top-1 change is in models/README.md), and only
// qdq-opt runs it: the engines fuse the add exactly, reading the float
// identity (a quarter slower on resnet20.qat_noresq, 0.32 vs 0.28 ms).
class InsertResidualQdq : public Pass {
 public:
  std::string name() const override { return "insert_residual_qdq"; }
  std::string purpose() const override {
    return "read a residual Add's float input through the Q/DQ its other reader uses (inexact)";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
