// Window geometry shared by Conv and the pools: kernel, strides, dilations,
// pads (explicit or auto_pad), output size. One to three spatial dims; fewer
// are padded to three with size-1 dims so each kernel has one loop nest.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <utility>

#include "runtime/reference/op_context.h"

namespace qdq {

struct SpatialGeometry {
  int rank = 0;  // spatial dims of the tensor (1..3)
  std::array<int64_t, 3> in{1, 1, 1}, kernel{1, 1, 1}, stride{1, 1, 1}, dilation{1, 1, 1};
  std::array<int64_t, 3> pad_begin{0, 0, 0}, pad_end{0, 0, 0}, out{1, 1, 1};

  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
};

// input_shape is [N, C, spatial...]; kernel_shape the window's spatial dims.
// ceil_mode is the pools' (Conv passes false).
SpatialGeometry make_spatial_geometry(const OpContext& ctx, const Shape& input_shape,
                                      std::span<const int64_t> kernel_shape, bool ceil_mode);

// A convolution's operands and result: batch, channels, group and the window
// geometry, checked against the weight's shape.
struct ConvShape {
  SpatialGeometry geometry;
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  Shape output_shape;
};

ConvShape conv_shape(const OpContext& ctx, const Tensor& x, const Tensor& w);

// The output columns [begin, end) whose window tap k2 (along the last spatial
// dim) lands inside the input row: the direct convolution loops' bounds.
// Not inline: the AVX2 kernels' files call it too, and must not leave their
// own AVX2 copy of it for the linker to pick.
struct ColumnRange {
  int64_t begin, end;
};
ColumnRange tap_columns(const SpatialGeometry& g, int64_t k2);

// The Relu/Clip a convolution has fused (ai.qdq.Conv, ai.qdq.QConv):
// attributes activation_min/activation_max, unbounded where absent, applied
// in the steps of the op it replaced, so fusing changes no bit: Clip's
// min(max(v, lo), hi) keeps a NaN and a -0; with activation_relu = 1, Relu's
// v > lo ? v : lo makes both lo.
struct ConvActivation {
  float lo, hi;
  bool relu;
  bool bounded() const;
  // Ternaries, not std::max/min: also inlined into the ISA-targeted kernels.
  float apply(float v) const {
    v = relu ? (v > lo ? v : lo) : (v < lo ? lo : v);
    return hi < v ? hi : v;
  }
};
ConvActivation conv_activation(const Attributes& attrs);
// Applies it to `count` values in place (out of line, for the AVX2 files).
void apply_conv_activation(const ConvActivation& activation, float* values, int64_t count);
// ai.qdq.Conv's input 3, added to its output before the clamp: a float32
// tensor of the output's shape, or nullptr where there is none.
const Tensor* conv_residual(const OpContext& ctx, const Shape& output_shape);
// The same from shapes: x_shape channels-first ([N, C, spatial...]).
ConvShape conv_shape(const OpContext& ctx, const Shape& x_shape, const Shape& w_shape);

}  // namespace qdq
