#pragma once

#include "passes/pass.h"

namespace qdq {

// The INT8 engine's layout choice, made here rather than inside kernels:
// QLinearConv with int8 weights of zero point 0 becomes ai.qdq.QConv on
// channels-last (NHWC) tensors, where a 1x1 convolution is a plain GEMM and a
// 3x3 window reads whole channel vectors; so does Conv(DQ(x), DQ(w)) whose
// output stays float (TensorRT-style QAT), as a QConv with a float output. The
// element-wise ops between convolutions (QLinearAdd, Add, Clip, Relu, per-tensor
// Q/DQ) and the 8-bit data movers (MaxPool, Slice, Pad) follow them into NHWC,
// so Transposes are left only where the graph
// enters and leaves the channels-last region.
// Engine form only: ai.qdq ops are qdq's own.
// The Transposes this pass places where the graph enters and leaves the
// channels-last region are named after the value they convert plus these.
inline constexpr const char* kToNhwcSuffix = "_to_nhwc";
inline constexpr const char* kToNchwSuffix = "_to_nchw";
// A value's channels-last twin is named after it plus this.
inline constexpr const char* kChannelsLastTwinSuffix = "_nhwc";
bool is_layout_conversion(const Node& n);

class LayoutNhwc : public Pass {
 public:
  std::string name() const override { return "layout_nhwc"; }
  std::string purpose() const override {
    return "run integer convolutions channels-last (ai.qdq.QConv), Transposes at the edges";
  }
  int run(Graph& graph, PassContext& context) const override;
};

}  // namespace qdq
