// Convolution family: Conv (float; ai.qdq.Conv also clamps its output, the
// FP32 engine's fused activation), ConvInteger and QLinearConv (integer, exact).
// One direct loop nest serves all three: the integer ones subtract zero points
// and accumulate in int32; padding contributes nothing in either case (a padded
// uint8 input equals its zero point, so x - x_zero_point = 0).
#include <algorithm>

#include "runtime/kernels/requantize.h"
#include "runtime/reference/quant_params.h"
#include "runtime/reference/registry.h"
#include "runtime/reference/spatial.h"
#include "runtime/reference/tensor_util.h"
#include "support/parallel.h"

namespace qdq {
namespace {

// out[n][m][...] += sum over the group's input channels and the window of
// (w - w_zero[m]) * (x - x_zero). `out` arrives holding the bias.
template <typename TX, typename TW, typename TAcc>
void conv_accumulate(const ConvShape& s, const TX* x, TAcc x_zero, const TW* w,
                     const std::vector<TAcc>& w_zero, TAcc* out) {
  const SpatialGeometry& g = s.geometry;
  const int64_t cg = s.in_channels / s.group;
  const int64_t mg = s.out_channels / s.group;
  const int64_t ksize = g.kernel_size();
  parallel_for(s.batch * s.out_channels, true, [&](int64_t plane) {
    const int64_t n = plane / s.out_channels, m = plane % s.out_channels;
    const int64_t grp = m / mg;
    TAcc* o = out + (n * s.out_channels + m) * g.out_size();
    for (int64_t c = 0; c < cg; ++c) {
      const TX* xc = x + (n * s.in_channels + grp * cg + c) * g.in_size();
      const TW* wc = w + (m * cg + c) * ksize;
      for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0)
        for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1)
          for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2) {
            const TAcc wv =
                static_cast<TAcc>(wc[(k0 * g.kernel[1] + k1) * g.kernel[2] + k2]) - w_zero[m];
            const int64_t off2 = k2 * g.dilation[2] - g.pad_begin[2];
            const ColumnRange columns = tap_columns(g, k2);
            for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
              const int64_t i0 = o0 * g.stride[0] - g.pad_begin[0] + k0 * g.dilation[0];
              if (i0 < 0 || i0 >= g.in[0]) continue;
              for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
                const int64_t i1 = o1 * g.stride[1] - g.pad_begin[1] + k1 * g.dilation[1];
                if (i1 < 0 || i1 >= g.in[1]) continue;
                const TX* row = xc + (i0 * g.in[1] + i1) * g.in[2];
                TAcc* orow = o + (o0 * g.out[1] + o1) * g.out[2];
                for (int64_t o2 = columns.begin; o2 < columns.end; ++o2)
                  orow[o2] += wv * (static_cast<TAcc>(row[o2 * g.stride[2] + off2]) - x_zero);
              }
            }
          }
    }
  });
}

void fill_bias(const OpContext& ctx, const ConvShape& s, const Tensor* bias, auto* out) {
  if (!bias) return;
  using T = std::remove_pointer_t<decltype(out)>;
  ctx.require(bias->numel() == s.out_channels && bias->dtype() == dtype_of<T>(), [&] {
    return "bias must be " + std::string(dtype_name(dtype_of<T>())) + " of " +
           std::to_string(s.out_channels) + " values";
  });
  const int64_t plane = s.geometry.out_size();
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t m = 0; m < s.out_channels; ++m)
      std::fill_n(out + (n * s.out_channels + m) * plane, plane, bias->data<T>()[m]);
}

void conv(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  ctx.require(x.dtype() == DType::kFloat32 && w.dtype() == DType::kFloat32,
              "expects float32 input and weight");
  ConvShape s = conv_shape(ctx, x, w);
  Tensor y(DType::kFloat32, s.output_shape);
  fill_bias(ctx, s, ctx.optional_input(2), y.data<float>());
  conv_accumulate<float, float, float>(s, x.data<float>(), 0.0f, w.data<float>(),
                                       std::vector<float>(s.out_channels, 0.0f), y.data<float>());
  ctx.output(0) = std::move(y);
}

// ai.qdq.Conv: Conv, plus its input 3 if present (fuse_conv_residual's
// Add), then clamped to [activation_min, activation_max]
// (fuse_conv_activation's Relu or Clip).
void conv_clamped(OpContext& ctx) {
  conv(ctx);
  Tensor& y = ctx.output(0);
  if (const Tensor* residual = conv_residual(ctx, y.shape()))
    for (int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] += residual->data<float>()[i];
  apply_conv_activation(conv_activation(ctx.attrs()), y.data<float>(), y.numel());
}

// Runs the integer loop nest for any uint8/int8 pairing of input and weight.
void integer_conv(const OpContext& ctx, const ConvShape& s, const Tensor& x, int32_t x_zero,
                  const Tensor& w, const std::vector<int32_t>& w_zero, int32_t* acc) {
  dispatch_quantized_pair(ctx, x.dtype(), w.dtype(), [&](auto xt, auto wt) {
    using TX = decltype(xt);
    using TW = decltype(wt);
    conv_accumulate<TX, TW, int32_t>(s, x.data<TX>(), x_zero, w.data<TW>(), w_zero, acc);
  });
}

void conv_integer(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  ConvShape s = conv_shape(ctx, x, w);
  const int32_t x_zero = read_zero_point(ctx, ctx.optional_input(2), "x_zero_point");
  auto w_zero = read_zero_points(ctx, ctx.optional_input(3), s.out_channels, "w_zero_point");
  Tensor y(DType::kInt32, s.output_shape);
  integer_conv(ctx, s, x, x_zero, w, w_zero, y.data<int32_t>());
  ctx.output(0) = std::move(y);
}

void qlinear_conv(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(3);
  ConvShape s = conv_shape(ctx, x, w);
  const float x_scale = read_scale(ctx, ctx.input(1), "x_scale");
  const int32_t x_zero = read_zero_point(ctx, &ctx.input(2), "x_zero_point");
  auto w_scale = read_scales(ctx, ctx.input(4), s.out_channels, "w_scale");
  auto w_zero = read_zero_points(ctx, &ctx.input(5), s.out_channels, "w_zero_point");
  const float y_scale = read_scale(ctx, ctx.input(6), "y_scale");
  Tensor acc(DType::kInt32, s.output_shape);
  fill_bias(ctx, s, ctx.optional_input(8), acc.data<int32_t>());
  integer_conv(ctx, s, x, x_zero, w, w_zero, acc.data<int32_t>());
  const int64_t plane = s.geometry.out_size();
  ctx.output(0) = requantize_accumulators(ctx, acc, ctx.input(7), [&](int64_t i) {
    return requantize_multiplier(x_scale, w_scale[(i / plane) % s.out_channels], y_scale);
  });
}

}  // namespace

void add_conv_ops(ReferenceOpTable& table) {
  table["Conv"] = conv;
  table["ai.qdq.Conv"] = conv_clamped;
  table["ConvInteger"] = conv_integer;
  table["QLinearConv"] = qlinear_conv;
}

}  // namespace qdq
