// Reading the scale and zero-point inputs of the quantized ops, per tensor or
// per channel, with the checks every quantized op needs.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/quantization.h"
#include "runtime/kernels/requantize.h"
#include "runtime/reference/op_context.h"
#include "runtime/reference/tensor_util.h"

namespace qdq {

// One value (per-tensor): read on every run, so no vector is made.
float read_scale(const OpContext& ctx, const Tensor& scale, const char* what);
int32_t read_zero_point(const OpContext& ctx, const Tensor* zero_point, const char* what);
// `channels` values: one value broadcast, or exactly `channels` per-channel ones.
// Scales must be usable_scale's (graph/quantization.h): others are refused
// rather than propagated.
std::vector<float> read_scales(const OpContext& ctx, const Tensor& scale, int64_t channels,
                               const char* what);
// A missing zero point is 0. Any integer type is accepted and widened.
std::vector<int32_t> read_zero_points(const OpContext& ctx, const Tensor* zero_point,
                                      int64_t channels, const char* what);
// The same into `out` (`channels` values), for kernels that keep a buffer.
void read_scales(const OpContext& ctx, const Tensor& scale, int64_t channels, const char* what,
                 float* out);
void read_zero_points(const OpContext& ctx, const Tensor* zero_point, int64_t channels,
                      const char* what, int32_t* out);

// The QLinear ops' last step: int32 accumulators -> the type of y_zero_point,
// element i scaled by multiplier_at(i).
template <typename MultiplierAt>
Tensor requantize_accumulators(const OpContext& ctx, const Tensor& accumulators,
                               const Tensor& y_zero_point, MultiplierAt multiplier_at) {
  const int32_t zero = read_zero_point(ctx, &y_zero_point, "y_zero_point");
  Tensor y(y_zero_point.dtype(), accumulators.shape());
  dispatch_types<uint8_t, int8_t>(ctx, y_zero_point.dtype(), [&](auto tag) {
    using Q = decltype(tag);
    const int32_t* in = accumulators.data<int32_t>();
    Q* out = y.data<Q>();
    for (int64_t i = 0; i < y.numel(); ++i) out[i] = requantize<Q>(in[i], multiplier_at(i), zero);
  });
  return y;
}

}  // namespace qdq
