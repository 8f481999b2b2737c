// QuantizeLinear, DequantizeLinear (per tensor and per axis) and
// DynamicQuantizeLinear, with exact ONNX semantics (see kernels/requantize.h).
#include "runtime/reference/quantize.h"

#include <algorithm>
#include <cmath>

#include "onnx/onnx_pb.h"
#include "runtime/kernels/requantize.h"
#include "runtime/reference/quant_params.h"
#include "runtime/reference/registry.h"
#include "runtime/reference/tensor_util.h"
#include "support/parallel.h"

namespace qdq {
namespace {

// Per-tensor (scale has one value) or per-axis (one value per slice of `axis`).
struct AxisLayout {
  int64_t channels = 1, inner = 1;  // element i belongs to channel (i / inner) % channels
};

AxisLayout axis_layout(const OpContext& ctx, const Tensor& x, const Tensor& scale) {
  AxisLayout l;
  if (scale.numel() == 1 && scale.rank() <= 1) {
    l.inner = std::max<int64_t>(1, x.numel());  // one run over the whole tensor
    return l;
  }
  ctx.require(ctx.attrs().get_int("block_size", 0) == 0, "blocked quantization is not supported");
  ctx.require(scale.rank() == 1, [&] {
    return "scale must be a scalar or 1-D, got " + shape_to_string(scale.shape());
  });
  const int64_t axis =
      normalize_axis(ctx, ctx.attrs().get_int("axis", 1), static_cast<int64_t>(x.rank()));
  l.channels = x.dim(axis);
  for (size_t d = axis + 1; d < x.rank(); ++d) l.inner *= x.dim(d);
  ctx.require(scale.numel() == l.channels, [&] {
    return "scale has " + std::to_string(scale.numel()) + " values for " +
           std::to_string(l.channels) + " channels on axis " + std::to_string(axis);
  });
  return l;
}

// Calls fn(channel, first, last) for each run of elements sharing one channel's
// parameters, so the inner loops are plain and vectorize.
template <typename Fn>
void for_each_channel_run(const AxisLayout& l, int64_t numel, Fn&& fn) {
  for (int64_t first = 0; first < numel; first += l.inner)
    fn((first / l.inner) % l.channels, first, std::min(numel, first + l.inner));
}

// The scales and zero points per channel, in this thread's buffers: QAT
// weights are dequantized on every run of the float engine.
enum class ChannelBuffer { kScales, kZeroPoints };
struct ChannelParams {
  const float* scales;
  const int32_t* zero_points;
};
ChannelParams read_channel_params(const OpContext& ctx, const AxisLayout& l,
                                  const Tensor* zero_point, const char* scale_name,
                                  const char* zero_point_name) {
  const auto count = static_cast<size_t>(l.channels);
  float* scales = thread_buffer<float, ChannelBuffer::kScales>(count);
  int32_t* zero_points = thread_buffer<int32_t, ChannelBuffer::kZeroPoints>(count);
  read_scales(ctx, ctx.input(1), l.channels, scale_name, scales);
  read_zero_points(ctx, zero_point, l.channels, zero_point_name, zero_points);
  return {scales, zero_points};
}

DType quantized_output_type(const OpContext& ctx, const Tensor* zero_point) {
  if (zero_point) return zero_point->dtype();
  const int64_t requested = ctx.attrs().get_int("output_dtype", 0);
  if (requested == onnx::TensorProto::INT8) return DType::kInt8;
  ctx.require(requested == 0 || requested == onnx::TensorProto::UINT8,
              "output_dtype is not supported");
  return DType::kUInt8;
}

}  // namespace

void quantize_linear_reference(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.require(x.dtype() == DType::kFloat32 || x.dtype() == DType::kInt32, [&] {
    return std::string("input must be float32 or int32, got ") + dtype_name(x.dtype());
  });
  const AxisLayout l = axis_layout(ctx, x, ctx.input(1));
  const Tensor* zp_t = ctx.optional_input(2);
  const ChannelParams params = read_channel_params(ctx, l, zp_t, "y_scale", "y_zero_point");
  const float* const scales = params.scales;
  const int32_t* const zero_points = params.zero_points;
  dispatch_types<uint8_t, int8_t>(ctx, quantized_output_type(ctx, zp_t), [&](auto tag) {
    using Q = decltype(tag);
    Tensor& y = ctx.allocate_output(0, dtype_of<Q>(), x.shape());
    Q* out = y.data<Q>();
    const bool is_float = x.dtype() == DType::kFloat32;
    const float* xf = is_float ? x.data<float>() : nullptr;
    const int32_t* xi = is_float ? nullptr : x.data<int32_t>();
    for_each_channel_run(l, x.numel(), [&](int64_t c, int64_t first, int64_t last) {
      const float scale = scales[c];
      const int32_t zero = zero_points[c];
      if (is_float)
        for (int64_t i = first; i < last; ++i) out[i] = quantize_value<Q>(xf[i], scale, zero);
      else
        for (int64_t i = first; i < last; ++i)
          out[i] = quantize_value<Q>(static_cast<float>(xi[i]), scale, zero);
    });
  });
}

void dequantize_linear_reference(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const AxisLayout l = axis_layout(ctx, x, ctx.input(1));
  const Tensor* zp_t = ctx.optional_input(2);
  ctx.require(!zp_t || zp_t->dtype() == x.dtype(), "x and x_zero_point types differ");
  const ChannelParams params = read_channel_params(ctx, l, zp_t, "x_scale", "x_zero_point");
  const float* const scales = params.scales;
  const int32_t* const zero_points = params.zero_points;
  Tensor& y = ctx.allocate_output(0, DType::kFloat32, x.shape());
  float* out = y.data<float>();
  dispatch_types<uint8_t, int8_t, int32_t>(ctx, x.dtype(), [&](auto tag) {
    using Q = decltype(tag);
    const Q* in = x.data<Q>();
    for_each_channel_run(l, x.numel(), [&](int64_t c, int64_t first, int64_t last) {
      const float scale = scales[c];
      const int32_t zero = zero_points[c];
      for (int64_t i = first; i < last; ++i)
        out[i] = dequantize_value(static_cast<int32_t>(in[i]), scale, zero);
    });
  });
}

namespace {

// uint8, asymmetric, range always including zero (ONNX's definition).
void dynamic_quantize_linear(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.require(x.dtype() == DType::kFloat32, "expects float32");
  const float* in = x.data<float>();
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < x.numel(); ++i) {
    lo = std::min(lo, in[i]);
    hi = std::max(hi, in[i]);
  }
  const float scale = (hi - lo) / 255.0f;
  const uint8_t zero_point = scale > 0.0f ? round_and_saturate<uint8_t>(-lo / scale, 0) : 0;
  Tensor y(DType::kUInt8, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i)
    y.data<uint8_t>()[i] =
        scale > 0.0f ? quantize_value<uint8_t>(in[i], scale, zero_point) : zero_point;
  ctx.output(0) = std::move(y);
  ctx.output(1) = Tensor::scalar<float>(scale);
  ctx.output(2) = Tensor::scalar<uint8_t>(zero_point);
}

}  // namespace

void add_quantize_ops(ReferenceOpTable& table) {
  table["QuantizeLinear"] = quantize_linear_reference;
  table["DequantizeLinear"] = dequantize_linear_reference;
  table["DynamicQuantizeLinear"] = dynamic_quantize_linear;
}

}  // namespace qdq
