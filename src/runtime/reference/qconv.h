// ai.qdq.QConv: the INT8 engine's convolution, on channels-last (NHWC) tensors,
// with its epilogue fused. passes/layout_nhwc makes it from QLinearConv and
// passes/fuse_qconv_epilogue folds the integer Clip and QLinearAdd after it.
//
// Inputs 0-8 are QLinearConv's (x, x_scale, x_zero_point, w, w_scale,
// w_zero_point, y_scale, y_zero_point, B), with x and the output NHWC and w in
// ONNX's [M, C/group, kH, kW]. Optional inputs 9-13 (r, r_scale, r_zero_point,
// sum_scale, sum_zero_point) add a residual. Per output element:
//   t = clamp(QLinearConv's y, conv_min, conv_max)                 (y's type)
//   without r: out = t
//   with r:    out = clamp(QLinearAdd(t, r), out_min, out_max)     (same type)
//   then, with a table (input 14, 256 entries of the output type):
//              out = table[byte of out]                 (ai.qdq.LookupTable)
// which is exactly QLinearConv -> Clip -> QLinearAdd -> Clip, the ops it
// replaces, so fusing changes no bit. The clamp attributes default to the
// type's range.
//
// Float epilogue (B float32): the convolution of a TensorRT-style QAT graph,
// whose output is float, with the float ops after it fused: [Add of r] ->
// [Relu/Clip] -> [QuantizeLinear]. Optional input 9 is r, float32 or 8-bit
// (then dequantized by inputs 10-11, r_scale and r_zero_point), of the
// output's shape; 12-14 absent; attributes activation_min/activation_max
// (and activation_relu) the activation, as spatial.h's ConvActivation
// applies it. Per output element, in the float steps of the ops it replaces
// (so fusing changes no bit):
//   v = float(sum (x - x_zero) * (w - w_zero)) * (x_scale * w_scale[m]) + B[m]
//   [v = v + r, or v + float(r - r_zero) * r_scale]
//   v = activation(v)
//   out = v                                  (y_scale, y_zero_point absent)
//   out = QuantizeLinear(v, y_scale, y_zero) ("float sum")
// the integer sum exact where the float graph sums in float. A float output
// without B (a plain QLinearConv-style conv read in float) takes B = 0.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "graph/quantization.h"
#include "runtime/kernels/requantize.h"
#include "runtime/reference/op_context.h"
#include "runtime/reference/spatial.h"
#include "runtime/reference/tensor_util.h"

namespace qdq {

struct QConvParams {
  ConvShape shape;  // in channels-first terms; height = geometry.in[1], width = in[2]
  DType x_type = DType::kUndefined, w_type = DType::kUndefined, y_type = DType::kUndefined;
  int32_t x_zero = 0, y_zero = 0;
  std::vector<int32_t> w_zero;     // per output channel
  std::vector<int32_t> bias;       // per output channel, 0 without B (or with a float B)
  std::vector<float> bias_float;   // float epilogue: B per output channel, 0 without it
  std::vector<float> multipliers;  // requantize_multiplier(x_scale, w_scale[m], y_scale),
                                   // or x_scale * w_scale[m] for a float epilogue
  int32_t conv_min = 0, conv_max = 0;
  struct Residual {
    float conv_scale = 1;  // the conv output's (y) scale and zero point
    int32_t conv_zero = 0;
    float scale = 1;  // r's
    int32_t zero = 0;
    float sum_scale = 1;
    int32_t sum_zero = 0;
    int32_t out_min = 0, out_max = 0;
  };
  std::optional<Residual> residual;  // float epilogue: only scale and zero (8-bit r)
  DType residual_type = DType::kUndefined;
  bool float_sum = false;  // a float epilogue with a quantized output
  float y_scale = 1;       // float sum: the final QuantizeLinear's
  ConvActivation activation{-std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::infinity(), false};
  std::vector<uint8_t> table;  // the output table's bytes, empty without one

