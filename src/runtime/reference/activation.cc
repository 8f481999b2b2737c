// Unary element-wise ops: Relu, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Clip, Abs.
#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/reference/registry.h"
#include "runtime/reference/tensor_util.h"

namespace qdq {
namespace {

template <typename Fn>
void map_float(OpContext& ctx, Fn&& fn) {
  const Tensor& x = ctx.input(0);
  ctx.require(x.dtype() == DType::kFloat32,
              [&] { return std::string("expects float32, got ") + dtype_name(x.dtype()); });
  Tensor y(DType::kFloat32, x.shape());
  const float* in = x.data<float>();
  float* out = y.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) out[i] = fn(in[i]);
  ctx.output(0) = std::move(y);
}

void relu(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  dispatch_types<float, double, int32_t, int64_t, int8_t>(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.allocate_output(0, x.dtype(), x.shape());
    const T* in = x.data<T>();
    T* out = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = in[i] > T(0) ? in[i] : T(0);
  });
}

void leaky_relu(OpContext& ctx) {
  const float alpha = ctx.attrs().get_float("alpha", 0.01f);
  map_float(ctx, [alpha](float v) { return v >= 0.0f ? v : alpha * v; });
}

void sigmoid(OpContext& ctx) {
  map_float(ctx, [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
}

void hard_sigmoid(OpContext& ctx) {
  const float alpha = ctx.attrs().get_float("alpha", 0.2f);
  const float beta = ctx.attrs().get_float("beta", 0.5f);
  map_float(ctx, [=](float v) { return std::clamp(alpha * v + beta, 0.0f, 1.0f); });
}

void hard_swish(OpContext& ctx) {
  map_float(ctx, [](float v) { return v * std::clamp(v / 6.0f + 0.5f, 0.0f, 1.0f); });
}

void abs_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  dispatch_numeric(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    Tensor y(x.dtype(), x.shape());
    const T* in = x.data<T>();
    T* out = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = in[i] < T(0) ? static_cast<T>(-in[i]) : in[i];
    ctx.output(0) = std::move(y);
  });
}

// Opset < 11 carries min/max as attributes; later opsets as optional inputs.
void clip(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  dispatch_numeric(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T lo = std::numeric_limits<T>::lowest();
    T hi = std::numeric_limits<T>::max();
    if (ctx.opset() < 11) {
      lo = static_cast<T>(ctx.attrs().get_float("min", static_cast<float>(lo)));
      hi = static_cast<T>(ctx.attrs().get_float("max", static_cast<float>(hi)));
    } else {
      if (const Tensor* t = ctx.optional_input(1)) lo = t->template data<T>()[0];
      if (const Tensor* t = ctx.optional_input(2)) hi = t->template data<T>()[0];
    }
    Tensor y(x.dtype(), x.shape());
    const T* in = x.data<T>();
    T* out = y.data<T>();
    // ONNX: min is applied first, then max (so max wins when min > max).
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = std::min(std::max(in[i], lo), hi);
    ctx.output(0) = std::move(y);
  });
}

}  // namespace

void add_activation_ops(ReferenceOpTable& table) {
  table["Relu"] = relu;
  table["LeakyRelu"] = leaky_relu;
  table["Sigmoid"] = sigmoid;
  table["HardSigmoid"] = hard_sigmoid;
  table["HardSwish"] = hard_swish;
  table["Abs"] = abs_op;
  table["Clip"] = clip;
}

}  // namespace qdq
