#pragma once

#include "passes/pass.h"

namespace qdq {

// ai.qdq.QConv -> [Clip] -> [QLinearAdd] -> [Clip] -> [LookupTable] becomes one
// QConv whose epilogue clamps, adds the residual (TensorRT's conv + add + relu
// fusion) and looks its results up,
// so a ResNet block is two kernels and its intermediate tensors are never
// written. Exact: QConv's epilogue is defined as that chain of ops
// (runtime/reference/qconv.h).
class FuseQConvEpilogue : public Pass {
 public:
  std::string name() const override { return "fuse_qconv_epilogue"; }
  std::string purpose() const override {
    return "fold the integer Clip and QLinearAdd after a QConv into its epilogue";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
