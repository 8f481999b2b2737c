#include "runtime/reference/spatial.h"

#include <algorithm>
#include <limits>

namespace qdq {

SpatialGeometry make_spatial_geometry(const OpContext& ctx, const Shape& input_shape,
                                      std::span<const int64_t> kernel_shape, bool ceil_mode) {
  SpatialGeometry g;
  const int64_t rank = static_cast<int64_t>(input_shape.size()) - 2;
  ctx.require(rank >= 1 && rank <= 3, [&] {
    return "expects an input of rank 3 to 5, got " + shape_to_string(input_shape);
  });
  ctx.require(static_cast<int64_t>(kernel_shape.size()) == rank, [&] {
    return "kernel_shape has " + std::to_string(kernel_shape.size()) + " dims for " +
           std::to_string(rank) + " spatial dims";
  });
  g.rank = static_cast<int>(rank);
  const auto& a = ctx.attrs();
  // Read in place (no copies: the FP32 kernels come here on every run); an
  // absent list is empty and takes its default below.
  auto list = [&](const char* name, int64_t count) {
    const std::span<const int64_t> values = a.ints(name);
    ctx.require(!a.has(name) || static_cast<int64_t>(values.size()) == count,
                "strides/dilations/pads do not match the spatial rank");
    return values;
  };
  const auto strides = list("strides", rank), dilations = list("dilations", rank);
  const auto pads = list("pads", 2 * rank);
  const std::string auto_pad = a.get_string("auto_pad", "NOTSET");
  // Spatial dims sit at the end of the padded-to-3 arrays.
  const int offset = 3 - g.rank;
  for (int i = 0; i < g.rank; ++i) {
    const int j = offset + i;
    g.in[j] = input_shape[2 + i];
    g.kernel[j] = kernel_shape[i];
    g.stride[j] = strides.empty() ? 1 : strides[i];
    g.dilation[j] = dilations.empty() ? 1 : dilations[i];
    ctx.require(g.kernel[j] >= 1 && g.stride[j] >= 1 && g.dilation[j] >= 1,
                "kernel, strides and dilations must be positive");
    const int64_t extent = (g.kernel[j] - 1) * g.dilation[j] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (g.in[j] + g.stride[j] - 1) / g.stride[j];
      const int64_t total = std::max<int64_t>(0, (out - 1) * g.stride[j] + extent - g.in[j]);
      g.pad_begin[j] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g.pad_end[j] = total - g.pad_begin[j];
    } else if (auto_pad == "VALID") {
      g.pad_begin[j] = g.pad_end[j] = 0;
    } else {
      ctx.require(auto_pad == "NOTSET", [&] { return "unknown auto_pad '" + auto_pad + "'"; });
      g.pad_begin[j] = pads.empty() ? 0 : pads[i];
      g.pad_end[j] = pads.empty() ? 0 : pads[i + rank];
      ctx.require(g.pad_begin[j] >= 0 && g.pad_end[j] >= 0, "negative pads are not supported");
    }
    const int64_t span = g.in[j] + g.pad_begin[j] + g.pad_end[j] - extent;
    ctx.require(span >= 0, [&] {
      return "window of extent " + std::to_string(extent) + " is larger than the padded input " +
             shape_to_string(input_shape);
    });
    if (ceil_mode) {
      g.out[j] = (span + g.stride[j] - 1) / g.stride[j] + 1;
      // The last window must start inside the input or its leading pad.
      if ((g.out[j] - 1) * g.stride[j] >= g.in[j] + g.pad_begin[j]) --g.out[j];
    } else {
      g.out[j] = span / g.stride[j] + 1;
    }
  }
  return g;
}

ConvShape conv_shape(const OpContext& ctx, const Shape& x, const Shape& w) {
  ConvShape s;
  ctx.require(x.size() >= 3 && w.size() == x.size(), [&] {
    return "input " + shape_to_string(x) + " and weight " + shape_to_string(w) +
           " ranks do not fit a convolution";
  });
  s.batch = x[0];
  s.in_channels = x[1];
  s.out_channels = w[0];
  s.group = ctx.attrs().get_int("group", 1);
  ctx.require(s.group >= 1 && s.in_channels % s.group == 0 && s.out_channels % s.group == 0,
              [&] { return "group " + std::to_string(s.group) + " does not divide the channels"; });
  ctx.require(w[1] * s.group == s.in_channels, [&] {
    return "weight " + shape_to_string(w) + " does not fit input channels " +
           std::to_string(s.in_channels) + " with group " + std::to_string(s.group);
  });
  const std::span<const int64_t> kernel(w.begin() + 2, w.end());
  const std::span<const int64_t> declared = ctx.attrs().ints("kernel_shape");
  ctx.require(!ctx.attrs().has("kernel_shape") || std::ranges::equal(declared, kernel),
              "kernel_shape attribute disagrees with the weight's shape");
  s.geometry = make_spatial_geometry(ctx, x, kernel, false);
  s.output_shape = {s.batch, s.out_channels};
  for (int i = 3 - s.geometry.rank; i < 3; ++i) s.output_shape.push_back(s.geometry.out[i]);
  return s;
}

ConvShape conv_shape(const OpContext& ctx, const Tensor& x, const Tensor& w) {
  return conv_shape(ctx, x.shape(), w.shape());
}

ColumnRange tap_columns(const SpatialGeometry& g, int64_t k2) {
  const int64_t offset = k2 * g.dilation[2] - g.pad_begin[2];
  const int64_t begin = offset >= 0 ? 0 : (-offset + g.stride[2] - 1) / g.stride[2];
  const int64_t end = g.in[2] - offset <= 0 ? 0 : (g.in[2] - 1 - offset) / g.stride[2] + 1;
  return {begin, std::min(end, g.out[2])};
}

bool ConvActivation::bounded() const {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  return relu || lo > -kInf || hi < kInf;
}

ConvActivation conv_activation(const Attributes& attrs) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  return {attrs.get_float("activation_min", -kInf), attrs.get_float("activation_max", kInf),
          attrs.get_int("activation_relu", 0) != 0};
}

const Tensor* conv_residual(const OpContext& ctx, const Shape& output_shape) {
  // ONNX's Conv has three inputs: a fourth is ai.qdq.Conv's alone.
  const Tensor* residual = ctx.node().domain == "ai.qdq" ? ctx.optional_input(3) : nullptr;
  ctx.require(
      !residual || (residual->dtype() == DType::kFloat32 && residual->shape() == output_shape),
      [&] {
        return "the residual (input 3) must be float32 of the output's shape " +
               shape_to_string(output_shape);
      });
  return residual;
}

void apply_conv_activation(const ConvActivation& activation, float* values, int64_t count) {
  if (!activation.bounded()) return;
  for (int64_t i = 0; i < count; ++i) values[i] = activation.apply(values[i]);
}

}  // namespace qdq
