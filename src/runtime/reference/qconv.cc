#include "runtime/reference/qconv.h"

#include <algorithm>
#include <limits>

#include "runtime/reference/quant_params.h"
#include "runtime/reference/registry.h"
#include "runtime/reference/tensor_util.h"
#include "support/parallel.h"

namespace qdq {
namespace {

template <typename Q>
std::pair<int32_t, int32_t> clamp_attributes(const OpContext& ctx, const char* lo, const char* hi) {
  const int64_t type_lo = std::numeric_limits<Q>::min(), type_hi = std::numeric_limits<Q>::max();
  const int64_t a = ctx.attrs().get_int(lo, type_lo), b = ctx.attrs().get_int(hi, type_hi);
  ctx.require(a <= b, [&] { return std::string(lo) + " exceeds " + hi; });
  return {static_cast<int32_t>(std::max(a, type_lo)), static_cast<int32_t>(std::min(b, type_hi))};
}

// The float epilogue's parameters (see qconv.h), after the shapes and y's.
void read_float_epilogue(const OpContext& ctx, float x_scale, const std::vector<float>& w_scale,
                         QConvParams& p) {
  const int64_t m = p.shape.out_channels;
  p.bias_float.assign(static_cast<size_t>(m), 0.0f);
  if (const Tensor* b = ctx.optional_input(8)) {
    ctx.require(b->dtype() == DType::kFloat32 && b->numel() == m,
                "a float bias must be float32, one value per output channel");
    std::copy_n(b->data<float>(), m, p.bias_float.begin());
  }
  for (int64_t i = 0; i < m; ++i)
    p.multipliers.push_back(x_scale * w_scale[static_cast<size_t>(i)]);
  p.activation = conv_activation(ctx.attrs());
  ctx.require(p.activation.lo <= p.activation.hi, "activation_min exceeds activation_max");
  ctx.require(!ctx.has_input(12) && !ctx.has_input(13) && !ctx.has_input(14),
              "a float epilogue takes no sum parameters and no table");
  if (!ctx.has_input(9)) {
    ctx.require(!ctx.has_input(10) && !ctx.has_input(11), "r_scale without a residual");
    return;
  }
  const Tensor& r = ctx.input(9);
  ctx.require(r.dtype() == DType::kFloat32 || is_8bit(r.dtype()),
              "the residual must be float32, uint8 or int8");
  ctx.require(r.shape() == qconv_output_shape(p), [&] {
    return "residual shape " + shape_to_string(r.shape()) + " differs from the output's";
  });
  p.residual_type = r.dtype();
  QConvParams::Residual res;
  if (r.dtype() == DType::kFloat32) {
    ctx.require(!ctx.has_input(10) && !ctx.has_input(11),
                "a float residual takes no r_scale or r_zero_point");
  } else {
    res.scale = read_scale(ctx, ctx.input(10), "r_scale");
    res.zero = read_zero_point(ctx, &ctx.input(11), "r_zero_point");
  }
  p.residual = res;
}

}  // namespace

QConvParams read_qconv_params(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(3);
  ctx.require(x.rank() == 4 && w.rank() == 4, "expects a 4-D NHWC input and a 4-D weight");
  QConvParams p;
  p.shape = conv_shape(ctx, Shape{x.dim(0), x.dim(3), x.dim(1), x.dim(2)}, w.shape());
  const int64_t m = p.shape.out_channels;
  p.x_type = x.dtype();
  p.w_type = w.dtype();
  const float x_scale = read_scale(ctx, ctx.input(1), "x_scale");
  p.x_zero = read_zero_point(ctx, &ctx.input(2), "x_zero_point");
  const auto w_scale = read_scales(ctx, ctx.input(4), m, "w_scale");
  p.w_zero = read_zero_points(ctx, &ctx.input(5), m, "w_zero_point");
  p.bias.assign(static_cast<size_t>(m), 0);
  if (!ctx.has_input(6)) {  // float output
    ctx.require(!ctx.has_input(7), "a float output takes no y_zero_point");
    p.y_type = DType::kFloat32;
    read_float_epilogue(ctx, x_scale, w_scale, p);
    return p;
  }
  p.y_type = ctx.input(7).dtype();
  const float y_scale = read_scale(ctx, ctx.input(6), "y_scale");
  p.y_zero = read_zero_point(ctx, &ctx.input(7), "y_zero_point");
  if (ctx.has_input(8) && ctx.input(8).dtype() == DType::kFloat32) {
    p.float_sum = true;
    p.y_scale = y_scale;
    dispatch_types<uint8_t, int8_t>(ctx, p.y_type, [&](auto tag) {
      using Q = decltype(tag);
      p.conv_min = std::numeric_limits<Q>::min();
      p.conv_max = std::numeric_limits<Q>::max();
    });
    read_float_epilogue(ctx, x_scale, w_scale, p);
    return p;
  }
  if (const Tensor* b = ctx.optional_input(8)) {
    ctx.require(b->dtype() == DType::kInt32 && b->numel() == m,
                "bias must be int32, one per output channel");
    std::copy_n(b->data<int32_t>(), m, p.bias.begin());
  }
  for (int64_t i = 0; i < m; ++i)
    p.multipliers.push_back(
        requantize_multiplier(x_scale, w_scale[static_cast<size_t>(i)], y_scale));
  dispatch_types<uint8_t, int8_t>(ctx, p.y_type, [&](auto tag) {
    using Q = decltype(tag);
    std::tie(p.conv_min, p.conv_max) = clamp_attributes<Q>(ctx, "conv_min", "conv_max");
    if (const Tensor* table = ctx.optional_input(14)) {
      ctx.require(table->dtype() == p.y_type && table->numel() == 256,
                  "the output table must hold 256 values of the output's type");
      const auto* bytes = static_cast<const uint8_t*>(table->raw());
      p.table.assign(bytes, bytes + 256);
    }
    if (!ctx.has_input(9)) return;
    const Tensor& r = ctx.input(9);
    ctx.require(r.dtype() == p.y_type && ctx.input(13).dtype() == p.y_type,
                "the residual and the sum must have the output's type");
    ctx.require(r.shape() == qconv_output_shape(p), [&] {
      return "residual shape " + shape_to_string(r.shape()) + " differs from the output's";
    });
    QConvParams::Residual res;
    res.conv_scale = y_scale;
    res.conv_zero = p.y_zero;
    res.scale = read_scale(ctx, ctx.input(10), "r_scale");
    res.zero = read_zero_point(ctx, &ctx.input(11), "r_zero_point");
    res.sum_scale = read_scale(ctx, ctx.input(12), "sum_scale");
    res.sum_zero = read_zero_point(ctx, &ctx.input(13), "sum_zero_point");
    std::tie(res.out_min, res.out_max) = clamp_attributes<Q>(ctx, "out_min", "out_max");
    p.residual = res;
    p.residual_type = p.y_type;
  });
  return p;
}

Shape qconv_output_shape(const QConvParams& p) {
  return {p.shape.batch, p.out_height(), p.out_width(), p.shape.out_channels};
}

// The definition, as plainly as it can be written: one int32 sum per output
// element over the window, padding skipped (x - x_zero is 0 there).
void qconv_reference(OpContext& ctx) {
  const QConvParams p = read_qconv_params(ctx);
  ctx.ran_form(qconv_epilogue_form(p));
  const SpatialGeometry& g = p.shape.geometry;
  const int64_t c_in = p.shape.in_channels, c_out = p.shape.out_channels;
  const int64_t cg = c_in / p.shape.group, mg = c_out / p.shape.group;
  Tensor y(p.y_type, qconv_output_shape(p));
  dispatch_quantized_pair(ctx, p.x_type, p.w_type, [&](auto xt, auto wt) {
    using TX = decltype(xt);
    using TW = decltype(wt);
    const TX* x = ctx.input(0).data<TX>();
    const TW* w = ctx.input(3).data<TW>();
    dispatch_epilogue_types(ctx, p, [&](auto yt, auto rt) {
      using Q = decltype(yt);
      using R = decltype(rt);
      const R* r = p.residual ? ctx.input(9).data<R>() : nullptr;
      Q* out = y.data<Q>();
      parallel_for(p.shape.batch * p.out_height(), true, [&](int64_t row) {
        const int64_t n = row / p.out_height(), oh = row % p.out_height();
        for (int64_t ow = 0; ow < p.out_width(); ++ow)
          for (int64_t m = 0; m < c_out; ++m) {
            int32_t acc = p.bias[static_cast<size_t>(m)];
            const int64_t first_c = m / mg * cg;
            for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
              const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
              if (ih < 0 || ih >= p.height()) continue;
              for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                const int64_t iw = ow * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
                if (iw < 0 || iw >= p.width()) continue;
                const TX* xp = x + ((n * p.height() + ih) * p.width() + iw) * c_in + first_c;
                const TW* wp = w + m * cg * g.kernel_size() + kh * g.kernel[2] + kw;
                for (int64_t c = 0; c < cg; ++c)
                  acc += (int32_t{xp[c]} - p.x_zero) *
                         (int32_t{wp[c * g.kernel_size()]} - p.w_zero[static_cast<size_t>(m)]);
              }
            }
            const int64_t i = ((n * p.out_height() + oh) * p.out_width() + ow) * c_out + m;
            out[i] = qconv_epilogue<Q, R>(p, m, acc, r ? r[i] : R{0});
            if constexpr (!std::is_same_v<Q, float>) qconv_apply_table(p, out + i, 1);
          }
      });
    });
  });
  ctx.output(0) = std::move(y);
}

void add_qconv_ops(ReferenceOpTable& table) { table["ai.qdq.QConv"] = qconv_reference; }

}  // namespace qdq