  int64_t height() const { return shape.geometry.in[1]; }
  int64_t width() const { return shape.geometry.in[2]; }
  int64_t out_height() const { return shape.geometry.out[1]; }
  int64_t out_width() const { return shape.geometry.out[2]; }
  bool float_output() const { return y_type == DType::kFloat32; }
  bool float_epilogue() const { return float_sum || float_output(); }
  bool depthwise() const {
    return shape.group == shape.in_channels && shape.group == shape.out_channels;
  }
};

// Reads and checks the node's inputs and attributes (x must be rank 4).
QConvParams read_qconv_params(const OpContext& ctx);
// The output tensor's NHWC shape.
Shape qconv_output_shape(const QConvParams& p);

// The float epilogue of one output element from its int32 accumulator (bias
// included) and, with a residual, the residual's element (R: its type).
template <typename R>
inline float qconv_float_value(const QConvParams& p, int64_t channel, int32_t accumulator, R r) {
  const auto m = static_cast<size_t>(channel);
  float v = static_cast<float>(accumulator) * p.multipliers[m] + p.bias_float[m];
  if constexpr (std::is_same_v<R, float>) {
    if (p.residual) v = v + r;
  } else {
    if (p.residual) v = v + dequantize_value(r, p.residual->scale, p.residual->zero);
  }
  return p.activation.apply(v);
}

// The epilogue of one output element (Q: the output's type, R: the
// residual's).
template <typename Q, typename R = Q>
inline Q qconv_epilogue(const QConvParams& p, int64_t channel, int32_t accumulator, R r) {
  if constexpr (std::is_same_v<Q, float>) {
    return qconv_float_value(p, channel, accumulator, r);
  } else {
    if (p.float_sum)
      return quantize_value<Q>(qconv_float_value(p, channel, accumulator, r), p.y_scale, p.y_zero);
    int32_t t = requantize<Q>(accumulator, p.multipliers[static_cast<size_t>(channel)], p.y_zero);
    t = std::min(std::max(t, p.conv_min), p.conv_max);
    // An integer residual has the output's type (read_qconv_params checks):
    // only then is there a sum to form.
    if constexpr (std::is_same_v<Q, R>) {
      if (p.residual) {
        const QConvParams::Residual& res = *p.residual;
        const int32_t sum = quantize_value<Q>(dequantize_value(t, res.conv_scale, res.conv_zero) +
                                                  dequantize_value(r, res.scale, res.zero),
                                              res.sum_scale, res.sum_zero);
        t = std::min(std::max(sum, res.out_min), res.out_max);
      }
    }
    return static_cast<Q>(t);
  }
}

// Calls fn(Q{}, R{}) with the output's and the residual's element types
// (R = Q without a residual).
template <typename Fn>
void dispatch_epilogue_types(const OpContext& ctx, const QConvParams& p, Fn&& fn) {
  dispatch_types<uint8_t, int8_t, float>(ctx, p.y_type, [&](auto yt) {
    const DType r = p.residual ? p.residual_type : p.y_type;
    dispatch_types<uint8_t, int8_t, float>(ctx, r, [&](auto rt) { fn(yt, rt); });
  });
}

// Applies the output table, if any, to `count` outputs in place.
template <typename Q>
inline void qconv_apply_table(const QConvParams& p, Q* out, int64_t count) {
  if (p.table.empty()) return;
  for (int64_t i = 0; i < count; ++i)
    out[i] = static_cast<Q>(p.table[static_cast<uint8_t>(out[i])]);
}

// --verbose's name for the epilogue the reference runs: "integer"
// (requantization) or "float" (the float steps); the optimized kernels'
// may be a float sum's affine form (qconv_packed_form).
inline const char* qconv_epilogue_form(const QConvParams& p) {
  return !p.float_epilogue() ? "integer" : "float";
}

// The reference kernel (also what optimized kernels fall back to for the cases
// they do not pack: weight zero points other than 0, uint8 weights).
void qconv_reference(OpContext& ctx);

}  // namespace qdq
