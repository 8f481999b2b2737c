#pragma once

#include "passes/pass.h"

namespace qdq {

// The end of a TensorRT-style QAT residual block, as the layout pass leaves
// it: a float-output QConv -> [Add of a DequantizeLinear'd tensor, or of any
// float tensor of its shape] -> [Relu/Clip] -> [QuantizeLinear], ops reading
// and writing float tensors, becomes one QConv that forms that float sum per
// output element (runtime/reference/qconv.h, "float epilogue"), quantized
// when a QuantizeLinear ends the chain, else written in float (the last
// block's sum read by GlobalAveragePool; a sum with several readers). The
// same float steps as the ops it replaces: exact. The QAT models' blocks then
// run as two kernels, like the PTQ models' (issue 5's goal: QAT as fast as
// PTQ); a downsampling block's Add of two float-output convs becomes one
// conv reading the other's output.
// A QConv whose output is float (no output scale, no residual yet): what this
// pass extends.
bool is_float_output_qconv(const Node& n);

class FuseQConvFloatSum : public Pass {
 public:
  std::string name() const override { return "fuse_qconv_float_sum"; }
  std::string purpose() const override {
    return "fuse [Add] -> [Relu/Clip] -> [Q] after a float-output QConv into it (engine only)";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
